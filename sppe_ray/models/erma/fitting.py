"""The ERMA training recipe on cached features, free of Ray: schedule, minibatch steps, validation, state.

Why separate from the Ray Train wiring (`sppe_ray.train.erma`): the recipe is the science (published: MSE,
AdamW, linear warm-up then cosine, fixed batch size, validation SRCC picks the checkpoint) and can be tested
in a second; the Ray loop only adds data shards, distributed wrapping, checkpoints and reporting.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sppe_ray.metrics.editability import plcc, srcc
from sppe_ray.models.erma.model import ERMA
from sppe_ray.models.erma.predictor import to_tensors

FEATURE_KEYS = ("f_src", "f_sur", "c_src", "c_sur", "region")
DETECTOR_KEY = "detect"
MODEL_FILE, BEST_FILE, OPTIM_FILE, STATE_FILE = "model.pt", "best.pt", "optim.pt", "state.json"


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1 over `warmup` steps, then cosine decay to 0 at `total` (published schedule)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class TrainState:
    """Progress that a checkpoint carries so a resumed fit continues the step count and the best score."""

    step: int = 0
    best_score: float = float("-inf")
    best_step: int = -1
    best_plcc: float = float("nan")


@dataclass
class Arrays:
    """One split's cached features as tensors, plus labels and instruction rows."""

    feats: dict[str, torch.Tensor]
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, idx: np.ndarray | slice) -> dict[str, torch.Tensor]:
        return {k: v[idx] for k, v in self.feats.items()}


def arrays_from_columns(
    cols: dict[str, np.ndarray], texts: np.ndarray, use_mask: bool, use_detectors: bool = False
) -> Arrays:
    """Columns of the feature cache (numpy) -> tensors, sorted by sample id so the order is reproducible
    whatever order Ray Data delivered the blocks in."""
    order = np.argsort(np.asarray(cols["sample_id"]).astype(str), kind="stable")
    keys = (FEATURE_KEYS if use_mask else FEATURE_KEYS[:2]) + ((DETECTOR_KEY,) if use_detectors else ())
    feats = {
        k: np.stack(list(cols[k]))[order] if cols[k].dtype == object else np.asarray(cols[k])[order]
        for k in keys
    }
    tensors = to_tensors(feats, texts[np.asarray(cols["code_idx"], dtype=np.int64)[order]])
    return Arrays(tensors, torch.as_tensor(np.asarray(cols["label"], dtype=np.float32)[order]))


def concat_columns(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not batches:
        return {}
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


@torch.no_grad()
def evaluate(model: nn.Module, data: Arrays, batch_size: int = 1024) -> dict[str, float]:
    """Validation SRCC, PLCC and MSE of the head on one split (dropout off)."""
    was_training = model.training
    model.eval()
    preds = torch.cat([model(data.take(slice(i, i + batch_size))) for i in range(0, len(data), batch_size)])
    model.train(was_training)
    p, y = preds.numpy(), data.labels.numpy()
    return {"srcc": srcc(p, y), "plcc": plcc(p, y), "mse": float(np.mean((p - y) ** 2))}


def make_optimizer(model: nn.Module, lr: float, weight_decay: float, warmup: int, total: int):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, warmup, total))
    return opt, sched


