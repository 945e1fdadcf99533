"""The `sppe` command and the `jobs/*.py` scripts: one implementation.

Every job script is `run_job("<command>")`, so `sppe eval` and `ray job submit -- python jobs/eval.py` take the
same flags and do the same thing. Expected errors (SPPEError, including a wrong name in a config) print one
line and exit with code 2, before Ray starts where they can.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from sppe_ray import __version__
from sppe_ray.config import SPPEConfig, load_config, sppe_home
from sppe_ray.errors import SPPEError

HELP = """sppe-ray: benchmark, train, evaluate and serve surrogate-based privacy-preserving image editing.

Start with `sppe eval` (builds sppe-mini and fits the models when they are missing, then evaluates every
method). Commands that read the configuration take --config FILE.yaml and repeated --set section.key=value;
`sppe config --explain` lists every key and `sppe list` every registered name. Home: $SPPE_HOME (default
./.sppe)."""

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, rich_markup_mode=None)
train_app = typer.Typer(no_args_is_help=True, help="Fit a model with Ray Train and register it in MLflow.")
app.add_typer(train_app, name="train")

ConfigOpt = Annotated[str | None, typer.Option("--config", "-c", help="YAML config file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="override section.key=value (repeat)")]
BenchmarkOpt = Annotated[Path | None, typer.Option(help="benchmark folder (default: eval.benchmark, else "
                                                        "<home>/benchmarks/<build.name>)")]
ResumeOpt = Annotated[Path | None, typer.Option(help="checkpoint folder of an earlier fit to continue")]
NoRegisterOpt = Annotated[bool, typer.Option("--no-register", help="log the model to MLflow but do not "
                                                                   "register it")]


def _fail_cleanly(fn):
    """Turn expected errors into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SPPEError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")


#: the job script of each command (`ray job submit -- python jobs/eval.py` runs `sppe eval`)
JOB_SCRIPTS = {"eval": "eval.py", "build": "build_benchmark.py", "train erma": "train_erma.py",
               "train recovery": "train_recovery.py", "anonymize": "anonymize_dataset.py",
               "eval-anonymization": "eval_anonymization.py", "train anonymizer": "train_anonymizer.py",
               "anonymizer-study": "anonymizer_study.py"}


def run_job(command: str, argv: list[str] | None = None) -> int:
    """Run one `sppe` command as a job script does (`jobs/eval.py` is `run_job("eval")`); returns the exit code.

    The command's own click object runs, so `--help` reads `Usage: jobs/eval.py [OPTIONS]`."""
    cmd = typer.main.get_command(app)
    for word in command.split():
        cmd = cmd.commands[word]  # type: ignore[attr-defined]
    _main(verbose=False)
    try:
        cmd.main(args=sys.argv[1:] if argv is None else argv, prog_name=f"jobs/{JOB_SCRIPTS[command]}")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _config(config: str | None, overrides: list[str] | None) -> SPPEConfig:
    return load_config(config, overrides or [])


def default_benchmark(cfg: SPPEConfig) -> Path:
    from sppe_ray.pipelines.build import default_benchmark_dir

    return default_benchmark_dir(cfg)


def info_dict(cfg: SPPEConfig) -> dict:
    from sppe_ray import taxonomy
    from sppe_ray.backends import backend_status, champion_status

    versions = {}
    for dist in ("ray", "mlflow", "torch", "torchvision", "transformers", "diffusers", "pyiqa",
                 "opencv-contrib-python-headless", "numpy"):
        try:  # package metadata, not imports: `info` must stay fast and must not break on a broken install
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    from sppe_ray.tracking import tracking_uri

    return {
        "version": __version__,
        "home": str(sppe_home()),
        "categories": len(taxonomy.CATEGORIES),
        "instructions": len(taxonomy.INSTRUCTIONS),
        "task_tags": sorted({i.task_tag for i in taxonomy.INSTRUCTIONS.values()}),
        "default_benchmark": str(default_benchmark(cfg)),
        "mlflow_tracking_uri": tracking_uri(),
        "backends": {**backend_status(cfg), **champion_status()},
        "versions": versions,
        "config": cfg.model_dump(),
    }


