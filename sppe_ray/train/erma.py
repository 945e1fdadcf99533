"""Fit ERMA with Ray: Ray Data extracts the frozen-encoder features once, Ray Train fits the head on them.

Why two stages: the encoders are frozen, so pixels are touched once per sample (an actor pool in Ray Data,
cached as Parquet under SPPE_HOME keyed by benchmark manifest and encoder) and every fit, resume or ablation
trains only the MLP head on cached arrays. That is what keeps a default fit within minutes on two cores.
The fitted head is saved as an ERMAPredictor folder, logged to MLflow and registered as `sppe-erma`; the
`champion` alias moves only when validation SRCC beats the holder (tracking.register_model).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.config import ERMAConfig, sppe_home
from sppe_ray.config_names import ERMA_MODEL
from sppe_ray.errors import BenchmarkError, ConfigError
from sppe_ray.models.erma.features import code_index
from sppe_ray.models.erma.predictor import ERMAPredictor, make_extractor

log = logging.getLogger(__name__)

MODEL_NAME = ERMA_MODEL
EXPERIMENT = "erma"
FEATURE_VERSION = 3  # 2: the detector block joined the cache; 3: its cues became editor-agnostic
_READ_COLUMNS = ["sample_id", "split", "instruction_code", "source", "surrogate", "mask", "editability"]
ABLATIONS = {
    "no_relation": {"use_relation": False},
    "no_instruction": {"use_instruction": False},
    "no_mask": {"use_mask": False},
    "no_detectors": {"use_detectors": False},
}


class Featurize:
    """Ray Data callable: decode a batch of benchmark rows and return the cached ERMA arrays.

    The cache always holds the mask and detector blocks, so the no-mask and no-detectors ablations reuse it
    by ignoring those columns."""

    def __init__(self, encoders: dict[str, Any]) -> None:
        self.extractor = make_extractor(encoders, use_mask=True, use_detectors=True)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from sppe_ray.imageio import decode_image, decode_mask

        sources = [decode_image(b) for b in batch["source"]]
        surrogates = [decode_image(b) for b in batch["surrogate"]]
        masks = [decode_mask(b, s.shape[:2]) for b, s in zip(batch["mask"], sources, strict=True)]
        feats = self.extractor.extract(sources, surrogates, masks)
        return {
            "sample_id": np.asarray(batch["sample_id"]).astype(str),
            "split": np.asarray(batch["split"]).astype(str),
            "code_idx": code_index(list(batch["instruction_code"])),
            "label": np.asarray(batch["editability"], dtype=np.float32),
            **feats,
        }


def _shard_paths(benchmark_dir: Path) -> list[str]:
    from sppe_ray.shards import read_manifest

    manifest = read_manifest(benchmark_dir)
    paths = [str(benchmark_dir / s["name"]) for s in manifest.get("shards", [])]
    if not paths:
        raise BenchmarkError(f"benchmark {benchmark_dir} lists no shards; build it with `sppe build`.")
    return paths


def feature_cache_key(benchmark_dir: Path, predictor: ERMAPredictor) -> str:
    from sppe_ray.shards import manifest_hash

    enc = predictor.encoders
    raw = json.dumps(
        [
            manifest_hash(benchmark_dir),
            enc["image_encoder"],
            enc.get("model"),
            enc.get("image_kwargs"),
            enc.get("crop_kwargs"),
            FEATURE_VERSION,
            enc["face_detector"],
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def extract_features(
    benchmark_dir: Path,
    predictor: ERMAPredictor,
    cache: Path,
    *,
    actors: int = 2,
    actor_cpus: float | None = None,
    batch_size: int = 32,
) -> dict[str, int]:
    """Compute (once) the cached features of every labelled row, all splits in one Ray Data pass (a pass per
    split would pay the actor-pool start three times); returns the row count per split."""
    import pyarrow.parquet as pq
    import ray
    from ray.data.expressions import col

    from sppe_ray.runtime import actor_cpus as _actor_cpus

    folder = cache / "features"
    if not (folder / "_SUCCESS").exists():
        ds = (
            ray.data.read_parquet(_shard_paths(benchmark_dir))
            .select_columns(_READ_COLUMNS)
            .filter(expr=col("editability").is_not_null())
        )
        feats = ds.map_batches(
            Featurize,
            fn_constructor_kwargs={"encoders": predictor.encoders},
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(actors, 1)),
            num_cpus=_actor_cpus(actor_cpus),
        )
        tmp = cache / ".features.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        feats.write_parquet(str(tmp))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        (folder / "_SUCCESS").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    counts: dict[str, int] = {}
    for path in _cache_files(cache):
        for split in pq.read_table(path, columns=["split"]).column("split").to_pylist():
            counts[split] = counts.get(split, 0) + 1
    return counts


def _cache_files(cache: Path) -> list[str]:
    return sorted(str(p) for p in (cache / "features").glob("*.parquet"))


def split_dataset(cache: Path, split: str):
    """Ray Dataset of one split's cached features."""
    import ray
    from ray.data.expressions import col

    return ray.data.read_parquet(_cache_files(cache)).filter(expr=col("split") == split)


