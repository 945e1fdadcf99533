"""Ray Train checkpoints of every fit (ERMA, c2e_net, the diffusion LoRA): one way to find the folder to resume
from and one way to attach a checkpoint to a report.

Why shared: all three fits resume the same way, from the trial's own checkpoint after a worker restart, else
from `resume_from` (an earlier fit's checkpoint folder, `--resume-from`), and all attach a checkpoint on rank 0
only. What goes inside a checkpoint folder is the model's own business (`write` below).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("sppe_ray.train")

#: the recovery fits' optimiser/scheduler/step state inside a checkpoint folder (their model is under model/)
STATE_FILE = "train_state.pt"


@contextmanager
def resume_folder(config: dict[str, Any]) -> Iterator[Path | None]:
    """The checkpoint folder to continue from (readable inside the block), or None for a fresh start."""
    import ray.train

    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        yield Path(config["resume_from"]) if config.get("resume_from") else None
        return
    with ckpt.as_directory() as d:
        yield Path(d)


def restarted() -> bool:
    """Whether Ray Train restarted this worker group after a failure (`max_failures`): it then holds the fit's
    own last checkpoint, which `resume_folder` continues from."""
    import ray.train

    return ray.train.get_checkpoint() is not None


def record_restart(logger: Any, step: int) -> None:
    """Say that the fit resumed at `step` after a restart: in the worker's log, and on rank 0 (`logger`, a
    `tracking.StepLogger`) as the metric `resumed_at_step` of the fit's MLflow run, one point per restart."""
    log.warning("the fit restarted after a worker failure; resuming from its checkpoint at step %d", step)
    if logger is not None:
        logger.log({"resumed_at_step": step}, step)


def report_folder(metrics: dict[str, Any], rank: int, write: Callable[[Path], None]) -> None:
    """Report `metrics`; rank 0 also attaches a checkpoint folder filled by `write` (only called on rank 0)."""
    import ray.train

    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory() as d:
        write(Path(d))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))


def resume_state(config: dict[str, Any], device: Any) -> dict[str, Any] | None:
    """A recovery fit's saved training state to continue from, or None for a fresh start."""
    import torch

    with resume_folder(config) as folder:
        if folder is None:
            return None
        return torch.load(folder / STATE_FILE, map_location=device, weights_only=False)


def report(metrics: dict[str, Any], rank: int, state: Callable[[], dict[str, Any]],
           write_model: Callable[[Path], None]) -> None:
    """A recovery fit's report: the checkpoint holds the model (written by `write_model` into model/) and the
    training state (`state()`)."""
    import torch

    def write(folder: Path) -> None:
        write_model(folder / "model")
        torch.save(state(), folder / STATE_FILE)

    report_folder(metrics, rank, write)
