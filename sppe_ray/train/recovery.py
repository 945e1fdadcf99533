"""Fit C2E-S2SER (compact network) with Ray Train; register the best checkpoint as `sppe-c2e-s2ser`.

Both backends: `c2e_net` (the offline default, loop below) and `c2e_diffusion` (LoRA on an inpainting pipeline,
loop in `recovery_diffusion`, registered as `sppe-c2e-s2ser-diffusion` by lowest validation denoising loss).
Pipeline: the benchmark's train/val splits -> Ray Data (PNG decode + crops around the private region in
`map_batches`, so decoding runs in parallel with the training step) -> `TorchTrainer` workers (DDP when
`num_workers > 1`) -> `ray.train.report` with a checkpoint every `eval_every` steps; Ray keeps the best by
validation GT-PSNR. A run resumes from `ray.train.get_checkpoint()` (worker restart) or from an explicit
checkpoint folder (`resume_from`). MLflow: the driver opens the run and registers the model; rank 0 logs
step metrics into it through the client API (Train V2 refuses Tune's MLflow callback).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

from sppe_ray.config import RecoveryConfig, sppe_home

log = logging.getLogger(__name__)

EXPERIMENT = "sppe-recovery"
SCORE = "val_gt_psnr"
ROWS_PER_BLOCK = 32


def fit_recovery(benchmark_dir: str | Path, cfg: RecoveryConfig, home: Path | None = None,
                 register: bool = True, *, resume_from: str | Path | None = None, max_val: int = 64,
                 val_crop: int = 256, crops_per_row: int = 2) -> dict[str, Any]:
    """Train, keep the best checkpoint, register it; returns a summary dict (see keys at the end)."""
    import ray
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from sppe_ray import tracking
    from sppe_ray.errors import BenchmarkError
    from sppe_ray.models.recovery.batches import COLUMNS, decode_and_crop
    from sppe_ray.models.recovery.c2e_net import REGISTERED_NAME
    from sppe_ray.runtime import init_ray
    from sppe_ray.shards import manifest_hash, read_benchmark
    from sppe_ray.train import recovery_diffusion as rd

    diffusion = cfg.backend == "c2e_diffusion"
    score_key, order = (rd.SCORE, "min") if diffusion else (SCORE, "max")
    name = rd.REGISTERED_NAME if diffusion else REGISTERED_NAME
    home = Path(home) if home is not None else sppe_home()
    train_table = read_benchmark(benchmark_dir, "train", columns=COLUMNS)
    val_table = read_benchmark(benchmark_dir, "val", columns=COLUMNS)
    if train_table.num_rows == 0:
        raise BenchmarkError(f"benchmark {benchmark_dir} has no train rows to fit recovery on")
    has_val = val_table.num_rows > 0
    if not has_val:  # tiny benchmarks: select on a slice of train, but never call that a validation score
        log.warning("no val rows in %s: selecting on the first train rows; the model will not be promoted",
                    benchmark_dir)
        val_table = train_table.slice(0, max_val)
    val_table = val_table.slice(0, max_val)

    init_ray()
    decode = {"batch_format": "numpy", "batch_size": 8}
    train_ds = ray.data.from_arrow(_blocks(train_table)).map_batches(
        decode_and_crop, fn_kwargs={"crop": cfg.crop, "seed": cfg.seed, "crops_per_row": crops_per_row,
                                    "with_text": diffusion, "with_transfer": not diffusion}, **decode)
    val_ds = ray.data.from_arrow(_blocks(val_table)).map_batches(
        decode_and_crop, fn_kwargs={"crop": cfg.crop if diffusion else val_crop, "random": False,
                                    "with_text": diffusion, "with_transfer": not diffusion}, **decode)

    started = time.time()
    run_name = cfg.backend if diffusion else f"c2e_net-w{cfg.width}"
    with tracking.start_run(EXPERIMENT, run_name=run_name, config={"recovery": cfg.model_dump()},
                            manifest_hash=manifest_hash(benchmark_dir), home=home,
                            params={"train_rows": train_table.num_rows, "val_rows": val_table.num_rows}) as run:
        loop_config = {"recovery": cfg.model_dump(), "run_id": run.info.run_id,
                       "tracking_uri": tracking.tracking_uri(home),
                       "resume_from": str(Path(resume_from).resolve()) if resume_from else None,
                       "threads": 1}  # Ray Data decodes on the other core; 2 OpenMP threads spin on a busy one
        trainer = TorchTrainer(
            rd.diffusion_loop if diffusion else _train_loop, train_loop_config=loop_config,
            scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                                         resources_per_worker={"CPU": 1}),
            run_config=RunConfig(name=f"recovery-{run.info.run_id[:12]}", storage_path=str(home / "ray_results"),
                                 checkpoint_config=CheckpointConfig(num_to_keep=2, checkpoint_score_attribute=score_key,
                                                                    checkpoint_score_order=order),
                                 failure_config=FailureConfig(max_failures=cfg.max_failures)),
            datasets={"train": train_ds, "val": val_ds},
            dataset_config=DataConfig(datasets_to_split=["train"]),
        )
        result = trainer.fit()
        sign = 1.0 if order == "max" else -1.0
        best_ckpt, best_metrics = max(result.best_checkpoints,
                                      key=lambda cm: sign * cm[1].get(score_key, -sign * math.inf))
        model_dir = home / "models" / cfg.backend / run.info.run_id
        with best_ckpt.as_directory() as d:
            shutil.copytree(Path(d) / "model", model_dir, dirs_exist_ok=True)
        score = float(best_metrics[score_key])
        tracking.log_metrics({"best_" + score_key: score, "fit_seconds": time.time() - started})
        scored_on = {"benchmark_manifest_hash": manifest_hash(benchmark_dir), "split": "val" if has_val else "train"}
        version, promoted = (tracking.register_model(model_dir, name, score=score if has_val else None,
                                                     higher_is_better=not diffusion, scored_on=scored_on)
                             if register else (None, False))
    final = result.metrics or {}
    return {
        "run_id": run.info.run_id, "model_dir": str(model_dir), score_key: score, "score": score, "version": version,
        "scored_on": "val" if has_val else "train (no val split: not promoted)",
        "registered_name": name if register else None,
        "promoted": promoted, "best_checkpoint": best_ckpt.path, "checkpoint": result.checkpoint.path,
        "best_step": int(best_metrics.get("step", -1)), "start_step": int(final.get("start_step", 0)),
        "step": int(final.get("step", 0)), "metrics": dict(final), "seconds": time.time() - started,
    }


def _blocks(table: Any) -> list[Any]:
    """Split a table into blocks so Ray Data decodes them in parallel (one table is one block)."""
    return [table.slice(i, ROWS_PER_BLOCK) for i in range(0, table.num_rows, ROWS_PER_BLOCK)] or [table]


def _train_loop(config: dict[str, Any]) -> None:
    """Per-worker loop: resume, train, evaluate on rank 0, report checkpoints."""
    import ray.train
    import ray.train.torch as rtt
    import torch

    from sppe_ray import tracking
    from sppe_ray.models.recovery.batches import flip_batch, to_model_batch
    from sppe_ray.models.recovery.c2e_net import C2ENet
    from sppe_ray.models.recovery.losses import LossWeights, c2e_loss
    from sppe_ray.train.checkpoints import record_restart, restarted, resume_state

    cfg = RecoveryConfig(**config["recovery"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(int(config.get("threads", 1)))
    torch.manual_seed(cfg.seed + rank)
    device = rtt.get_device() if cfg.use_gpu else torch.device("cpu")
    net = C2ENet(cfg.width, correction_band=cfg.correction_band).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_shape(cfg.steps))
    step, start_step = 0, 0
    state = resume_state(config, device)
    if state is not None:
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = start_step = int(state["step"])
    model = rtt.prepare_model(net) if world > 1 else net
    weights = LossWeights(lambda_cycle=cfg.lambda_cycle, lambda_tag=cfg.lambda_tag)
    logger = tracking.StepLogger(config["tracking_uri"], config["run_id"]) if rank == 0 else None
    if restarted():
        record_restart(logger, start_step)
    shard, val_shard = ray.train.get_dataset_shard("train"), ray.train.get_dataset_shard("val")
    flips = torch.Generator().manual_seed(cfg.seed * 7919 + rank + step)
    epoch, running = 0, {}
    if step >= cfg.steps:  # resumed past the target: report the restored model so the run has a checkpoint
        metrics = {"step": step, "start_step": start_step, **(_evaluate(net, val_shard, device) if rank == 0 else {})}
        _report(metrics, net, opt, sched, step, rank)
    while step < cfg.steps:
        seen = 0
        for raw in shard.iter_torch_batches(batch_size=cfg.batch_size, local_shuffle_buffer_size=cfg.batch_size * 4,
                                            local_shuffle_seed=cfg.seed + epoch + start_step):
            batch = to_model_batch(raw, device)
            batch = flip_batch(batch, (torch.rand(len(batch["tag"]), generator=flips) < 0.5).tolist())
            model.train()
            loss, parts = c2e_loss(model, batch, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step, seen = step + 1, seen + 1
            running = {k: 0.9 * running.get(k, v) + 0.1 * v for k, v in parts.items()}
            if step % cfg.eval_every == 0 or step >= cfg.steps:
                metrics = {**{f"train_{k}": v for k, v in running.items()}, "step": step, "start_step": start_step,
                           "lr": sched.get_last_lr()[0]}
                if rank == 0:
                    metrics.update(_evaluate(net, val_shard, device))
                    logger.log(metrics, step)
                _report(metrics, net, opt, sched, step, rank)
            if step >= cfg.steps:
                break
        if seen == 0:
            raise RuntimeError("the train split produced no batches; is the benchmark empty?")
        epoch += 1


def _lr_shape(total: int, warmup: int = 50) -> Any:
    """Linear warm-up, then cosine down to 10% of the base rate."""
    def shape(i: int) -> float:
        if i < warmup:
            return (i + 1) / warmup
        t = min(1.0, (i - warmup) / max(1, total - warmup))
        return 0.1 + 0.45 * (1 + math.cos(math.pi * t))
    return shape


def _evaluate(net: Any, val_shard: Any, device: Any) -> dict[str, float]:
    """Validation GT-PSNR / L1 of the network and, for scale, of returning the edited surrogate and of the
    classical transfer the network starts from (its gain is what training buys)."""
    import torch

    from sppe_ray.models.recovery.batches import to_model_batch

    net.eval()
    psnr, l1, base_psnr, transfer_psnr, mask_l1, n = 0.0, 0.0, 0.0, 0.0, 0.0, 0
    with torch.inference_mode():
        for raw in val_shard.iter_torch_batches(batch_size=8):
            b = to_model_batch(raw, device)
            pred = net(b["source"], b["surrogate"], b["surrogate_edit"], b["mask"], b.get("transfer"))[0].clamp(0, 1)
            gt = b["source_edit"]
            psnr += float(_psnr(pred, gt).sum())
            base_psnr += float(_psnr(b["surrogate_edit"], gt).sum())
            if "transfer" in b:
                transfer_psnr += float(_psnr(b["transfer"], gt).sum())
            l1 += float((pred - gt).abs().mean((1, 2, 3)).sum())
            m = b["mask"]
            mask_l1 += float(((pred - gt).abs().mean(1, keepdim=True) * m).sum((1, 2, 3))
                             .div(m.sum((1, 2, 3)).clamp_min(1)).sum())
            n += pred.shape[0]
    n = max(n, 1)
    return {"val_gt_psnr": psnr / n, "val_l1": l1 / n, "val_mask_l1": mask_l1 / n,
            "val_edited_surrogate_psnr": base_psnr / n, "val_transfer_psnr": transfer_psnr / n,
            "val_samples": float(n)}


def _psnr(a: Any, b: Any) -> Any:
    import torch

    mse = ((a - b) ** 2).mean((1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def _report(metrics: dict, net: Any, opt: Any, sched: Any, step: int, rank: int) -> None:
    """Every worker reports; only rank 0 attaches the checkpoint (model folder + optimiser state)."""
    from sppe_ray.models.recovery.c2e_net import save_net
    from sppe_ray.train.checkpoints import report

    report(metrics, rank,
           state=lambda: {"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step},
           write_model=lambda folder: save_net(net, folder, extra={"step": step, SCORE: metrics.get(SCORE)}))