class BatchSampler:
    """Epoch-wise shuffled minibatch indices from a seeded generator; reseeded by step on resume so the
    continuation is reproducible from the checkpoint alone."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0) -> None:
        if n < 1:
            raise ValueError("no training samples: the train split is empty")
        self.n, self.batch_size = n, min(batch_size, n)
        self.rng = np.random.default_rng([seed, start_step])
        self.perm, self.pos = self.rng.permutation(n), 0

    def next(self) -> np.ndarray:
        if self.pos + self.batch_size > self.n:
            self.perm, self.pos = self.rng.permutation(self.n), 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx


def pairwise_rank_loss(pred: torch.Tensor, labels: torch.Tensor, margin: float = 0.01,
                       temperature: float = 0.05) -> torch.Tensor:
    """Logistic loss on every ordered pair of the batch whose labels differ by more than ``margin``: the
    prediction of the more editable sample should be the higher one. MSE alone spends itself on the few low
    labels; SRCC is decided among the many high ones, which this term weighs equally."""
    diff_y = labels[:, None] - labels[None, :]
    ordered = diff_y > margin
    if not bool(ordered.any()):
        return pred.sum() * 0.0
    diff_p = (pred[:, None] - pred[None, :]) / temperature
    return nn.functional.softplus(-diff_p[ordered]).mean() * temperature


def train_step(model: nn.Module, opt, sched, batch: dict[str, torch.Tensor], labels: torch.Tensor,
               rank_weight: float = 0.0) -> float:
    opt.zero_grad(set_to_none=True)
    pred = model(batch)
    loss = nn.functional.mse_loss(pred, labels)
    if rank_weight > 0:
        loss = loss + rank_weight * pairwise_rank_loss(pred, labels)
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.detach())


def improved(score: float, best: float) -> bool:
    """A NaN validation SRCC (constant predictions) never counts as an improvement."""
    return math.isfinite(score) and score > best


def save_checkpoint(
    folder: Path, model: ERMA, best_state: dict | None, opt, sched, state: TrainState
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / MODEL_FILE)
    torch.save(best_state if best_state is not None else model.state_dict(), folder / BEST_FILE)
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, folder / OPTIM_FILE)
    (folder / STATE_FILE).write_text(json.dumps(asdict(state)))
    return folder


def checkpoint_step(folder: Path) -> int:
    """The optimiser step a checkpoint folder was written at."""
    return int(json.loads((Path(folder) / STATE_FILE).read_text())["step"])


def load_checkpoint(folder: Path, model: ERMA, opt=None, sched=None) -> tuple[TrainState, dict]:
    """Restore current weights (and optimiser) in place; returns the progress and the best weights."""
    model.load_state_dict(torch.load(folder / MODEL_FILE, map_location="cpu", weights_only=True))
    if opt is not None and (folder / OPTIM_FILE).is_file():
        blob = torch.load(folder / OPTIM_FILE, map_location="cpu", weights_only=False)
        opt.load_state_dict(blob["opt"])
        if sched is not None:
            sched.load_state_dict(blob["sched"])
    state = TrainState(**json.loads((folder / STATE_FILE).read_text()))
    best = torch.load(folder / BEST_FILE, map_location="cpu", weights_only=True)
    return state, best


def snapshot(model: nn.Module) -> dict[str, Any]:
    return copy.deepcopy(model.state_dict())


@dataclass(frozen=True)
class Recipe:
    """The knobs of one fit (a subset of ERMAConfig), so the loop does not depend on the config module."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    steps: int = 1500
    warmup: int = 100
    batch_size: int = 64
    eval_every: int = 100
    seed: int = 0
    rank_weight: float = 2.0

    @classmethod
    def from_config(cls, cfg: Any) -> Recipe:
        get = cfg.get if isinstance(cfg, dict) else lambda k, d=None: getattr(cfg, k, d)
        return cls(**{k: get(k, v) for k, v in asdict(cls()).items()})


def run_training(
    model: nn.Module,
    train: Arrays,
    val: Arrays,
    recipe: Recipe,
    *,
    module: ERMA | None = None,
    resume: Path | None = None,
    on_eval=None,
) -> tuple[TrainState, dict]:
    """Fit `model` for `recipe.steps` optimiser steps (continuing from `resume`), evaluating on `val` every
    `eval_every` steps and at the end. `module` is the unwrapped ERMA when `model` is a DDP wrapper.
    `on_eval(state, metrics, best_state, opt, sched)` runs after each evaluation (checkpoint + report).
    Returns the final progress and the best weights by validation SRCC."""
    module = module or model
    opt, sched = make_optimizer(model, recipe.lr, recipe.weight_decay, recipe.warmup, recipe.steps)
    state, best_state = TrainState(), None
    if resume is not None:
        state, best_state = load_checkpoint(Path(resume), module, opt, sched)
    sampler = BatchSampler(len(train), recipe.batch_size, recipe.seed, state.step)
    model.train()
    while state.step < recipe.steps:
        idx = sampler.next()
        train_step(model, opt, sched, train.take(idx), train.labels[idx], recipe.rank_weight)
        state.step += 1
        if state.step % max(recipe.eval_every, 1) == 0 or state.step == recipe.steps:
            metrics = evaluate(module, val)
            if improved(metrics["srcc"], state.best_score) or best_state is None:
                if improved(metrics["srcc"], state.best_score):
                    state.best_score, state.best_step, state.best_plcc = (
                        metrics["srcc"],
                        state.step,
                        metrics["plcc"],
                    )
                best_state = snapshot(module)
            if on_eval is not None:
                on_eval(state, metrics, best_state, opt, sched)
    if best_state is None:
        best_state = snapshot(module)
    return state, best_state
