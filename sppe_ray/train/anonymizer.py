"""The black-box anonymizer's jobs: MLflow, the registry, Ray at the edge (docs/anonymizer.md).

- ``fit_anonymizer``: setting 1; queries through Ray actors, a Serve deployment, HTTP or in-process; curves and
  scores in MLflow; registered as `sppe-anonymizer` under the guarded `champion` alias.
- ``fit_editor_anonymizer``: setting 2 (the editor as the black box); registered as `sppe-anonymizer-editor`,
  which the `learned` surrogate strategy loads.
- ``run_study`` / ``run_editor_study``: the study's two parts.

A fit checkpoints under <home>/checkpoints/anonymizer/<fingerprint of its settings>, so the same command after a
kill continues where it stopped (exactly: the optimiser's random state and memory are in the checkpoint). The
champion score is validation top-1 minus validation cMAP (higher is better): it rewards kept utility and removed
privacy alike, and both are on [0, 1].
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.config import BlackBoxConfig, sppe_home
from sppe_ray.config_names import ANONYMIZER_MODEL

log = logging.getLogger(__name__)

EXPERIMENT = "sppe-anonymizer"
MODEL_FILE = "anonymizer.pt"


def fit_settings(cfg: BlackBoxConfig, **changes: Any) -> Any:
    """The FitSettings of ``cfg`` (``changes`` override fields: the study's rows)."""
    from sppe_ray.blackbox.train import FitSettings

    base = {"optimizer": cfg.optimizer, "objective": cfg.objective, "weights": tuple(cfg.weights),
            "steps": cfg.steps, "batch": cfg.batch, "eval_every": cfg.eval_every, "seed": cfg.seed,
            "privacy": cfg.privacy, "gains": {"a": cfg.a, "c": cfg.c}}
    return FitSettings(**{**base, **changes})


def load_setting(cfg: BlackBoxConfig, home: Path) -> Any:
    """Setting 1's scenes and its two fitted classifiers (cached under <home>/cache/blackbox)."""
    from sppe_ray.blackbox.train import prepare_setting1

    return prepare_setting1(cfg.n_train, cfg.n_test, cfg.seed, cfg.classifier_steps, cache=home / "cache" / "blackbox")


def open_blackbox(cfg: BlackBoxConfig, model: Any, endpoint: str | None = None) -> tuple[Any, Callable[[], None]]:
    """(answer, close) for ``endpoint`` (default ``cfg.endpoint``); ray and serve need Ray running."""
    from sppe_ray.blackbox import remote
    from sppe_ray.blackbox.query import FrozenModel

    endpoint = endpoint or cfg.endpoint
    if endpoint == "inprocess":
        return FrozenModel(model, cfg.latency_s), lambda: None
    if endpoint == "ray":
        actors = remote.RayActors(model, cfg.actors, cfg.latency_s, num_cpus=0.5)
        return actors, actors.close
    if endpoint == "serve":
        from ray import serve

        answer = remote.deploy_serve(model, cfg.actors, cfg.latency_s, num_cpus=0.5)
        return answer, lambda: serve.delete("sppe-blackbox")
    return remote.HTTPAnswer(endpoint, workers=cfg.actors), lambda: None


def checkpoint_dir(home: Path, settings: Any, cfg: BlackBoxConfig) -> Path:
    from dataclasses import asdict

    key = json.dumps({"fit": asdict(settings), "data": [cfg.n_train, cfg.n_test, cfg.classifier_steps]},
                     sort_keys=True, default=list)
    return home / "checkpoints" / "anonymizer" / hashlib.sha256(key.encode()).hexdigest()[:16]


def save_model(folder: Path, theta: np.ndarray, meta: dict[str, Any]) -> Path:
    """The anonymizer's weights (a TinyUNet state dict) and what it was fitted on."""
    import torch

    from sppe_ray.blackbox.networks import TinyUNet, set_theta

    net = set_theta(TinyUNet(), theta)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), folder / MODEL_FILE)
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    return folder


def load_model(folder: str | Path) -> Any:
    """A saved anonymizer as a torch module in eval mode."""
    import torch

    from sppe_ray.blackbox.networks import TinyUNet
    from sppe_ray.errors import BackendUnavailableError

    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        raise BackendUnavailableError(f"no anonymizer at {folder} (missing {MODEL_FILE}): fit one with "
                                      f"`sppe train anonymizer`")
    net = TinyUNet()
    net.load_state_dict(torch.load(path))
    return net.eval()


