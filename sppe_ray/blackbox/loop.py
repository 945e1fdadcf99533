"""The optimisation loop both settings share: batches, optimiser steps, validation points, atomic checkpoints and
exact resume. A setting supplies how to build a batch's problem and how to score parameters on validation.

A checkpoint (parameters, optimiser state, step, call counts, the batch sampler's state, the history and loss
curve) is written atomically at every validation point, so a killed fit resumes where it stopped and a fit that
loses its black box (``BlackBoxLost``) keeps its last checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.blackbox.query import CountedBlackBox


def save_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)


def _same_fit(saved: dict[str, Any], wanted: dict[str, Any], ckpt: Path) -> None:
    """A checkpoint continues only the fit it was written by (the step count and validation spacing may change)."""
    free = {"steps", "eval_every"}
    diff = sorted(k for k in set(saved) | set(wanted) if k not in free and json.loads(json.dumps(saved.get(k)))
                  != json.loads(json.dumps(wanted.get(k))))
    if diff:
        raise ValueError(f"{ckpt} holds another fit (differs in {', '.join(diff)}); use another checkpoint folder")


def optimise(s: Any, opt: Any, theta: np.ndarray, n_train: int, blackbox: CountedBlackBox,
             make_problem: Callable[[np.ndarray], Any], validate: Callable[[np.ndarray], dict[str, float]],
             checkpoint: str | Path | None = None, on_eval: Callable[[dict[str, Any]], None] | None = None
             ) -> tuple[np.ndarray, list[dict[str, Any]], list[list[float]]]:
    """Run ``s.steps`` steps of ``opt`` from ``theta`` (or the checkpoint); returns (theta, history, curve).
    ``make_problem(indices)`` builds one batch's problem on ``blackbox``; ``validate(theta)`` scores it."""
    rng = np.random.default_rng(s.seed)
    start, history, curve = 0, [], []
    ckpt = Path(checkpoint) / "checkpoint.json" if checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state = json.loads(ckpt.read_text())
        _same_fit(state["settings"], asdict(s), ckpt)
        theta, start, history, curve = np.asarray(state["theta"]), state["step"], state["history"], state["curve"]
        blackbox.calls.update(state["calls"])
        blackbox.failures.update(state.get("failures", {}))
        rng.bit_generator.state = state["rng"]
        if hasattr(opt, "load"):
            opt.load(state["optimizer"])
    for k in range(start, s.steps):
        idx = rng.choice(n_train, min(s.batch, n_train), replace=False)
        theta, info = opt.step(make_problem(idx), theta, k)
        curve.append([k + 1, info.losses[0], info.losses[1], info.value])
        if not np.isfinite(theta).all():
            raise FloatingPointError(f"the anonymizer's parameters left the finite range at step {k + 1}; lower "
                                     f"blackbox.a (the last checkpoint is kept)")
        if (k + 1) % s.eval_every == 0 or k + 1 == s.steps:
            row = {"step": k + 1, **validate(theta), "loss_blackbox": info.losses[0], "loss_privacy": info.losses[1],
                   "calls_per_sample": blackbox.calls_per_sample(n_train), "calls": int(sum(blackbox.calls.values()))}
            history.append(row)
            if on_eval is not None:
                on_eval(row)
            if ckpt is not None:
                save_json(ckpt, {"theta": theta.tolist(), "step": k + 1, "history": history, "curve": curve,
                                 "calls": dict(blackbox.calls), "failures": dict(blackbox.failures),
                                 "rng": rng.bit_generator.state,
                                 "optimizer": opt.state() if hasattr(opt, "state") else None,
                                 "settings": asdict(s)})
    return theta, history, curve
