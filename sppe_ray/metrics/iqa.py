"""Image-quality baselines for editability assessment, in the style of pyiqa's registry.

``create_metric(name)`` returns a process-wide cached ``Metric``: ``metric(ref, img) -> float`` or
``metric.batch(refs, imgs) -> np.ndarray``. Full-reference metrics compare the surrogate (``img``) with the
source (``ref``); no-reference metrics score ``img`` alone and ignore ``ref``. ``lower_better`` feeds the
orientation of ``correlation_summary``. ``available_metrics()`` says, per name, None (usable here) or why not:
nothing is downloaded, so learned metrics are usable only when their weights are already cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sppe_ray.errors import BackendUnavailableError, ImageError
from sppe_ray.metrics import iqa_backends as be
from sppe_ray.registry import Entry, Registry

METRICS = Registry("IQA metric", "eval.iqa_metrics / eval.slow_iqa_metrics")


def _add(name: str, kind: str, lower_better: bool, backend: str, pyiqa_name: str | None = None,
         chunk: int = 1) -> None:
    """Register one metric. `lower_better` is the declared orientation (pyiqa's own value replaces it when the
    metric is built); `chunk` is images per backend call (most pyiqa metrics run slower per pair in bigger CPU
    batches); `backend`: pyiqa | pyiqa_learned (weights must be cached) | brisque | skimage."""
    summary = {"fr": "full-reference", "nr": "no-reference"}[kind] + f" ({backend.replace('_', ' ')})"
    METRICS.add(name, lambda: create_metric(name), summary, lower_better=lower_better, task=kind,
                needs_weights=backend == "pyiqa_learned",
                options={"backend": backend, "pyiqa_name": pyiqa_name, "chunk": chunk})


for _args in (
    ("ssim_skimage", "fr", False, "skimage", None, 64),
    ("psnr", "fr", False, "pyiqa"),
    ("ssim", "fr", False, "pyiqa"),
    ("ms_ssim", "fr", False, "pyiqa"),
    ("fsim", "fr", False, "pyiqa"),
    ("vif", "fr", False, "pyiqa"),
    ("gmsd", "fr", True, "pyiqa", None, 8),
    ("vsi", "fr", False, "pyiqa"),
    ("nlpd", "fr", True, "pyiqa", None, 8),
    ("mad", "fr", True, "pyiqa"),
    ("cw_ssim", "fr", False, "pyiqa", None, 8),
    ("piqe", "nr", True, "pyiqa", None, 8),
    ("niqe", "nr", True, "pyiqa"),
    ("brisque", "nr", True, "brisque", None, 64),
    ("lpips", "fr", True, "pyiqa_learned"),
    ("dists", "fr", True, "pyiqa_learned"),
    ("stlpips", "fr", True, "pyiqa_learned"),
    ("topiq_fr", "fr", False, "pyiqa_learned"),
    ("afine", "fr", True, "pyiqa_learned", "afine_fr"),
    ("ahiq", "fr", False, "pyiqa_learned"),
    ("nima", "nr", False, "pyiqa_learned"),
    ("musiq", "nr", False, "pyiqa_learned"),
    ("maniqa", "nr", False, "pyiqa_learned"),
):
    _add(*_args)

_CACHE: dict[str, Metric] = {}
_FAILED: dict[str, str] = {}
_LOCK = threading.RLock()


@dataclass
class Metric:
    """One IQA metric: a name, its orientation and kind, and a batch scorer over uint8 RGB images."""

    name: str
    lower_better: bool
    kind: str
    fn: Callable[[list[np.ndarray] | None, list[np.ndarray]], np.ndarray] = field(repr=False)
    threads: int | None = 1  # torch intra-op threads while scoring: 1 plays well with Ray's one-CPU tasks
    chunk: int = 1

    def __call__(self, ref: np.ndarray | None, img: np.ndarray) -> float:
        return float(self.batch(None if ref is None else [ref], [img])[0])

    def batch(self, refs: list[np.ndarray] | None, imgs: list[np.ndarray]) -> np.ndarray:
        """Scores for a list of images (and references, for FR); pairs are grouped by shape for batching."""
        imgs = list(imgs)
        if self.kind == "fr":
            if refs is None or len(refs) != len(imgs):
                raise ImageError(f"{self.name} is full-reference: give one reference per image.")
        for i, x in enumerate(imgs):
            ok = isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3
            if not ok or (self.kind == "fr" and refs[i].shape != x.shape):
                raise ImageError(f"{self.name}: image {i} must be uint8 (H, W, 3) and match its reference.")
        out = np.empty(len(imgs), dtype=np.float64)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(imgs):
            groups.setdefault(x.shape, []).append(i)
        with _torch_threads(self.threads):
            for same_shape in groups.values():
                for k in range(0, len(same_shape), max(1, self.chunk)):
                    idx = same_shape[k : k + max(1, self.chunk)]
                    chunk_refs = None if self.kind == "nr" else [refs[i] for i in idx]
                    out[idx] = self.fn(chunk_refs, [imgs[i] for i in idx])
        return out


class _torch_threads:  # noqa: N801 - used as a context manager, reads like one
    """Temporarily set torch's intra-op thread count (no-op when torch is not imported or n is None)."""

    def __init__(self, n: int | None) -> None:
        self.n, self.old = n, None

    def __enter__(self) -> None:
        import sys

        torch = sys.modules.get("torch")
        if self.n is not None and torch is not None:
            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        import sys

        if self.old is not None:
            sys.modules["torch"].set_num_threads(self.old)


def _build(entry: Entry) -> Metric:
    backend, lower_better = entry.options["backend"], bool(entry.lower_better)
    if backend == "skimage":
        fn = be.build_skimage_ssim()
    elif backend == "brisque":
        fn = be.build_brisque()
    else:
        name = entry.options["pyiqa_name"] or entry.name
        if backend == "pyiqa_learned":
            reason = be.learned_weights_reason(name)
            if reason:
                raise BackendUnavailableError(f"{entry.name}: {reason}; place the file there or drop {entry.name} "
                                              "from eval.iqa_metrics.")
        fn = be.build_pyiqa(entry.name, str(entry.task), entry.options["pyiqa_name"])
        lower_better = fn.lower_better  # the library's own orientation wins over our declaration
    return Metric(name=entry.name, lower_better=lower_better, kind=str(entry.task), fn=fn,
                  chunk=entry.options["chunk"])


def create_metric(name: str) -> Metric:
    """The cached Metric for ``name``; BackendUnavailableError (with the reason) when it cannot run here."""
    entry = METRICS.entry(name)
    with _LOCK:
        if name in _CACHE:
            return _CACHE[name]
        if name in _FAILED:
            raise BackendUnavailableError(_FAILED[name])
        try:
            _CACHE[name] = _build(entry)
        except BackendUnavailableError as exc:
            _FAILED[name] = str(exc)
            raise
        return _CACHE[name]


def available_metrics(names: list[str] | None = None) -> dict[str, str | None]:
    """{name: None if usable here else the reason}; builds (and caches) each metric once to find out."""
    result: dict[str, str | None] = {}
    for name in names or METRICS.names():
        try:
            create_metric(name)
            result[name] = None
        except BackendUnavailableError as exc:
            result[name] = str(exc)
    return result