def image_grid(setting: Any, theta: np.ndarray, path: Path, n: int = 8) -> Path:
    """Original test scenes above their anonymized versions (synthetic scenes: no private photo is logged)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sppe_ray.blackbox.train import anonymize

    raw = setting.test.images[:n]
    out = anonymize(setting, theta, raw)
    fig, axes = plt.subplots(2, n, figsize=(1.4 * n, 3.0))
    for j in range(n):
        for row, imgs, title in ((0, raw, "raw"), (1, out, "anonymized")):
            axes[row, j].imshow(imgs[j].transpose(1, 2, 0))
            axes[row, j].axis("off")
            if j == 0:
                axes[row, j].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _log_curve(run_id: str, curve: list[list[float]]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(name, float(v), now, int(row[0])) for row in curve
               for name, v in (("train/loss_blackbox", row[1]), ("train/loss_privacy", row[2]),
                               ("train/objective", row[3])) if np.isfinite(v)]
    client = MlflowClient()
    for i in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[i:i + 900])


def fit_anonymizer(cfg: BlackBoxConfig, home: str | Path | None = None, register: bool = True,
                   progress: bool = True) -> dict[str, Any]:
    """Fit, evaluate (validation and test), save, log and (optionally) register one anonymizer."""
    from sppe_ray import tracking
    from sppe_ray.blackbox.train import fit, raw_reference

    t0 = time.perf_counter()
    home = Path(home) if home else sppe_home()
    setting = load_setting(cfg, home)
    settings = fit_settings(cfg)
    ckpt = checkpoint_dir(home, settings, cfg)
    raw = {"val": raw_reference(setting, "val"), "test": raw_reference(setting, "test")}
    answer, close = open_blackbox(cfg, setting.utility)
    bar = _progress(settings.steps, progress)
    try:
        with tracking.start_run(EXPERIMENT, f"anonymizer-{settings.optimizer}-{settings.objective}",
                                config={"blackbox": cfg.model_dump()}, tags={"task": "anonymizer", "setting": "1"},
                                params={"checkpoint": str(ckpt)}, home=home) as run:
            tracking.log_metrics({"raw": raw})

            def on_eval(row: dict[str, Any]) -> None:
                tracking.log_metrics({f"val/{k}": v for k, v in row.items() if k != "step"}, step=row["step"])
                bar(row)

            out = fit(setting, settings, checkpoint=ckpt, on_eval=on_eval, answer=answer, retries=cfg.retries)
            _log_curve(run.info.run_id, out["curve"])
            last = out["history"][-1]
            result = {"run_id": run.info.run_id, "val_top1": last["top1"], "val_cmap": last["cmap"],
                      "test_top1": out["test_top1"], "test_cmap": out["test_cmap"], "raw": raw,
                      "calls_per_sample": out["calls_per_sample"], "failures": out["failures"],
                      "utility_kept": out["test_top1"] / max(raw["test"]["top1"], 1e-9),
                      "cmap_drop": raw["test"]["cmap"] - out["test_cmap"], "checkpoint": str(ckpt)}
            score = last["top1"] - last["cmap"]
            model_dir = save_model(home / "models" / "anonymizer" / run.info.run_id, out["theta"],
                                   {**result, "settings": out["settings"], "score": score})
            import mlflow

            mlflow.log_artifact(str(image_grid(setting, out["theta"], model_dir / "grid.png")))
            result["model_dir"] = str(model_dir)
            result["fit_seconds"] = round(time.perf_counter() - t0, 1)
            tracking.log_metrics({k: v for k, v in result.items() if k not in ("run_id",)})
            if register:
                result["version"], result["promoted"] = tracking.register_model(
                    model_dir, ANONYMIZER_MODEL, score, scored_on={
                        "setting": "1", "data": f"{cfg.n_train}-{cfg.n_test}-{cfg.seed}-{cfg.classifier_steps}"})
            else:
                mlflow.log_artifacts(str(model_dir), artifact_path="model")
    finally:
        close()
    log.info("anonymizer fit: %s", result)
    return result


def _progress(total: int, enabled: bool, shown: tuple[str, ...] = ("top1", "cmap")
              ) -> Callable[[dict[str, Any]], None]:
    """A tqdm bar moved at each validation point (steps between points are cheap and silent)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="anonymizer fit", unit="step", disable=not enabled)

    def update(row: dict[str, Any]) -> None:
        bar.update(row["step"] - bar.n)
        bar.set_postfix(**{k: f"{row[k]:.3f}" for k in shown}, calls=f"{row['calls_per_sample']:.0f}")
        if row["step"] >= total:
            bar.close()
    return update


