"""The only way to the black box: a counted, retried query interface.

Why a wrapper: the paper's budget is black-box calls per training sample, and a cloud model fails, times out
or answers in the wrong shape. ``CountedBlackBox`` counts every call per sample id (failed attempts too, as an
API bills them), retries failures and malformed answers, can add latency, and raises ``BlackBoxLost`` once a
query has failed ``retries + 1`` times, so a fit stops with a clear error (and keeps its last checkpoint).

``FrozenModel`` puts a torch classifier behind that interface in-process: frozen weights, inputs copied to
numpy and back, ``torch.no_grad``; the trainer receives numbers, never a graph, so no gradient can flow
through the black box.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sppe_ray.errors import SPPEError


class BlackBoxLost(SPPEError):
    """The black box failed every attempt of one query."""


def probabilities(out: Any, n: int) -> np.ndarray:
    """A classifier's answer: n rows of non-negative probabilities summing to 1, else ValueError (retried)."""
    arr = np.asarray(out, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != n or not np.isfinite(arr).all() or (arr < 0).any() \
            or not np.allclose(arr.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(f"malformed answer: expected {n} probability rows, got shape {arr.shape}")
    return arr


class CountedBlackBox:
    """``answer(inputs, **context)`` with counts and retries; ``validate(answer, n)`` checks what came back
    (default: class probabilities). ``context`` carries per-query facts the black box needs besides the inputs
    (an editor's instruction codes)."""

    def __init__(self, answer: Callable[..., Any], retries: int = 2, latency_s: float = 0.0,
                 backoff_s: float = 0.0, validate: Callable[[Any, int], Any] = probabilities) -> None:
        self.answer, self.retries, self.latency_s, self.backoff_s = answer, int(retries), latency_s, backoff_s
        self._valid = validate
        self.calls: Counter = Counter()
        self.failures: Counter = Counter()

    def __call__(self, inputs: np.ndarray, sample_ids: Sequence[str], **context: Any) -> Any:
        """The answer for the inputs; every attempt counts one call per sample."""
        return self._attempts(inputs, sample_ids, self.retries + 1, None, context)

    def many(self, batches: Sequence[np.ndarray], sample_ids: Sequence[str], **context: Any) -> list[Any]:
        """Several queries of the same samples (e.g. the two sides of an SPSA perturbation). When the answer has
        ``map`` (Ray actors, a Serve or HTTP endpoint) the first attempts run at once; failures retry one by one."""
        mapper = getattr(self.answer, "map", None)
        if mapper is None:
            return [self(b, sample_ids, **context) for b in batches]
        for _ in batches:
            self.calls.update(sample_ids)
        if self.latency_s:
            time.sleep(self.latency_s)
        try:
            firsts = mapper([np.array(b, copy=True) for b in batches], **context)
        except Exception as exc:  # noqa: BLE001 - the whole fan-out failed: every query failed its first attempt
            firsts = [exc] * len(batches)
        out = []
        for batch, first in zip(batches, firsts, strict=True):
            try:
                if isinstance(first, Exception):
                    raise first
                out.append(self._valid(first, len(sample_ids)))
            except Exception as exc:  # noqa: BLE001 - any failure of the remote side is retried
                self.failures[type(exc).__name__] += 1
                out.append(self._attempts(batch, sample_ids, self.retries, exc, context))
        return out

    def _attempts(self, inputs: np.ndarray, sample_ids: Sequence[str], attempts: int,
                  last: Exception | None, context: dict[str, Any]) -> Any:
        for attempt in range(attempts):
            self.calls.update(sample_ids)
            if self.latency_s:
                time.sleep(self.latency_s)
            try:
                return self._valid(self.answer(np.array(inputs, copy=True), **context), len(sample_ids))
            except Exception as exc:  # noqa: BLE001 - any failure of the remote side is retried
                last = exc
                self.failures[type(exc).__name__] += 1
                if self.backoff_s:
                    time.sleep(self.backoff_s * (attempt + 1))
        raise BlackBoxLost(f"the black box failed {self.retries + 1} attempts ({type(last).__name__}: {last})")

    def calls_per_sample(self, n_samples: int | None = None) -> float:
        """Calls per sample (the paper's budget unit): over ``n_samples`` (a training set's size), else over the
        distinct samples queried so far."""
        total = float(sum(self.calls.values()))
        if n_samples:
            return total / n_samples
        return total / len(self.calls) if self.calls else 0.0


class FrozenModel:
    """A torch classifier as a black box: frozen, evaluated under no_grad on numpy copies, softmax out.
    ``latency_s`` is added on the answering side (a remote model's round trip), so parallel queries overlap it."""

    def __init__(self, model: Any, latency_s: float = 0.0) -> None:
        import torch

        self.latency_s = latency_s
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._torch = torch

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self.latency_s:
            time.sleep(self.latency_s)
        with torch.no_grad():
            logits = self.model(torch.as_tensor(np.ascontiguousarray(inputs), dtype=torch.float32))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)
