"""The `sppe` command. Thin: parse, load config, call the library; every SPPEError becomes one line + exit 2."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from sppe_ray import __version__
from sppe_ray.config import SPPEConfig, load_config, sppe_home
from sppe_ray.errors import SPPEError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
train_app = typer.Typer(no_args_is_help=True, help="Fit a model with Ray Train and register it in MLflow.")
app.add_typer(train_app, name="train")

ConfigOpt = Annotated[str | None, typer.Option("--config", "-c", help="YAML config file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="override section.key=value (repeat)")]


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


def _config(config: str | None, overrides: list[str] | None) -> SPPEConfig:
    return load_config(config, overrides or [])


def default_benchmark(cfg: SPPEConfig) -> Path:
    from sppe_ray.pipelines.build import default_benchmark_dir

    return default_benchmark_dir(cfg)


def info_dict(cfg: SPPEConfig) -> dict:
    from sppe_ray import taxonomy
    from sppe_ray.backends import backend_status

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
        "backends": backend_status(cfg.editor.model, cfg.embed.model),
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
        typer.echo(f"  [{mark}] {name:28s} {'' if st['available'] else st['reason']}")
    typer.echo("versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()))


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
def build(out: Annotated[Path | None, typer.Option(help="output folder")] = None,
          images: Annotated[Path | None, typer.Option(help="build from your own folder of images")] = None,
          config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Build a benchmark (default: sppe-mini under <home>/benchmarks)."""
    from sppe_ray.pipelines.build import build_benchmark
    from sppe_ray.runtime import init_ray

    cfg = _config(config, set_)
    if images is not None:
        cfg.build.images = str(images)
    init_ray(cfg.ray.num_cpus)
    summary = build_benchmark(cfg, out or default_benchmark(cfg))
    typer.echo(json.dumps(summary, indent=1, sort_keys=True))


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


@app.command("eval")
@_fail_cleanly
def evaluate(benchmark: Annotated[Path | None, typer.Option(help="benchmark folder")] = None,
             summary_json: Annotated[Path | None, typer.Option(help="also write summary.json here")] = None,
             config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Evaluate every available method on a benchmark; MLflow run + HTML report."""
    from sppe_ray.pipelines.evaluate import run_evaluation

    cfg = _config(config, set_)
    summary = run_evaluation(cfg, benchmark=benchmark, summary_json=summary_json)
    typer.echo(json.dumps(summary.get("timings_s", {}), sort_keys=True))


@train_app.command("erma")
@_fail_cleanly
def train_erma(benchmark: Annotated[Path | None, typer.Option()] = None,
               config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Fit ERMA (editability) and register `sppe-erma`."""
    from sppe_ray.runtime import init_ray
    from sppe_ray.train.erma import fit_erma

    cfg = _config(config, set_)
    init_ray(cfg.ray.num_cpus)
    result = fit_erma(benchmark or default_benchmark(cfg), cfg.erma)
    typer.echo(json.dumps(result, default=str, sort_keys=True))


@train_app.command("recovery")
@_fail_cleanly
def train_recovery(benchmark: Annotated[Path | None, typer.Option()] = None,
                   config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Fit C2E-S2SER (recovery) and register `sppe-c2e-s2ser`."""
    from sppe_ray.runtime import init_ray
    from sppe_ray.train.recovery import fit_recovery

    cfg = _config(config, set_)
    init_ray(cfg.ray.num_cpus)
    result = fit_recovery(benchmark or default_benchmark(cfg), cfg.recovery)
    typer.echo(json.dumps(result, default=str, sort_keys=True))


@app.command()
@_fail_cleanly
def compare(run_a: str, run_b: str) -> None:
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