def run_study(cfg: BlackBoxConfig, out_dir: str | Path | None = None, home: str | Path | None = None,
              progress: bool = True) -> dict[str, Any]:
    """The whole study (sppe_ray.blackbox.study) on ``cfg.study_endpoint``: study.json, study.md and calls.png in
    ``out_dir`` (default <home>/anonymizer-study), every row's scores in one MLflow run."""
    from tqdm.auto import tqdm

    from sppe_ray import tracking
    from sppe_ray.blackbox import study
    from sppe_ray.report.anonymizer import calls_plot, tables

    t0 = time.perf_counter()
    home = Path(home) if home else sppe_home()
    out = Path(out_dir) if out_dir else home / "anonymizer-study"
    out.mkdir(parents=True, exist_ok=True)
    setting = load_setting(cfg, home)
    main = fit_settings(cfg)
    rows = study.plan(main, cfg.study_steps, cfg.study_seeds)
    bar = tqdm(total=len(rows), desc="anonymizer study", unit="row", disable=not progress)
    answer, close = open_blackbox(cfg, setting.utility, cfg.study_endpoint)
    try:
        with tracking.start_run(EXPERIMENT, "anonymizer-study", config={"blackbox": cfg.model_dump()},
                                tags={"task": "anonymizer-study", "setting": "1"}, home=home) as run:
            def told(name: str) -> None:
                bar.set_postfix_str(name[:40])
                bar.update(1)

            result = study.run(setting, main, cfg.study_steps, cfg.study_seeds, answer, progress=told)
            bar.close()
            result["seconds"] = round(time.perf_counter() - t0, 1)
            result["run_id"] = run.info.run_id
            (out / "study.json").write_text(json.dumps(result, indent=1, default=str))
            (out / "study.md").write_text(tables(result))
            calls_plot(result, out / "calls.png")
            for r in result["rows"]:
                prefix = f"{r['table']}/{r['name']}/"
                tracking.log_metrics({prefix + k: r[k][0] for k in ("top1", "cmap", "calls_per_sample",
                                                                    "calls_to_target") if r[k] is not None})
            import mlflow

            mlflow.log_artifacts(str(out), artifact_path="study")
    finally:
        close()
    return result


def editor_score(row: dict[str, Any]) -> float:
    """Setting 2's champion score: validation editability times the private region's mean change over tau
    (capped at 1). Editability alone would crown the identity (1.0 by construction), which hides nothing."""
    from sppe_ray.blackbox.editor_setting import TAU

    return float(row["editability"] * min(1.0, row["private_change"] / TAU))


