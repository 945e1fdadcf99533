"""ERMAPredictor: frozen encoders + cached instruction features + the trained head, saved as a plain folder.

Folder layout (what MLflow registers and Serve loads): ``erma.json`` (encoder names and settings, feature
spec, head sizes), ``weights.pt`` (the head's state_dict) and ``text_table.npy`` (the 66 instruction
embeddings). Keeping the instruction table in the folder means a loaded model predicts identically without
the text encoder, and a Serve replica loads only the image encoder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sppe_ray.errors import BackendUnavailableError, ImageError
from sppe_ray.models.erma.detectors import FACE_SEARCHES
from sppe_ray.models.erma.features import FeatureExtractor, code_index, text_table
from sppe_ray.models.erma.model import ERMA
from sppe_ray.models.erma.relation import FeatureSpec

CONFIG_FILE = "erma.json"
WEIGHTS_FILE = "weights.pt"
TEXT_FILE = "text_table.npy"
FORMAT_VERSION = 2  # 2: the detector block holds editor-agnostic cues (models/erma/detectors.py)


def _setting(cfg: Any, key: str, default: Any = None) -> Any:
    return cfg.get(key, default) if isinstance(cfg, dict) else getattr(cfg, key, default)


def make_image_embedder(name: str, model: str | None = None, **kwargs: Any) -> Any:
    """The frozen image encoder by name; CLIP gets the local path or hub id from `erma.model`."""
    from sppe_ray.embed import create_image_embedder

    if name == "clip":
        if not model:
            raise BackendUnavailableError(
                "image_encoder 'clip' needs weights: set erma.model to a local CLIP path."
            )
        kwargs["model"] = model
    elif name == "mobilenet" and model:
        kwargs["model"] = model  # another state-dict file; by default the weights shipped in a package
    return create_image_embedder(name, **kwargs)


def make_text_embedder(name: str, model: str | None = None) -> Any:
    from sppe_ray.embed import create_text_embedder

    if name == "clip":
        if not model:
            raise BackendUnavailableError(
                "text_encoder 'clip' needs weights: set erma.model to a local CLIP path."
            )
        return create_text_embedder(name, model=model)
    return create_text_embedder(name)


#: Encoder settings (whole image, region crop) per image encoder. The classic descriptor runs at 64 px on whole
#: images and 32 px on crops instead of its 128 px default: 4-5x cheaper, which is what reaches 200 samples/s
#: on two cores, and a region (a fraction of the picture) needs fewer pixels than the picture.
DEFAULT_ENCODER_KWARGS: dict[str, tuple[dict, dict]] = {"classic": ({"size": 64}, {"size": 32})}


def encoder_kwargs(name: str, image_kwargs: dict | None, crop_kwargs: dict | None) -> tuple[dict, dict]:
    """Resolve (image, crop) settings: explicit ones win; crops follow explicit image settings."""
    default_image, default_crop = DEFAULT_ENCODER_KWARGS.get(name, ({}, {}))
    image = dict(default_image if image_kwargs is None else image_kwargs)
    crop = dict(crop_kwargs if crop_kwargs is not None else (default_crop if image_kwargs is None else image))
    return image, crop


#: The face search of a record that names none.
DEFAULT_FACE_DETECTOR = "haar"


def read_meta(folder: Path) -> dict[str, Any]:
    """A saved model's record, refused unless this code reads its format (checked before anything loads)."""
    if not (folder / CONFIG_FILE).is_file():
        raise BackendUnavailableError(f"no ERMA model in {folder}: run `sppe train erma` or set the model path.")
    meta = json.loads((folder / CONFIG_FILE).read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise BackendUnavailableError(
            f"ERMA model in {folder} has format {meta.get('format_version')}, this code reads {FORMAT_VERSION}: "
            f"refit with `sppe train erma` (a model of this format replaces a champion of another)."
        )
    return meta


def make_extractor(
    encoders: dict[str, Any], use_mask: bool, image_embedder: Any = None, use_detectors: bool = False
) -> FeatureExtractor:
    """The feature extractor an `encoders` record describes (an injected embedder serves both roles)."""
    faces = encoders.get("face_detector") or DEFAULT_FACE_DETECTOR
    if faces not in FACE_SEARCHES:
        raise ValueError(f"unknown erma.face_detector {faces!r}; choose one of {sorted(FACE_SEARCHES)}")
    name, model = encoders["image_encoder"], encoders.get("model")
    if name == "mobilenet" and encoders.get("text_encoder") == "clip":
        model = None  # erma.model then names the CLIP text tower; MobileNetV2 keeps its packaged weights
    image_kw, crop_kw = encoders.get("image_kwargs") or {}, encoders.get("crop_kwargs") or {}
    crop = None
    if image_embedder is None:
        image_embedder = make_image_embedder(name, model, **image_kw)
        if use_mask and crop_kw != image_kw:
            crop = make_image_embedder(name, model, **crop_kw)
    return FeatureExtractor(
        image_embedder,
        use_mask=use_mask,
        crop_embedder=crop,
        use_detectors=use_detectors,
        face_search=FACE_SEARCHES[faces],
    )


def to_tensors(feats: dict[str, np.ndarray], text: np.ndarray) -> dict[str, torch.Tensor]:
    out = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in feats.items()}
    out["text"] = torch.from_numpy(np.ascontiguousarray(text, dtype=np.float32))
    return out


