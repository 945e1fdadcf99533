"""Fit the anonymizer against the black box on setting 1, with checkpoints and resume.

Each step draws a batch of training scenes, builds the two losses on it (``problem.AnonymizerProblem``) and
lets the chosen optimiser move the anonymizer's parameters; every ``eval_every`` steps the anonymized test set
is scored: utility top-1 through the black box (counted apart from training calls) and the reviewer's cMAP.
A checkpoint (parameters, optimiser state, step, call counts) is written atomically at every evaluation, so
a killed fit resumes where it stopped and a fit that loses its black box keeps its last checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sppe_ray.blackbox.data import ATTRIBUTES, CLASSES, SceneSet, make_scenes
from sppe_ray.blackbox.networks import SmallCNN, TinyUNet, cmap, fit_classifier
from sppe_ray.blackbox.objectives import Scalarisation
from sppe_ray.blackbox.optimizers import OPTIMIZERS
from sppe_ray.blackbox.problem import AnonymizerProblem
from sppe_ray.blackbox.query import CountedBlackBox, FrozenModel
from sppe_ray.blackbox.spsa import Gains


@dataclass
class FitSettings:
    """One fit; the defaults are the main fit (critical-history SPSA on the augmented Tchebycheff)."""

    optimizer: str = "critical_history_spsa"
    objective: str = "augmented_tchebycheff"
    weights: tuple[float, float] = (0.5, 0.5)
    steps: int = 300
    batch: int = 32
    eval_every: int = 50
    seed: int = 0
    gains: dict[str, float] = field(default_factory=lambda: {"a": 2.0, "c": 0.01})
    options: dict[str, Any] = field(default_factory=dict)  # optimiser-specific (m, decay, gamma, b, toggles, ...)


@dataclass
class Setting1:
    """Train and test scenes with the frozen utility model and the trained reviewer."""

    train: SceneSet
    test: SceneSet
    utility: torch.nn.Module
    reviewer: torch.nn.Module


def prepare_setting1(n_train: int = 1024, n_test: int = 256, seed: int = 0, steps: int = 800) -> Setting1:
    """Generate the scenes and fit the utility model (then frozen behind the black box) and the reviewer."""
    torch.manual_seed(seed)
    train, test = make_scenes(n_train, seed), make_scenes(n_test, seed + 1)
    utility = fit_classifier(SmallCNN(len(CLASSES)), train.images, train.labels, False, steps=steps, seed=seed)
    reviewer = fit_classifier(SmallCNN(len(ATTRIBUTES)), train.images, train.attributes, True, steps=steps,
                              seed=seed)
    return Setting1(train, test, utility, reviewer)


def evaluate(setting: Setting1, images: np.ndarray, blackbox: CountedBlackBox) -> dict[str, float]:
    """Utility top-1 through the black box and the reviewer's cMAP on (anonymized) test images."""
    probs = blackbox(images, [f"test{i}" for i in range(len(images))])
    with torch.no_grad():
        scores = torch.sigmoid(setting.reviewer(torch.as_tensor(images))).numpy()
    return {"top1": float((probs.argmax(1) == setting.test.labels).mean()),
            "cmap": cmap(scores, setting.test.attributes)}


def _make_optimizer(s: FitSettings) -> Any:
    objective = Scalarisation(s.objective, tuple(s.weights))
    kw: dict[str, Any] = {"seed": s.seed, **s.options}
    if s.optimizer in ("critical_history_spsa", "spsa"):
        kw["gains"] = Gains(**s.gains)
    return OPTIMIZERS.entry(s.optimizer).load()(objective, **kw)


def _save(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)


def fit(setting: Setting1, s: FitSettings, checkpoint: str | Path | None = None,
        on_eval: Any = None) -> dict[str, Any]:
    """Run ``s.steps`` optimiser steps (continuing a checkpoint when one exists); returns the history."""
    torch.manual_seed(s.seed)
    anonymizer = TinyUNet()
    train_bb = CountedBlackBox(FrozenModel(setting.utility))
    test_bb = CountedBlackBox(FrozenModel(setting.utility))
    opt = _make_optimizer(s)
    rng = np.random.default_rng(s.seed)
    theta = AnonymizerProblem(anonymizer, train_bb, setting.reviewer, setting.train.images[:1],
                              setting.train.labels[:1], ["x"]).theta()
    start, history = 0, []
    ckpt = Path(checkpoint) / "checkpoint.json" if checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state = json.loads(ckpt.read_text())
        theta, start, history = np.asarray(state["theta"]), state["step"], state["history"]
        train_bb.calls.update(state["calls"])
        rng.bit_generator.state = state["rng"]
        if hasattr(opt, "load"):
            opt.load(state["optimizer"])
    for k in range(start, s.steps):
        idx = rng.choice(len(setting.train), s.batch, replace=False)
        problem = AnonymizerProblem(anonymizer, train_bb, setting.reviewer, setting.train.images[idx],
                                    setting.train.labels[idx], [f"train{i}" for i in idx])
        theta, info = opt.step(problem, theta, k)
        if (k + 1) % s.eval_every == 0 or k + 1 == s.steps:
            anonymized = AnonymizerProblem(anonymizer, test_bb, setting.reviewer, setting.test.images,
                                           setting.test.labels, []).anonymize(theta)
            row = {"step": k + 1, **evaluate(setting, anonymized, test_bb), "loss_blackbox": info.losses[0],
                   "loss_privacy": info.losses[1], "calls_per_sample": train_bb.calls_per_sample(),
                   "calls": int(sum(train_bb.calls.values()))}
            history.append(row)
            if on_eval is not None:
                on_eval(row)
            if ckpt is not None:
                _save(ckpt, {"theta": theta.tolist(), "step": k + 1, "history": history,
                             "calls": dict(train_bb.calls), "rng": rng.bit_generator.state,
                             "optimizer": opt.state() if hasattr(opt, "state") else None,
                             "settings": asdict(s)})
    return {"settings": asdict(s), "history": history, "theta": theta}


def raw_reference(setting: Setting1) -> dict[str, float]:
    """The raw data's utility and cMAP (what the anonymizer starts from)."""
    return evaluate(setting, setting.test.images, CountedBlackBox(FrozenModel(setting.utility)))


__all__ = ["FitSettings", "Setting1", "evaluate", "fit", "prepare_setting1", "raw_reference"]