def collect(ds) -> dict[str, np.ndarray]:
    from sppe_ray.models.erma.fitting import concat_columns

    return concat_columns(list(ds.iter_batches(batch_size=1024, batch_format="numpy")))


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train loop: gather this worker's shard, fit the head, report + checkpoint at each evaluation."""
    import ray.train
    import ray.train.torch
    import torch

    from sppe_ray import tracking
    from sppe_ray.models.erma import fitting
    from sppe_ray.models.erma.model import ERMA
    from sppe_ray.models.erma.relation import FeatureSpec
    from sppe_ray.train import checkpoints

    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    torch.manual_seed(config["recipe"]["seed"] + rank)
    spec = FeatureSpec(**config["spec"])
    texts = np.asarray(config["texts"], dtype=np.float32)
    flags = (spec.use_mask, spec.use_detectors)
    train = fitting.arrays_from_columns(collect(ray.train.get_dataset_shard("train")), texts, *flags)
    val = fitting.arrays_from_columns(collect(ray.train.get_dataset_shard("val")), texts, *flags)
    module = ERMA(spec, config["hidden"], config["dropout"])
    model = ray.train.torch.prepare_model(module) if ctx.get_world_size() > 1 else module
    recipe = fitting.Recipe(**{**config["recipe"], "seed": config["recipe"]["seed"] + rank})
    client = (tracking.StepLogger(config["tracking_uri"], config["run_id"], prefix="train/")
              if rank == 0 and config.get("run_id") else None)

    def on_eval(state, metrics, best_state, opt, sched) -> None:
        report = {
            "step": state.step,
            "val_srcc": _finite(metrics["srcc"]),
            "val_plcc": _finite(metrics["plcc"]),
            "val_mse": metrics["mse"],
            "best_srcc": _finite(state.best_score),
            "best_step": state.best_step,
        }
        if client is not None:
            client.log(report, state.step)
        checkpoints.report_folder(report, rank, lambda folder: fitting.save_checkpoint(
            folder, module, best_state, opt, sched, state))

    with checkpoints.resume_folder(config) as resume:  # the folder is only readable inside the block
        if checkpoints.restarted():
            checkpoints.record_restart(client, fitting.checkpoint_step(resume))
        fitting.run_training(model, train, val, recipe, module=module, resume=resume, on_eval=on_eval)


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else -1.0


def _trainer(config: dict, cfg: ERMAConfig, train_ds, val_ds, storage: Path, name: str):
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu),
        datasets={"train": train_ds, "val": val_ds},
        dataset_config=DataConfig(datasets_to_split=["train"]),  # every worker validates on the whole split
        run_config=RunConfig(
            name=name, storage_path=str(storage), checkpoint_config=CheckpointConfig(num_to_keep=2),
            failure_config=FailureConfig(max_failures=cfg.max_failures),
        ),
    )


def champion_tags() -> dict[str, str]:
    """Registry tags a usable ERMA champion carries: a champion of another model format is not comparable
    (the new fit replaces it) and counts as missing (`sppe eval` refits it)."""
    from sppe_ray.models.erma.predictor import FORMAT_VERSION

    return {"model_format": str(FORMAT_VERSION)}


def _score_split(predictor: ERMAPredictor, ds) -> dict[str, float]:
    from sppe_ray.models.erma import fitting

    spec = predictor.spec
    arrays = fitting.arrays_from_columns(collect(ds), predictor.texts, spec.use_mask, spec.use_detectors)
    return fitting.evaluate(predictor.model, arrays) if len(arrays) else {}


