"""Ray Train checkpoints of the recovery fits: one training-state file beside the model folder, written on
rank 0 and read back on resume.

Why shared: both recovery backends (c2e_net and the diffusion LoRA) resume the same way: from the trial's
own checkpoint after a restart, else from `resume_from` (an earlier fit's checkpoint folder, `--resume-from`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the optimiser/scheduler/step state inside a checkpoint folder (the model itself is under model/)
STATE_FILE = "train_state.pt"


def resume_state(config: dict[str, Any], device: Any) -> dict[str, Any] | None:
    """The saved training state to continue from, or None for a fresh start."""
    import ray.train
    import torch

    ckpt = ray.train.get_checkpoint()
    if ckpt is None and config.get("resume_from"):
        ckpt = ray.train.Checkpoint.from_directory(config["resume_from"])
    if ckpt is None:
        return None
    with ckpt.as_directory() as d:
        return torch.load(Path(d) / STATE_FILE, map_location=device, weights_only=False)


def report(metrics: dict[str, Any], rank: int, state: Callable[[], dict[str, Any]],
           write_model: Callable[[Path], None]) -> None:
    """Report `metrics`; rank 0 also attaches a checkpoint holding the model (written by `write_model` into
    model/) and the training state (`state()` is only called on rank 0)."""
    import ray.train
    import torch

    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as d:
        write_model(Path(d) / "model")
        torch.save(state(), Path(d) / STATE_FILE)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))
