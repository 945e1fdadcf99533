"""Setting 2 (ours, beyond the paper): the cloud editor is the black box, and utility is SPPE editability.

The anonymizer rewrites the private region of a benchmark source (its output is composited inside the region's
mask, as every surrogate strategy is), the editor edits that surrogate with the sample's instruction, and the
label asks whether the surrogate received the edit the source would have: the benchmark's editability label,
(anchored cosine of the two edit directions in embedding space + 1) / 2 (sppe_ray/labels.py, docs/labels.md).

- L_MLLM (black box): 1 - mean editability over the batch. The source's edit and both source embeddings are
  computed once per sample (one editor call each, counted); each query is one editor call per sample.
- L_Privacy (white box): a differentiable stand-in for the benchmark's surrogate checks (pixel leak, identity
  distance, OCR similarity, which are not differentiable), the mean of two terms in [0, 1]:
  (a) change: the mean over masked pixels of max(0, tau - |f_A(x) - x|) / tau (|.| the mean absolute change over
  channels, tau = 0.35): 0 once every private pixel moved by at least tau;
  (b) structure: the positive part of the cosine between the Sobel edges of f_A(x) and of x inside the mask:
  0 once the rewritten region's edges no longer follow the source's. Pixel change alone lets a colour shift
  through that OCR still reads (similarity 0.96 in a first trial); letters and facial features are edges.
  The real checks judge the result at evaluation (sppe_ray/privacy).

Nothing here imports an editor: the editor arrives as ``answer(images, codes=..., seeds=...)`` from the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sppe_ray.blackbox.loop import optimise
from sppe_ray.blackbox.networks import TinyUNet, get_theta, grad_theta, set_theta
from sppe_ray.blackbox.query import CountedBlackBox
from sppe_ray.embed.geometry import anchored_cosine
from sppe_ray.labels import ZERO_EDIT_EPS

TAU = 0.35


@dataclass
class EditorSamples:
    """Benchmark sources (n, 3, H, W) float in [0, 1], masks (n, 1, H, W), instruction codes, edit seeds, ids,
    and the source side of the label (embeddings of the source and of its edit)."""

    sources: np.ndarray
    masks: np.ndarray
    codes: list[str]
    seeds: list[int]
    ids: list[str]
    f_src: np.ndarray | None = None
    f_src_edit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, idx: np.ndarray) -> EditorSamples:
        pick = [int(i) for i in idx]
        return EditorSamples(self.sources[pick], self.masks[pick], [self.codes[i] for i in pick],
                             [self.seeds[i] for i in pick], [self.ids[i] for i in pick],
                             None if self.f_src is None else self.f_src[pick],
                             None if self.f_src_edit is None else self.f_src_edit[pick])


def load_samples(benchmark: str | Path, split: str, n: int, size: int = 128, seed: int = 0) -> EditorSamples:
    """Up to ``n`` distinct (source, instruction) pairs of ``split``, resized to ``size``, in a seeded order."""
    import cv2

    from sppe_ray.errors import BenchmarkError
    from sppe_ray.imageio import decode_image, decode_mask
    from sppe_ray.shards import read_benchmark

    table = read_benchmark(benchmark, split, columns=["sample_id", "source", "mask", "instruction_code"])
    rows, seen = table.to_pylist(), set()
    order = np.random.default_rng(seed).permutation(len(rows))
    picked = []
    for i in order:
        key = (hash(rows[i]["source"]), rows[i]["instruction_code"])
        if key not in seen:
            seen.add(key)
            picked.append(rows[i])
        if len(picked) == n:
            break
    if not picked:
        raise BenchmarkError(f"benchmark {benchmark} has no {split} rows to train the anonymizer on")
    sources, masks = [], []
    for r in picked:
        img = cv2.resize(decode_image(r["source"]), (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(decode_mask(r["mask"]).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
        sources.append(img.transpose(2, 0, 1) / 255.0)
        masks.append(mask[None].astype(np.float32))
    return EditorSamples(np.asarray(sources, np.float32), np.asarray(masks, np.float32),
                         [r["instruction_code"] for r in picked], [int(i) for i in range(len(picked))],
                         [r["sample_id"] for r in picked])


def to_uint8(images: np.ndarray) -> list[np.ndarray]:
    """(n, 3, H, W) floats in [0, 1] to the editor's (H, W, 3) uint8 images."""
    return [np.ascontiguousarray((np.clip(x, 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8))
            for x in images]


def edited_images(out: Any, n: int) -> list[np.ndarray]:
    """An editor's answer: n uint8 RGB images, else ValueError (retried and counted)."""
    if not isinstance(out, (list, tuple)) or len(out) != n:
        raise ValueError(f"malformed answer: expected {n} edited images")
    for img in out:
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
            raise ValueError("malformed answer: an edited image is not uint8 RGB")
    return list(out)


def prepare_source_side(samples: EditorSamples, blackbox: CountedBlackBox, embedder: Any) -> EditorSamples:
    """Edit every source once through the black box and embed source and edit (the label's fixed half)."""
    srcs = to_uint8(samples.sources)
    edits = blackbox(samples.sources, samples.ids, codes=samples.codes, seeds=samples.seeds)
    samples.f_src, samples.f_src_edit = embedder.embed(srcs), embedder.embed(edits)
    return samples


def composite(anonymizer: nn.Module, sources: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The anonymizer's output inside the mask, the source outside (what every surrogate strategy returns)."""
    return sources + masks * (anonymizer(sources) - sources)


def change_shortfall(out: torch.Tensor, src: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean over masked pixels of max(0, tau - mean-channel |out - src|) / tau."""
    change = (out - src).abs().mean(dim=1, keepdim=True)
    return (torch.clamp(TAU - change, min=0.0) / TAU * masks).sum() / masks.sum().clamp_min(1.0)


_SOBEL = torch.tensor([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]]])


def _edges(x: torch.Tensor) -> torch.Tensor:
    grey = x.mean(dim=1, keepdim=True)
    kernels = torch.cat([_SOBEL, _SOBEL.transpose(2, 3)])
    return nn.functional.conv2d(grey, kernels, padding=1)


def edge_agreement(out: torch.Tensor, src: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean over samples of the positive part of the cosine between the masked Sobel edges of out and src."""
    a, b = (_edges(t) * masks for t in (out, src))
    a, b = a.flatten(1), b.flatten(1)
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-6)
    return torch.clamp(cos, min=0.0).mean()


class EditorProblem:
    """The two losses of setting 2 on one batch of ``samples`` (``optimizers.Problem``)."""

    def __init__(self, anonymizer: nn.Module, blackbox: CountedBlackBox, embedder: Any,
                 samples: EditorSamples) -> None:
        self.anonymizer, self.blackbox, self.embedder, self.samples = anonymizer, blackbox, embedder, samples
        self.sources, self.masks = torch.as_tensor(samples.sources), torch.as_tensor(samples.masks)

    def theta(self) -> np.ndarray:
        return get_theta(self.anonymizer)

    def _set(self, theta: np.ndarray) -> None:
        set_theta(self.anonymizer, theta)

    def surrogates(self, theta: np.ndarray) -> np.ndarray:
        self._set(theta)
        with torch.no_grad():
            return composite(self.anonymizer, self.sources, self.masks).numpy()

    def editability(self, surrogates: np.ndarray, edits: list[np.ndarray]) -> np.ndarray:
        """The benchmark's editability label of each sample, from the edits of its surrogate."""
        f_sur, f_sur_edit = self.embedder.embed(to_uint8(surrogates)), self.embedder.embed(edits)
        direction = anchored_cosine(f_sur_edit - f_sur, self.samples.f_src_edit - self.samples.f_src, ZERO_EDIT_EPS)
        return np.clip((direction + 1) / 2, 0, 1)

    def blackbox_losses(self, thetas: list[np.ndarray]) -> list[float]:
        batches = [self.surrogates(t) for t in thetas]
        answers = self.blackbox.many(batches, self.samples.ids, codes=self.samples.codes, seeds=self.samples.seeds)
        return [1.0 - float(self.editability(b, e).mean()) for b, e in zip(batches, answers, strict=True)]

    def blackbox_loss(self, theta: np.ndarray) -> float:
        return self.blackbox_losses([theta])[0]

    def privacy_loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self._set(theta)
        self.anonymizer.zero_grad(set_to_none=True)
        out = self.anonymizer(self.sources)
        loss = 0.5 * change_shortfall(out, self.sources, self.masks) + 0.5 * edge_agreement(out, self.sources,
                                                                                           self.masks)
        loss.backward()
        return float(loss.detach()), grad_theta(self.anonymizer)


class EditorAnswer:
    """An editor (any ``Editor``: the procedural one in-process, the HTTP client of a remote one) as the
    black-box answer: float batch in, the edited uint8 images out."""

    def __init__(self, editor: Any) -> None:
        self.editor = editor

    def __call__(self, images: np.ndarray, codes: list[str], seeds: list[int]) -> list[np.ndarray]:
        return [self.editor.edit(img, code, int(seed)) for img, code, seed in zip(to_uint8(images), codes, seeds,
                                                                                 strict=True)]


def validate(net: nn.Module, theta: np.ndarray, samples: EditorSamples, blackbox: CountedBlackBox,
             embedder: Any) -> dict[str, float]:
    """Mean editability of the learned surrogates of ``samples`` and their mean absolute change inside the mask."""
    problem = EditorProblem(net, blackbox, embedder, samples)
    surrogates = problem.surrogates(theta)
    edits = blackbox(surrogates, samples.ids, codes=samples.codes, seeds=samples.seeds)
    change = np.abs(surrogates - samples.sources).mean(axis=1, keepdims=True)
    return {"editability": float(problem.editability(surrogates, edits).mean()),
            "private_change": float((change * samples.masks).sum() / max(samples.masks.sum(), 1.0))}


def fit_editor(train: EditorSamples, val: EditorSamples, s: Any, answer: Any, embedder: Any,
               checkpoint: str | Path | None = None, on_eval: Any = None, retries: int = 2) -> dict[str, Any]:
    """Fit the anonymizer against the editor (``loop.optimise``). The source side of every label (one editor
    call per sample) is computed first and counted apart from the training calls, with validation's."""
    from dataclasses import asdict

    from sppe_ray.blackbox.train import make_optimizer

    torch.manual_seed(s.seed)
    net = TinyUNet()
    train_bb = CountedBlackBox(answer, retries=retries, validate=edited_images)
    other_bb = CountedBlackBox(answer, retries=retries, validate=edited_images)
    prepare_source_side(train, other_bb, embedder)
    prepare_source_side(val, other_bb, embedder)
    theta = get_theta(net)
    start = validate(net, theta, val, other_bb, embedder)  # the identity: editability 1 by construction

    theta, history, curve = optimise(
        s, make_optimizer(s), theta, len(train), train_bb,
        lambda idx: EditorProblem(net, train_bb, embedder, train.take(idx)),
        lambda th: validate(net, th, val, other_bb, embedder), checkpoint, on_eval)
    return {"settings": asdict(s), "history": history, "curve": curve, "theta": theta, "start": start,
            "calls_per_sample": train_bb.calls_per_sample(len(train)), "failures": dict(train_bb.failures),
            "source_and_validation_calls": int(sum(other_bb.calls.values()))}
