"""Ray Train worker loop for `c2e_diffusion`: LoRA fine-tuning of an inpainting pipeline on 2x2 grids.

Companion of `sppe_ray.train.recovery` (which builds the datasets, runs the trainer and registers); kept apart
because the two backends share the plumbing but not the step. Validation is the weighted denoising loss on a
fixed-seed val pass (lower is better): a full sampling run per checkpoint would cost minutes even on a GPU.
Data parallel: LoRA and tag-head gradients are all-reduced by hand (the frozen UNet is not DDP-wrapped).
"""

from __future__ import annotations

from typing import Any

from sppe_ray.config import RecoveryConfig
from sppe_ray.config_names import DIFFUSION_MODEL

SCORE = "val_denoise_loss"
REGISTERED_NAME = DIFFUSION_MODEL


def diffusion_loop(config: dict[str, Any]) -> None:
    """Per-worker loop (same contract as `recovery._train_loop`): resume, train, validate, report."""
    import ray.train
    import ray.train.torch as rtt
    import torch

    from sppe_ray import tracking
    from sppe_ray.models.recovery.batches import to_model_batch
    from sppe_ray.models.recovery.diffusion import DiffusionLoRA, load_pipeline, prompt_for
    from sppe_ray.train.checkpoints import record_restart, restarted, resume_state

    cfg = RecoveryConfig(**config["recovery"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(int(config.get("threads", 1)))
    device = rtt.get_device() if cfg.use_gpu else torch.device("cpu")
    pipe = load_pipeline(cfg.pipeline, str(device))
    lora = DiffusionLoRA(pipe, rank=cfg.lora_rank, lr=cfg.lr / 20, lambda_cycle=cfg.lambda_cycle,
                         lambda_tag=cfg.lambda_tag, seed=cfg.seed + rank)
    step = start_step = 0
    state = resume_state(config, device)
    if state is not None:
        for p, saved in zip(lora.trainable_parameters(), state["params"], strict=True):
            p.data.copy_(saved)
        lora.opt.load_state_dict(state["opt"])
        step = start_step = int(state["step"])

    def all_reduce(params: list[torch.Tensor]) -> None:
        if world > 1:
            for p in params:
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= world

    def prompts(raw: dict) -> list[str]:
        return [prompt_for(c, k) for c, k in zip(raw["instruction_code"], raw["category"], strict=True)]

    logger = tracking.StepLogger(config["tracking_uri"], config["run_id"]) if rank == 0 else None
    if restarted():
        record_restart(logger, start_step)
    shard, val_shard = ray.train.get_dataset_shard("train"), ray.train.get_dataset_shard("val")
    while step < cfg.steps:
        seen = 0
        for raw in shard.iter_batches(batch_size=cfg.batch_size, batch_format="numpy"):
            parts = lora.train_step(to_model_batch(raw, device), prompts(raw), grad_hook=all_reduce)
            step, seen = step + 1, seen + 1
            if step % cfg.eval_every == 0 or step >= cfg.steps:
                metrics = {**{f"train_{k}": v for k, v in parts.items()}, "step": step, "start_step": start_step}
                if rank == 0:
                    metrics[SCORE] = _validate(lora, val_shard, device, prompts)
                    logger.log(metrics, step)
                _report(metrics, lora, step, rank)
            if step >= cfg.steps:
                break
        if seen == 0:
            raise RuntimeError("the train split produced no batches; is the benchmark empty?")


def _validate(lora: Any, val_shard: Any, device: Any, prompts: Any) -> float:
    import torch

    from sppe_ray.models.recovery.batches import to_model_batch

    saved = lora.gen.get_state()
    lora.gen.manual_seed(1234)  # same noise and timesteps at every validation: comparable across steps
    total, n = 0.0, 0
    with torch.no_grad():
        for raw in val_shard.iter_batches(batch_size=4, batch_format="numpy"):
            loss, _ = lora.loss(to_model_batch(raw, device), prompts(raw))
            k = len(raw["tag"])
            total, n = total + float(loss) * k, n + k
    lora.gen.set_state(saved)
    return total / max(n, 1)


def _report(metrics: dict, lora: Any, step: int, rank: int) -> None:
    from sppe_ray.train.checkpoints import report

    report(metrics, rank,
           state=lambda: {"params": [p.detach().cpu() for p in lora.trainable_parameters()],
                          "opt": lora.opt.state_dict(), "step": step},
           write_model=lora.save)