class ERMAPredictor:
    """Scores (source, surrogate, instruction[, mask]) in [0, 1]; see `predict`."""

    def __init__(
        self,
        model: ERMA,
        extractor: FeatureExtractor,
        texts: np.ndarray,
        encoders: dict[str, Any],
        workers: int | None = None,
    ) -> None:
        if texts.shape[1] != model.spec.text_dim:
            raise ValueError(
                f"text table has {texts.shape[1]} columns, the head expects {model.spec.text_dim}"
            )
        self.model = model.eval()
        self.extractor = extractor
        self.texts = np.asarray(texts, dtype=np.float32)
        self.encoders = dict(encoders)
        self.workers = max(1, int(workers if workers is not None else min(2, os.cpu_count() or 1)))

    @classmethod
    def build(
        cls,
        cfg: Any,
        *,
        image_embedder: Any = None,
        text_embedder: Any = None,
        image_kwargs: dict | None = None,
        crop_kwargs: dict | None = None,
    ) -> ERMAPredictor:
        """An untrained predictor for an ERMAConfig (or dict with its keys); embedders may be injected."""
        image_name, text_name = (
            _setting(cfg, "image_encoder", "classic"),
            _setting(cfg, "text_encoder", "minilm"),
        )
        model_path = _setting(cfg, "model")
        image_kwargs, crop_kwargs = encoder_kwargs(image_name, image_kwargs, crop_kwargs)
        encoders = {
            "image_encoder": image_name,
            "text_encoder": text_name,
            "model": model_path,
            "image_kwargs": image_kwargs,
            "crop_kwargs": crop_kwargs,
            "image_size": _setting(cfg, "image_size", 224),
            "face_detector": _setting(cfg, "face_detector") or DEFAULT_FACE_DETECTOR,
        }
        use_mask = bool(_setting(cfg, "use_mask", True))
        use_detectors = bool(_setting(cfg, "use_detectors", False))
        extractor = make_extractor(encoders, use_mask, image_embedder, use_detectors)
        text_embedder = text_embedder or make_text_embedder(text_name, model_path)
        texts = text_table(text_embedder)
        spec = FeatureSpec(
            image_dim=extractor.dim,
            text_dim=int(texts.shape[1]),
            shared_space=image_name == "clip" and text_name == "clip",
            use_relation=bool(_setting(cfg, "use_relation", True)),
            use_instruction=bool(_setting(cfg, "use_instruction", True)),
            use_mask=use_mask,
            use_detectors=use_detectors,
        )
        model = ERMA(spec, _setting(cfg, "hidden", (512, 256, 64)), _setting(cfg, "dropout", 0.1))
        return cls(model, extractor, texts, encoders)

    @property
    def spec(self) -> FeatureSpec:
        return self.model.spec

    def extract(
        self,
        sources: Sequence[np.ndarray],
        surrogates: Sequence[np.ndarray],
        masks: Sequence[np.ndarray | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """The cached per-sample arrays. Distinct triples are computed once (`FeatureExtractor.plan`) and split
        over `workers` threads (OpenCV and NumPy release the GIL)."""
        batch = self.extractor.plan(sources, surrogates, masks)
        rows = batch.unique
        if self.workers == 1 or len(rows) < 2 * self.workers:
            return batch.scatter(self.extractor.compute(batch, rows))
        bounds = np.linspace(0, len(rows), self.workers + 1).astype(int)
        parts = [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        with ThreadPoolExecutor(self.workers) as pool:
            done = list(pool.map(lambda part: self.extractor.compute(batch, part), parts))
        return batch.scatter({k: np.concatenate([d[k] for d in done]) for k in done[0]})

    @torch.no_grad()
    def score_features(self, feats: dict[str, np.ndarray], codes_idx: np.ndarray) -> np.ndarray:
        """Head only: cached arrays + text-table rows -> (N,) float32 scores."""
        if len(codes_idx) == 0:
            return np.zeros(0, dtype=np.float32)
        out = self.model(to_tensors(feats, self.texts[np.asarray(codes_idx)]))
        return out.numpy().astype(np.float32)

    def predict(
        self,
        sources: Sequence[np.ndarray],
        surrogates: Sequence[np.ndarray],
        instruction_codes: Sequence[str | int],
        masks: Sequence[np.ndarray | None] | None = None,
        batch_size: int = 64,
    ) -> np.ndarray:
        """Editability in [0, 1] per sample. Without masks the region is where the surrogate differs."""
        n = len(sources)
        if len(instruction_codes) != n:
            raise ImageError(f"got {n} images but {len(instruction_codes)} instruction codes")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        idx = code_index(instruction_codes)
        out = []
        for a in range(0, n, batch_size):
            b = min(a + batch_size, n)
            feats = self.extract(sources[a:b], surrogates[a:b], None if masks is None else masks[a:b])
            out.append(self.score_features(feats, idx[a:b]))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            **self.encoders,
            "spec": self.spec.to_dict(),
            "hidden": self.model.hidden,
            "dropout": self.model.dropout,
        }
        torch.save(self.model.state_dict(), folder / WEIGHTS_FILE)
        np.save(folder / TEXT_FILE, self.texts)
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return folder

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        *,
        image_embedder: Any = None,
        model_path: str | None = None,
        workers: int | None = None,
    ) -> ERMAPredictor:
        """Load a saved folder; `model_path` overrides the CLIP location recorded at training time."""
        folder = Path(folder)
        meta = read_meta(folder)
        spec = FeatureSpec(**meta["spec"])
        model = ERMA(spec, meta["hidden"], meta["dropout"])
        model.load_state_dict(torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True))
        meta["model"] = model_path or meta.get("model")
        keys = ("image_encoder", "text_encoder", "model", "image_kwargs", "crop_kwargs", "image_size", "face_detector")
        encoders = {k: meta.get(k) for k in keys}
        encoders["face_detector"] = encoders["face_detector"] or DEFAULT_FACE_DETECTOR
        extractor = make_extractor(encoders, spec.use_mask, image_embedder, spec.use_detectors)
        return cls(model, extractor, np.load(folder / TEXT_FILE), encoders, workers=workers)