@app.command()
@_fail_cleanly
def info(as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
         config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Versions, resolved home, taxonomy counts, and which backends this machine can use."""
    data = info_dict(_config(config, set_))
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True))
        return
    typer.echo(f"sppe-ray {data['version']}  home={data['home']}")
    typer.echo(f"taxonomy: {data['categories']} categories, {data['instructions']} instructions")
    typer.echo(f"mlflow: {data['mlflow_tracking_uri']}")
    for name, st in data["backends"].items():
        mark = "yes" if st["available"] else "no "
        detail = f"v{st['version']}" if st.get("version") else ("" if st["available"] else st["reason"])
        typer.echo(f"  [{mark}] {name:36s} {detail}")
    typer.echo("versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()))


@app.command("config")
@_fail_cleanly
def config_cmd(explain: Annotated[bool, typer.Option("--explain", help="every key with its type, default and "
                                                                     "meaning")] = False,
               markdown: Annotated[bool, typer.Option("--markdown", help="with --explain: the table of "
                                                                       "docs/configuration.md")] = False,
               config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the effective configuration as YAML (all layers applied and checked), or explain every key."""
    from sppe_ray.config import config_to_yaml, explain_config

    cfg = _config(config, set_)
    typer.echo(explain_config(cfg, markdown=markdown) if explain else config_to_yaml(cfg), nl=False)


@app.command("list")
def list_cmd(kind: Annotated[str | None, typer.Argument(help="editors, image-embedders, text-embedders, "
                                                            "detectors, strategies, recovery, iqa, anonymizers, "
                                                            "optimizers, objectives")] = None,
             as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False) -> None:
    """The names each registry knows (what a config may name), with what each needs."""
    from sppe_ray.config_names import registries

    regs = registries()
    if kind is not None and kind not in regs:
        typer.echo(f"error: unknown registry {kind!r}; known: {', '.join(regs)}", err=True)
        raise typer.Exit(2)
    chosen = {k: r for k, r in regs.items() if kind in (None, k)}
    if as_json:
        typer.echo(json.dumps({k: r.describe() for k, r in chosen.items()}, sort_keys=True))
        return
    for name, reg in chosen.items():
        typer.echo(f"{name} ({reg.setting}):")
        for e in reg.describe():
            needs = [w for w, on in (("weights", e["needs_weights"]), (f"gpu {e['gpu']}", e["gpu"] != "no"),
                                     ("lower is better", e["lower_better"])) if on]
            typer.echo(f"  {e['name']:20s} {e['summary']}" + (f"  [{', '.join(needs)}]" if needs else ""))


@app.command()
def validate(path: Annotated[Path, typer.Argument(help="benchmark folder")]) -> None:
    """Check a benchmark folder: manifest, schema, shard checksums and counts."""
    from sppe_ray.shards import verify_benchmark

    problems = verify_benchmark(path)
    if problems:
        typer.echo(f"invalid benchmark {path}: {problems[0]}" + (f" (+{len(problems) - 1} more)"
                                                                 if len(problems) > 1 else ""), err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {path}")


@app.command()
@_fail_cleanly
def build(out: Annotated[Path | None, typer.Option(help="output folder (default <home>/benchmarks/<name>)")] = None,
          images: Annotated[Path | None, typer.Option(help="build from your own folder of images (named "
                                                           "images-<folder>, never sppe-mini)")] = None,
          config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Build a benchmark (default: sppe-mini under <home>/benchmarks). Resumable: re-run after a kill."""
    from sppe_ray.pipelines.build import build_benchmark
    from sppe_ray.runtime import init_ray

    cfg = _config(config, set_)
    if images is not None:
        if not images.is_dir():
            raise SPPEError(f"--images {images} is not a folder")
        cfg.build.images = str(images)
    target = out or default_benchmark(cfg)
    init_ray(cfg.ray.num_cpus)
    typer.echo(json.dumps(build_benchmark(cfg, target), sort_keys=True))


@app.command("import-sppe")
@_fail_cleanly
def import_sppe_cmd(root: Annotated[Path, typer.Argument(help="folder in the published SPPE layout")],
                    out: Annotated[Path, typer.Argument(help="benchmark folder to write")],
                    labels: Annotated[Path | None, typer.Option(help="labels JSON")] = None) -> None:
    """Import a published SPPE benchmark folder as a benchmark (Parquet shards + manifest)."""
    from sppe_ray.datasets import import_sppe

    manifest = import_sppe(root, out, labels_json=labels)
    typer.echo(json.dumps({"path": str(out), "counts": manifest["counts"],
                           "skipped": manifest.get("skipped", {})}, sort_keys=True))


class Fit(str, Enum):
    auto = "auto"
    never = "never"


@app.command("eval")
@_fail_cleanly
def evaluate(benchmark: Annotated[Path | None, typer.Option(help="benchmark folder (default: build or reuse "
                                                                  "<home>/benchmarks/<build.name>)")] = None,
             summary_json: Annotated[Path | None, typer.Option(help="also write summary.json here")] = None,
             fit: Annotated[Fit, typer.Option(help="auto: on the default benchmark, fit ERMA and C2E-S2SER when "
                                                   "the registry has no champion; never: evaluate only")] = Fit.auto,
             config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Evaluate every available method on a benchmark: MLflow run, summary.json and an HTML report.

    With no --benchmark (and no eval.benchmark) it builds the default benchmark if it is missing and fits the
    missing champions first, so one command on a fresh machine gives the full evaluation."""
    import time

    from sppe_ray.pipelines.evaluate import run_evaluation

    cfg = _config(config, set_)
    setup: dict = {"timings_s": {}}
    if benchmark is None and cfg.eval.benchmark is None:
        from sppe_ray.pipelines.build import ensure_benchmark
        from sppe_ray.runtime import init_ray

        init_ray(cfg.ray.num_cpus)
        start = time.perf_counter()
        benchmark = ensure_benchmark(cfg)
        setup["timings_s"]["build"] = round(time.perf_counter() - start, 3)
        if fit == Fit.auto:
            from sppe_ray.train.champions import fit_missing_champions

            setup["fits"], fit_times = fit_missing_champions(cfg, benchmark)
            setup["timings_s"].update(fit_times)
    summary = run_evaluation(cfg, benchmark=benchmark, summary_json=summary_json, setup=setup)
    typer.echo(f"report: {summary['output']}/report.html", err=True)
    typer.echo(json.dumps({"output": summary["output"], "timings_s": summary["timings_s"]}, sort_keys=True))


def _training_benchmark(cfg: SPPEConfig, benchmark: Path | None) -> Path:
    """The benchmark a fit reads, checked before Ray starts (a missing one is one BenchmarkError line)."""
    from sppe_ray.pipelines.build import chosen_benchmark
    from sppe_ray.shards import read_manifest

    path = chosen_benchmark(cfg, benchmark)
    read_manifest(path)
    return path


@train_app.command("erma")
@_fail_cleanly
def train_erma(benchmark: BenchmarkOpt = None, resume_from: ResumeOpt = None, no_register: NoRegisterOpt = False,
               ablations: Annotated[bool, typer.Option("--ablations", help="also fit and log every ablation "
                                                       "(no_relation, no_instruction, no_mask, no_detectors; "
                                                       "never registered)")] = False,
               config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Fit ERMA (editability) and register `sppe-erma`; `champion` moves only when validation SRCC improves."""
    from sppe_ray.runtime import init_ray
    from sppe_ray.train.erma import ABLATIONS, fit_erma, run_ablations

    cfg = _config(config, set_)
    path = _training_benchmark(cfg, benchmark)
    init_ray(cfg.ray.num_cpus)
    result: dict = fit_erma(path, cfg.erma, register=not no_register, resume_from=resume_from)
    if ablations:
        result = {"fit": result, "ablations": run_ablations(path, cfg.erma, names=tuple(ABLATIONS))}
    typer.echo(json.dumps(result, default=str, sort_keys=True))


@train_app.command("recovery")
@_fail_cleanly
def train_recovery(benchmark: BenchmarkOpt = None, resume_from: ResumeOpt = None,
                   no_register: NoRegisterOpt = False, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Fit C2E-S2SER (recovery.backend: c2e_net or c2e_diffusion) and register it; `champion` moves only when
    validation improves."""
    from sppe_ray.runtime import init_ray
    from sppe_ray.train.recovery import fit_recovery

    cfg = _config(config, set_)
    path = _training_benchmark(cfg, benchmark)
    init_ray(cfg.ray.num_cpus)
    result = fit_recovery(path, cfg.recovery, register=not no_register, resume_from=resume_from)
    typer.echo(json.dumps(result, default=str, sort_keys=True))


@train_app.command("anonymizer")
@_fail_cleanly
def train_anonymizer(setting: Annotated[int | None, typer.Option(help="1: the recognition task (default "
                                                                      "blackbox.setting); 2: the editor as the "
                                                                      "black box, on --benchmark's pairs")] = None,
                     benchmark: BenchmarkOpt = None, no_register: NoRegisterOpt = False, config: ConfigOpt = None,
                     set_: SetOpt = None) -> None:
    """Fit the black-box anonymizer (blackbox.*) and register it: setting 1 as `sppe-anonymizer` (queries
    through blackbox.endpoint), setting 2 as `sppe-anonymizer-editor` (the `learned` surrogate strategy);
    `champion` moves only when validation improves. Re-run after a kill to resume from the last checkpoint."""
    from sppe_ray.train.anonymizer import fit_anonymizer, fit_editor_anonymizer

    cfg = _config(config, [*(set_ or []), *([f"blackbox.setting={setting}"] if setting is not None else [])])
    if cfg.blackbox.setting == 2:
        result = fit_editor_anonymizer(cfg, _training_benchmark(cfg, benchmark), register=not no_register)
    else:
        _ray_for_blackbox(cfg.blackbox.endpoint, cfg)
        result = fit_anonymizer(cfg.blackbox, register=not no_register)
    typer.echo(json.dumps(result, default=str, sort_keys=True))


def _ray_for_blackbox(endpoint: str, cfg: SPPEConfig) -> None:
    if endpoint in ("ray", "serve"):
        from sppe_ray.runtime import init_ray

        init_ray(cfg.ray.num_cpus)


@app.command("anonymizer-study")
@_fail_cleanly
def anonymizer_study(out: Annotated[Path | None, typer.Option(help="folder for study.json, study.md and calls.png "
                                                                   "(default <home>/anonymizer-study)")] = None,
                     part: Annotated[str, typer.Option(help="1: setting 1's tables; 2: setting 2 (fit against "
                                                           "the editor, then `learned` beside the classical "
                                                           "strategies); all: both")] = "all",
                     benchmark: BenchmarkOpt = None, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """The black-box anonymizer study: the paper's Tables 1, 5, 6 and 7 in shape on setting 1 (heuristics,
    objectives, optimisers at an equal call budget, the scheme's ablations, the validated defaults), then
    setting 2 on --benchmark (default sppe-mini)."""
    from sppe_ray.report.anonymizer import editor_table, tables
    from sppe_ray.train.anonymizer import run_editor_study, run_study

    if part not in ("1", "2", "all"):
        raise SPPEError(f"--part {part!r}: 1, 2 or all")
    cfg = _config(config, set_)
    target = out or sppe_home() / "anonymizer-study"
    if part in ("1", "all"):
        _ray_for_blackbox(cfg.blackbox.study_endpoint, cfg)
        result = run_study(cfg.blackbox, target)
        typer.echo(tables(result))
        typer.echo(json.dumps({"seconds": result["seconds"], "run_id": result["run_id"]}))
    if part in ("2", "all"):
        editor = run_editor_study(cfg, _training_benchmark(cfg, benchmark), target)
        (target / "editor_study.json").write_text(json.dumps(editor, indent=1, default=str))
        (target / "editor_study.md").write_text(editor_table(editor))
        typer.echo(editor_table(editor))


def _anonymize_input(cfg: SPPEConfig, src: Path | None) -> Path:
    """The folder to anonymize: ``src``, the sources of a benchmark folder, or the default anon-mini."""
    from sppe_ray.pipelines.anonymize import benchmark_sources, default_dataset

    if src is None:
        return default_dataset(cfg)
    if not src.is_dir():
        raise SPPEError(f"input {src} is not a folder")
    if (src / "manifest.json").is_file():  # a benchmark: its distinct source images
        from sppe_ray.shards import manifest_hash

        name = f"{src.resolve().name}-{manifest_hash(src)[:8]}"  # two benchmarks of one name stay apart
        return benchmark_sources(src, sppe_home() / "anonymization" / "sources" / name)
    return src


@app.command()
@_fail_cleanly
def anonymize(src: Annotated[Path | None, typer.Argument(help="folder of images (any depth; the parent folder "
                                                               "is the class), or a benchmark folder (its "
                                                               "sources); default: anon-mini, built offline")] = None,
              out: Annotated[Path | None, typer.Argument(help="output folder (default <home>/anonymization/"
                                                              "<input>/<method>)")] = None,
              method: Annotated[str | None, typer.Option(help="stage 2 method (default anonymize.method; "
                                                              "`sppe list anonymizers`)")] = None,
              stage1_from: Annotated[Path | None, typer.Option(help="reuse stage 1 (flags, captions, regions) of "
                                                                    "an earlier output of the same input")] = None,
              config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Anonymize a data set: flag and caption every image, rewrite only its private regions, write the images,
    the published manifest (manifest.csv) and per-image records. Resumable: re-run after a kill."""
    from sppe_ray.pipelines.anonymize import anonymize_folder

    cfg = _config(config, set_)
    data = _anonymize_input(cfg, src)
    method = method or cfg.anonymize.method
    target = out or sppe_home() / "anonymization" / data.name / method
    summary = anonymize_folder(cfg, data, target, method=method, stage1_from=stage1_from)
    typer.echo(f"manifest: {target}/manifest.csv", err=True)
    typer.echo(json.dumps(summary, sort_keys=True))


@app.command("eval-anonymization")
@_fail_cleanly
def eval_anonymization(data: Annotated[Path | None, typer.Option(help="folder of images or benchmark (default: "
                                                                      "anon-mini)")] = None,
                       out: Annotated[Path | None, typer.Option(help="report folder (default <home>/anonymization/"
                                                                     "eval/<data>-<time>)")] = None,
                       config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run every method of anonymize.methods on a data set and measure quality, cheating, privacy and utility:
    summary.json, per_image.csv, report.html and an MLflow run (experiment sppe-anonymization)."""
    from sppe_ray.pipelines.eval_anonymization import run_anonymization_eval

    cfg = _config(config, set_)
    summary = run_anonymization_eval(cfg, _anonymize_input(cfg, data), out)
    typer.echo(f"report: {summary['output']}/report.html", err=True)
    typer.echo(json.dumps({"output": summary["output"], "timings_s": summary["timings_s"],
                           "mlflow_run_id": summary["mlflow_run_id"]}, sort_keys=True))


@app.command()
@_fail_cleanly
def compare(run_a: Annotated[str, typer.Argument(help="MLflow run id A")],
            run_b: Annotated[str, typer.Argument(help="MLflow run id B")]) -> None:
    """Print the metric differences between two MLflow runs (B - A)."""
    from sppe_ray.tracking import compare_runs

    for key, (a, b) in sorted(compare_runs(run_a, run_b).items()):
        delta = "" if a is None or b is None else f"{b - a:+.4f}"
        typer.echo(f"{key:60s} {a if a is not None else '-':>10} {b if b is not None else '-':>10} {delta}")


@app.command("serve")
@_fail_cleanly
def serve_cmd(host: Annotated[str | None, typer.Option(help="bind address (default serve.host, 127.0.0.1)")] = None,
              port: Annotated[int | None, typer.Option(help="HTTP port (default serve.port, 8000)")] = None,
              token: Annotated[str | None, typer.Option(help="bearer token (default SPPE_SERVE_TOKEN, serve.token, "
                                                             "or a new one in <home>/serve/token)")] = None,
              editor_url: Annotated[str | None, typer.Option(help="cloud editor URL (default: start the reference "
                                                                  "editor on loopback)")] = None,
              config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Serve protection, editability, recovery and the privacy gateway over HTTP (local Ray, Ray Serve)."""
    from sppe_ray.runtime import init_ray
    from sppe_ray.serve.app import resolve_versions
    from sppe_ray.serve.run import EditorServer, deploy, serve_token, wait_forever

    overrides = list(set_ or [])
    cfg = _config(config, overrides)
    resolve_versions(cfg.serve)  # no champion: one line, before Ray or an editor starts
    editor = None
    if not (editor_url or cfg.serve.editor_url):
        editor = EditorServer().start()
        editor_url = editor.url
        typer.echo(f"reference editor (procedural) at {editor.url}", err=True)
    if editor_url:
        overrides.append(f"serve.editor_url={editor_url}")
    secret, where = serve_token(cfg) if token is None else (token, None)
    if where is not None:
        typer.echo(f"bearer token written to {where}", err=True)
    init_ray(cfg.ray.num_cpus)
    url = deploy(config, overrides, secret, host=host or cfg.serve.host, port=port or cfg.serve.port)
    typer.echo(f"serving at {url}", err=False)
    sys.stdout.flush()
    try:
        wait_forever()
    finally:
        from ray import serve

        serve.shutdown()
        if editor is not None:
            editor.stop()


@app.command("edit")
@_fail_cleanly
def edit_cmd(image: Annotated[Path, typer.Argument(help="the private photo")],
             instruction: Annotated[str, typer.Argument(help="instruction text or code 001-065")],
             url: Annotated[str, typer.Option(help="gateway URL")] = "http://127.0.0.1:8000",
             token: Annotated[str | None, typer.Option(help="bearer token (default SPPE_SERVE_TOKEN or "
                                                            "<home>/serve/token)")] = None,
             out: Annotated[Path | None, typer.Option(help="where to write the edited photo "
                                                          "(default <image>.edited.png)")] = None,
             min_editability: Annotated[float | None, typer.Option(help="refuse below this ERMA score")] = None,
             mask: Annotated[Path | None, typer.Option(help="mask PNG (white = private) instead of detection")] = None
             ) -> None:
    """Edit a private photo through the gateway; prints the decision record as JSON."""
    from sppe_ray.imageio import decode_mask
    from sppe_ray.serve.client import Client, ServeError

    if not image.is_file():
        raise SPPEError(f"image not found: {image}")
    token_file = sppe_home() / "serve" / "token"
    token = token or os.environ.get("SPPE_SERVE_TOKEN") or (
        token_file.read_text().strip() if token_file.is_file() else None)
    m = decode_mask(mask.read_bytes()) if mask else None
    try:
        result = Client(url, token).edit(image, instruction, mask=m, min_editability=min_editability)
    except ServeError as exc:
        if exc.body.get("decision"):
            typer.echo(json.dumps(exc.body["decision"], indent=1, sort_keys=True))
        raise
    except Exception as exc:  # connection refused and the like: one line, not a traceback
        raise SPPEError(f"cannot reach the gateway at {url}: {type(exc).__name__}: {exc}") from None
    target = result.save(out or image.with_suffix(".edited.png"))
    typer.echo(json.dumps({"output": str(target), "decision": result.decision, "models": result.models},
                          indent=1, sort_keys=True))


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