def fit_erma(
    benchmark_dir: str | os.PathLike,
    cfg: ERMAConfig,
    home: str | os.PathLike | None = None,
    register: bool = True,
    *,
    resume_from: str | os.PathLike | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
    test_split: str | None = "test",
    image_kwargs: dict | None = None,
    crop_kwargs: dict | None = None,
    actors: int = 2,
) -> dict[str, Any]:
    """Extract features (cached), fit the head with Ray Train, save, log and (optionally) register it.

    `resume_from` is a checkpoint folder of an earlier fit (its `checkpoint` result key): the fit continues
    its step count, optimiser state and best score up to `cfg.steps`. Ray must be initialised (runtime.init_ray).
    """
    from sppe_ray import tracking
    from sppe_ray.models.erma import fitting
    from sppe_ray.shards import manifest_hash

    t0 = time.perf_counter()
    benchmark_dir, home = Path(benchmark_dir), Path(home) if home else sppe_home()
    _shard_paths(benchmark_dir)  # fail on a missing or empty benchmark before loading any encoder
    predictor = ERMAPredictor.build(cfg, image_kwargs=image_kwargs, crop_kwargs=crop_kwargs)
    cache = home / "cache" / "erma_features" / feature_cache_key(benchmark_dir, predictor)
    counts = extract_features(benchmark_dir, predictor, cache, actors=actors)
    splits = {s: split_dataset(cache, s) for s in ("train", "val")}
    if not counts.get("train") or not counts.get("val"):
        raise BenchmarkError(f"benchmark {benchmark_dir} needs labelled train and val rows to fit ERMA.")
    t_feat = time.perf_counter() - t0
    recipe = fitting.Recipe.from_config(cfg)
    start_step = 0
    if resume_from is not None:
        state_file = Path(resume_from) / fitting.STATE_FILE
        if not state_file.is_file():
            raise BenchmarkError(
                f"resume_from {resume_from} is not an ERMA checkpoint (no {fitting.STATE_FILE})."
            )
        start_step = fitting.checkpoint_step(Path(resume_from))
        if start_step >= cfg.steps:
            raise ConfigError(f"the checkpoint in {resume_from} is at step {start_step}, not below erma.steps="
                              f"{cfg.steps}: raise erma.steps to continue the fit")
    digest = manifest_hash(benchmark_dir)
    with tracking.start_run(
        EXPERIMENT,
        run_name or "erma-fit",
        config={"erma": cfg.model_dump()},
        manifest_hash=digest,
        tags={"task": "editability", **(tags or {})},
        params={"feature_cache": cache.name, "resume_from": str(resume_from or "")},
        home=home,
    ) as run:
        config = {
            "spec": predictor.spec.to_dict(),
            "texts": predictor.texts.tolist(),
            "hidden": list(cfg.hidden),
            "dropout": cfg.dropout,
            "recipe": recipe.__dict__,
            "run_id": run.info.run_id,
            "tracking_uri": tracking.tracking_uri(home),
            "resume_from": str(Path(resume_from).resolve()) if resume_from else None,  # workers chdir
        }
        result = _trainer(
            config, cfg, splits["train"], splits["val"], home / "ray_results", f"erma-{run.info.run_id[:12]}"
        ).fit()
        if result.checkpoint is None:
            raise RuntimeError(f"ERMA training reported no checkpoint: {result.error}")
        with result.checkpoint.as_directory() as d:
            state, best = fitting.load_checkpoint(Path(d), predictor.model)
        predictor.model.load_state_dict(best)
        predictor.model.eval()
        out: dict[str, Any] = {
            "run_id": run.info.run_id,
            "val_srcc": state.best_score,
            "val_plcc": state.best_plcc,
            "best_step": state.best_step,
            "steps": state.step,
            "start_step": start_step,
            "checkpoint": result.checkpoint.path,
            "feature_seconds": round(t_feat, 2),
        }
        test_ds = split_dataset(cache, test_split) if test_split and counts.get(test_split) else None
        if test_ds is not None:
            out.update({f"test_{k}": v for k, v in _score_split(predictor, test_ds).items()})
        model_dir = predictor.save(home / "models" / "erma" / run.info.run_id)
        out["model_dir"] = str(model_dir)
        out["fit_seconds"] = round(time.perf_counter() - t0, 2)
        tracking.log_metrics({k: v for k, v in out.items() if k not in ("run_id", "checkpoint", "model_dir")})
        if register:
            out["version"], out["promoted"] = tracking.register_model(
                model_dir, MODEL_NAME, score=state.best_score,
                scored_on={"benchmark_manifest_hash": manifest_hash(benchmark_dir), "split": "val",
                           **champion_tags()})
        else:
            import mlflow

            mlflow.log_artifacts(str(model_dir), artifact_path="model")
    log.info("ERMA fit: %s", out)
    return out


def run_ablations(
    benchmark_dir: str | os.PathLike,
    cfg: ERMAConfig,
    home: str | os.PathLike | None = None,
    names: tuple[str, ...] = ("full", *ABLATIONS),
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Fit the full model and each ablation on the same cached features; every run is tagged
    `ablation=<name>` and none is registered (ablations must never become the champion)."""
    unknown = [n for n in names if n != "full" and n not in ABLATIONS]
    if unknown:  # checked before the first fit, not when the loop reaches it
        raise ConfigError(f"unknown ablation {unknown[0]!r}; choose from full, {', '.join(ABLATIONS)}")
    out = {}
    for name in names:
        variant = cfg.model_copy(update=ABLATIONS.get(name, {}))
        out[name] = fit_erma(
            benchmark_dir,
            variant,
            home,
            register=False,
            run_name=f"erma-ablation-{name}",
            tags={"ablation": name},
            **kwargs,
        )
    return out
