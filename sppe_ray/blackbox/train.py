"""Fit the anonymizer against the black box on setting 1, with checkpoints and resume.

Each step draws a batch of training scenes, builds the two losses on it (``problem.AnonymizerProblem``) and
lets the chosen optimiser move the anonymizer's parameters (``loop.optimise``: checkpoints, exact resume);
every ``eval_every`` steps the anonymized validation set is scored: utility top-1 through the black box
(counted apart from training calls) and the reviewer's cMAP. The test set is scored once, at the end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sppe_ray.blackbox.data import ATTRIBUTES, CLASSES, SceneSet, make_scenes
from sppe_ray.blackbox.loop import optimise
from sppe_ray.blackbox.networks import SmallCNN, TinyUNet, cmap, fit_classifier, get_theta, set_theta
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
    weights: tuple[float, float] = (0.3, 0.7)
    steps: int = 1200
    batch: int = 32
    eval_every: int = 100
    seed: int = 0
    privacy: str = "confusion"
    gains: dict[str, float] = field(default_factory=lambda: {"a": 0.3, "c": 0.01})
    options: dict[str, Any] = field(default_factory=dict)  # optimiser-specific (m, decay, gamma, b, toggles, ...)


@dataclass
class Setting1:
    """Train, validation and test scenes with the frozen utility model and the trained reviewer."""

    train: SceneSet
    val: SceneSet
    test: SceneSet
    utility: torch.nn.Module
    reviewer: torch.nn.Module


def prepare_setting1(n_train: int = 1024, n_test: int = 256, seed: int = 0, steps: int = 500,
                     cache: str | Path | None = None) -> Setting1:
    """Generate the scenes (validation and test ``n_test`` each) and fit the utility model (then frozen behind
    the black box) and the reviewer; with ``cache``, the two fitted models are saved there and reused."""
    torch.manual_seed(seed)
    train, val, test = make_scenes(n_train, seed), make_scenes(n_test, seed + 2), make_scenes(n_test, seed + 1)
    utility, reviewer = SmallCNN(len(CLASSES)), SmallCNN(len(ATTRIBUTES))
    folder = Path(cache) / f"setting1-{n_train}-{seed}-{steps}" if cache else None
    if folder is not None and (folder / "reviewer.pt").is_file():
        utility.load_state_dict(torch.load(folder / "utility.pt"))
        reviewer.load_state_dict(torch.load(folder / "reviewer.pt"))
        return Setting1(train, val, test, utility.eval(), reviewer.eval())
    fit_classifier(utility, train.images, train.labels, False, steps=steps, seed=seed)
    fit_classifier(reviewer, train.images, train.attributes, True, steps=steps, seed=seed)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(utility.state_dict(), folder / "utility.pt")
        torch.save(reviewer.state_dict(), folder / "reviewer.pt")  # last: its presence marks a complete cache
    return Setting1(train, val, test, utility, reviewer)


def evaluate(setting: Setting1, images: np.ndarray, blackbox: CountedBlackBox, split: str = "test"
             ) -> dict[str, float]:
    """Utility top-1 through the black box and the reviewer's cMAP on (anonymized) images of ``split``."""
    scenes: SceneSet = getattr(setting, split)
    probs = blackbox(images, [f"{split}{i}" for i in range(len(images))])
    with torch.no_grad():
        scores = torch.sigmoid(setting.reviewer(torch.as_tensor(images))).numpy()
    return {"top1": float((probs.argmax(1) == scenes.labels).mean()), "cmap": cmap(scores, scenes.attributes)}


def make_optimizer(s: FitSettings) -> Any:
    objective = Scalarisation(s.objective, tuple(s.weights))
    kw: dict[str, Any] = {"seed": s.seed, **s.options}
    if s.optimizer in ("critical_history_spsa", "spsa"):
        kw["gains"] = Gains(**s.gains)
    return OPTIMIZERS.entry(s.optimizer).load()(objective, **kw)


def anonymize(setting: Setting1, theta: np.ndarray, images: np.ndarray) -> np.ndarray:
    """The anonymizer with parameters ``theta`` applied to ``images``."""
    net = set_theta(TinyUNet(), theta)
    with torch.no_grad():
        return net(torch.as_tensor(images)).numpy()


def fit(setting: Setting1, s: FitSettings, checkpoint: str | Path | None = None,
        on_eval: Any = None, answer: Any = None, retries: int = 2) -> dict[str, Any]:
    """Run ``s.steps`` optimiser steps (continuing a checkpoint when one exists); returns the validation history,
    the test scores and theta. ``answer`` is the black box (default: the utility model in-process); a query
    that fails every retry raises ``BlackBoxLost`` with the last checkpoint on disk."""
    torch.manual_seed(s.seed)
    anonymizer = TinyUNet()
    answer = answer if answer is not None else FrozenModel(setting.utility)
    train_bb = CountedBlackBox(answer, retries=retries)
    test_bb = CountedBlackBox(answer, retries=retries)
    theta = get_theta(anonymizer)

    def problem(idx: np.ndarray) -> AnonymizerProblem:
        return AnonymizerProblem(anonymizer, train_bb, setting.reviewer, setting.train.images[idx],
                                 setting.train.labels[idx], [f"train{i}" for i in idx],
                                 setting.train.attributes[idx], s.privacy)

    def validate(theta: np.ndarray) -> dict[str, float]:
        return evaluate(setting, anonymize(setting, theta, setting.val.images), test_bb, "val")

    theta, history, curve = optimise(s, make_optimizer(s), theta, len(setting.train), train_bb, problem, validate,
                                     checkpoint, on_eval)
    test = evaluate(setting, anonymize(setting, theta, setting.test.images), test_bb)
    return {"settings": asdict(s), "history": history, "curve": curve, "theta": theta, "test_top1": test["top1"],
            "test_cmap": test["cmap"], "calls_per_sample": train_bb.calls_per_sample(len(setting.train)),
            "failures": dict(train_bb.failures)}


def raw_reference(setting: Setting1, split: str = "test") -> dict[str, float]:
    """The raw data's utility and cMAP (what the anonymizer starts from)."""
    images = getattr(setting, split).images
    return evaluate(setting, images, CountedBlackBox(FrozenModel(setting.utility)), split)


__all__ = ["FitSettings", "Setting1", "anonymize", "evaluate", "fit", "prepare_setting1", "raw_reference"]