def fit_editor_anonymizer(cfg: Any, benchmark: str | Path, home: str | Path | None = None, register: bool = True,
                          progress: bool = True) -> dict[str, Any]:
    """Setting 2: fit against ``cfg.editor`` on ``benchmark``'s pairs, log, register `sppe-anonymizer-editor`
    (champion score: ``editor_score``, compared among fits on the same pairs, editor and embedder)."""
    from sppe_ray import tracking
    from sppe_ray.blackbox.editor_setting import EditorAnswer, fit_editor, load_samples
    from sppe_ray.config_names import EDITOR_ANONYMIZER_MODEL
    from sppe_ray.editors import create_editor
    from sppe_ray.embed import create_image_embedder
    from sppe_ray.shards import manifest_hash

    t0 = time.perf_counter()
    bb, home = cfg.blackbox, Path(home) if home else sppe_home()
    train = load_samples(benchmark, "train", bb.editor_samples, bb.editor_size, bb.seed)
    val = load_samples(benchmark, "val", bb.editor_val_samples, bb.editor_size, bb.seed)
    editor = create_editor(cfg.editor.name, **cfg.editor.model_dump(exclude={"name"}))
    embedder = create_image_embedder(cfg.embed.image, **({"model": cfg.embed.model} if cfg.embed.image == "clip"
                                                         else {}))
    settings = fit_settings(bb, steps=bb.editor_steps, batch=bb.editor_batch,
                            eval_every=max(1, min(bb.eval_every, bb.editor_steps // 6)))
    digest = manifest_hash(benchmark)
    tools = json.dumps([cfg.editor.model_dump(), cfg.embed.model_dump(), len(train), len(val), bb.editor_size],
                       sort_keys=True, default=str)
    key = f"{checkpoint_dir(home, settings, bb).name}-{digest[:8]}-{hashlib.sha256(tools.encode()).hexdigest()[:8]}"
    ckpt = home / "checkpoints" / "anonymizer-editor" / key
    bar = _progress(settings.steps, progress, ("editability", "private_change"))
    with tracking.start_run(EXPERIMENT, f"anonymizer-editor-{settings.optimizer}", manifest_hash=digest,
                            config={"blackbox": bb.model_dump(), "editor": cfg.editor.name},
                            tags={"task": "anonymizer", "setting": "2"}, params={"checkpoint": str(ckpt)},
                            home=home) as run:
        def on_eval(row: dict[str, Any]) -> None:
            tracking.log_metrics({f"val/{k}": v for k, v in row.items() if k != "step"}, step=row["step"])
            bar(row)

        out = fit_editor(train, val, settings, EditorAnswer(editor), embedder, ckpt, on_eval, bb.retries)
        _log_curve(run.info.run_id, out["curve"])
        last = out["history"][-1]
        result = {"run_id": run.info.run_id, "val_editability": last["editability"],
                  "val_private_change": last["private_change"], "start": out["start"],
                  "calls_per_sample": out["calls_per_sample"],
                  "source_and_validation_calls": out["source_and_validation_calls"],
                  "failures": out["failures"], "checkpoint": str(ckpt), "editor": editor.name}
        model_dir = save_model(home / "models" / "anonymizer-editor" / run.info.run_id, out["theta"],
                               {**result, "settings": out["settings"], "benchmark_manifest_hash": digest})
        result["model_dir"] = str(model_dir)
        result["fit_seconds"] = round(time.perf_counter() - t0, 1)
        tracking.log_metrics({k: v for k, v in result.items() if k != "run_id"})
        if register:
            result["version"], result["promoted"] = tracking.register_model(
                model_dir, EDITOR_ANONYMIZER_MODEL, editor_score(last),
                scored_on={"benchmark_manifest_hash": digest, "split": "val", "data": tools})
        else:
            import mlflow

            mlflow.log_artifacts(str(model_dir), artifact_path="model")
    return result


COMPARED = ["learned", "default", "blur", "pixelate", "fill", "inpaint"]


def run_editor_study(cfg: Any, benchmark: str | Path, out_dir: str | Path, home: str | Path | None = None,
                     progress: bool = True) -> dict[str, Any]:
    """Setting 2 of the study: fit against the editor, then build the same scenes with `learned` beside the
    classical strategies (each category's own, blur, pixelate, fill, inpaint) and compare, per strategy, the
    benchmark's editability label, its privacy-check pass rate, identity distance and OCR similarity.

    The build's workers use the anonymizer just fitted (`blackbox.learned_model`), whatever the registry holds."""
    from sppe_ray.config import SPPEConfig
    from sppe_ray.pipelines.build import build_benchmark

    fitted = fit_editor_anonymizer(cfg, benchmark, home, register=True, progress=progress)
    tree = cfg.model_dump()
    tree["blackbox"]["learned_model"] = fitted["model_dir"]
    tree["build"].update(n_scenes=cfg.blackbox.editor_eval_scenes, strategies=COMPARED, instructions_per_scene=2,
                         strategies_per_scene=len(COMPARED))  # every strategy on every scene: paired comparison
    # one folder per fitted model: a build resumes by its settings, which do not name the learned model's weights
    folder = Path(out_dir) / f"editor-comparison-{fitted['run_id'][:12]}"
    built = build_benchmark(SPPEConfig.model_validate(tree), folder, progress=progress)
    return {"fit": fitted, "strategies": compare_strategies(built["path"], built["surrogate_pass_rate"]),
            "build_seconds": built["seconds"]}


def compare_strategies(benchmark: str | Path, pass_rates: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Per resolved strategy: samples, mean editability, check pass rate, mean identity distance (face regions)
    and mean OCR similarity (text regions); ``classical`` pools every strategy but `learned`."""
    from sppe_ray.shards import read_benchmark

    rows = read_benchmark(benchmark, columns=["strategy", "editability", "provenance"]).to_pylist()
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["strategy"], []).append(r)
        if r["strategy"] != "learned":
            groups.setdefault("classical", []).append(r)

    def mean(values: list[float | None]) -> float | None:
        kept = [v for v in values if v is not None]
        return float(np.mean(kept)) if kept else None

    out = {}
    for name, rs in groups.items():
        checks = [c for r in rs for c in json.loads(r["provenance"])["surrogate_checks"]]
        rate = pass_rates.get(name, {}).get("rate") if name != "classical" else None
        out[name] = {"samples": len(rs), "editability": mean([r["editability"] for r in rs]), "pass_rate": rate,
                     "identity_distance": mean([c.get("identity_distance") for c in checks]),
                     "text_similarity": mean([c.get("text_similarity") for c in checks])}
    if "learned" in pass_rates and "learned" not in out:
        out["learned"] = {"samples": 0, "editability": None, "pass_rate": pass_rates["learned"]["rate"],
                          "identity_distance": None, "text_similarity": None}
    return out
