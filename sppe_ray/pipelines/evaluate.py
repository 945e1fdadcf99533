"""The evaluation job: every available method on one benchmark split -> results, summary, report, MLflow run.

Stages (each timed into ``timings_s``): verify the benchmark, plan the methods, compute per-sample results with
Ray Data (resumable, see `eval_compute`), aggregate with pandas, write the report, log to MLflow.
The default output folder is ``<home>/eval/<timestamp>-<key>`` where the key hashes the benchmark manifest and
the method plan: a re-run of the same evaluation finds the unfinished folder with its key and resumes there
instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sppe_ray.config import SPPEConfig, config_to_yaml, sppe_home
from sppe_ray.errors import BenchmarkError
from sppe_ray.pipelines.aggregate import summarize
from sppe_ray.pipelines.eval_compute import compute_results
from sppe_ray.pipelines.eval_plan import EvalPlan, make_plan
from sppe_ray.shards import manifest_hash, read_benchmark, read_manifest, verify_benchmark

log = logging.getLogger(__name__)
EXPERIMENT = "sppe-eval"
SUMMARY_NAME = "summary.json"
RESULT_COLUMNS = ["sample_id", "split", "category", "instruction_code", "task_tag", "strategy", "task", "method",
                  "score", "metrics", "error"]


class StageTimer:
    """Wall time per stage, in the order stages ran."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 3)


def resolve_benchmark(cfg: SPPEConfig, benchmark: Path | str | None) -> Path:
    """The benchmark folder (`build.chosen_benchmark`), which must exist."""
    from sppe_ray.pipelines.build import chosen_benchmark

    path = chosen_benchmark(cfg, benchmark)
    if not path.is_dir():
        raise BenchmarkError(f"benchmark folder {path} does not exist; build it with `sppe build` or pass "
                             "--benchmark")
    return path


def check_benchmark(path: Path) -> dict[str, Any]:
    """One BenchmarkError naming the first problem (and how many more), else the manifest."""
    problems = verify_benchmark(path)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BenchmarkError(f"benchmark {path} is not usable: {problems[0]}{more}")
    manifest = read_manifest(path)
    if manifest.get("schema", "benchmark") != "benchmark":
        raise BenchmarkError(f"{path} holds evaluation results, not a benchmark")
    return manifest


def evaluation_key(mhash: str, plan: EvalPlan, cfg: SPPEConfig) -> str:
    """Short hash of everything that changes a result row: benchmark contents, split, the method set, the model
    versions evaluated, OCR level, embedders and the bootstrap. A resumed run can never mix two models' rows."""
    described = plan.describe()
    ident = json.dumps({"benchmark": mhash, "split": cfg.eval.split, "methods": plan.editability_methods,
                        "recovery": [[m, name, {k: str(v) for k, v in kw.items()}] for m, name, kw in plan.recovery],
                        "models": described["models"], "ocr_detail": plan.ocr_detail,
                        "embed": [cfg.embed.image, cfg.embed.model, plan.recovery_embedder],
                        "bootstrap": cfg.eval.bootstrap}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:8]


def check_split(path: Path, manifest: dict[str, Any], split: str) -> None:
    """An evaluation of a split the benchmark does not hold is an error, never an empty summary."""
    by_split = manifest.get("counts", {}).get("by_split", {})
    if not by_split.get(split):
        held = ", ".join(f"{k} ({v})" for k, v in sorted(by_split.items()) if v) or "none"
        raise BenchmarkError(f"benchmark {path} has no {split!r} samples (eval.split); its splits: {held}")


def output_dir(cfg: SPPEConfig, key: str) -> Path:
    """`eval.output`, else an unfinished run folder with the same key (resume), else a new timestamped one."""
    if cfg.eval.output:
        return Path(cfg.eval.output).expanduser().resolve()
    root = sppe_home() / "eval"
    unfinished = sorted(p for p in root.glob(f"*-{key}") if p.is_dir() and not (p / SUMMARY_NAME).exists())
    if unfinished:
        log.info("resuming unfinished evaluation in %s", unfinished[-1])
        return unfinished[-1]
    return root / f"{time.strftime('%Y%m%d-%H%M%S')}-{key}"


def _clear_stale_results(out: Path, plan_record: dict[str, Any]) -> None:
    """Result shards computed under another plan cannot be mixed with new ones: remove them."""
    record = out / "plan.json"
    if record.exists() and json.loads(record.read_text()) != plan_record:
        log.warning("plan changed since %s was written; recomputing all results", out / "results")
        shutil.rmtree(out / "results", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(plan_record, indent=1, sort_keys=True))


def load_results(results_dir: Path) -> pd.DataFrame:
    return read_benchmark(results_dir, columns=RESULT_COLUMNS, checksums=False).to_pandas()


def run_evaluation(cfg: SPPEConfig, benchmark: Path | None = None, summary_json: Path | None = None, *,
                   use_registry: bool = True, log_mlflow: bool = True, report: bool = True,
                   setup: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate every available method; returns the summary dict (also written as summary.json).

    `setup` (what the job did before: benchmark build, champion fits, with their times) is kept in the summary.
    """
    timer = StageTimer()
    for stage, secs in (setup or {}).get("timings_s", {}).items():
        timer.timings[stage] = secs
    with timer.stage("verify"):
        bench = resolve_benchmark(cfg, benchmark)
        manifest = check_benchmark(bench)
        check_split(bench, manifest, cfg.eval.split)
        mhash = manifest_hash(bench)
    with timer.stage("plan"):
        plan = make_plan(cfg, use_registry=use_registry)
        key = evaluation_key(mhash, plan, cfg)
        out = output_dir(cfg, key)
        plan_record = {"key": key, "benchmark_manifest_hash": mhash, **plan.describe(), "split": cfg.eval.split,
                       "bootstrap": cfg.eval.bootstrap}
        _clear_stale_results(out, plan_record)
        (out / "config.yaml").write_text(config_to_yaml(cfg))
    with timer.stage("compute"):
        stats = compute_results(bench, out / "results", plan, cfg)
    with timer.stage("aggregate"):
        results = load_results(out / "results")
        labels = read_benchmark(bench, split=cfg.eval.split, columns=["sample_id", "editability"],
                                checksums=False).to_pandas()
        sections, tables = summarize(results, labels, cfg.eval.bootstrap, seed=0)
        summary = _summary(bench, manifest, mhash, cfg, plan, sections, stats, out)
        if setup:
            summary["setup"] = {k: v for k, v in setup.items() if k != "timings_s"}
        _write_tables(out / "tables", tables)
    if report:
        summary["timings_s"] = dict(timer.timings)
        with timer.stage("report"):
            from sppe_ray.report.html import write_reports

            write_reports(out, summary, tables, results, labels, bench, cfg)
    summary["timings_s"] = dict(timer.timings)
    _write_summary(out, summary, summary_json)
    if log_mlflow:
        with timer.stage("mlflow"):
            from sppe_ray.pipelines.eval_tracking import log_evaluation

            summary["mlflow_run_id"] = log_evaluation(out, summary, cfg, mhash)
        summary["timings_s"] = dict(timer.timings)
        _write_summary(out, summary, summary_json)
    return summary


def _summary(bench: Path, manifest: dict[str, Any], mhash: str, cfg: SPPEConfig, plan: EvalPlan,
             sections: dict[str, Any], stats: dict[str, Any], out: Path) -> dict[str, Any]:
    counts = manifest.get("counts", {})
    skipped = dict(plan.skipped)
    return {
        "benchmark": {"path": str(bench), "name": bench.name, "manifest_hash": mhash, "split": cfg.eval.split,
                      "total": counts.get("total"), "by_split": counts.get("by_split", {}),
                      "evaluated": int(counts.get("by_split", {}).get(cfg.eval.split, 0)),
                      "categories": len(counts.get("by_category", {})),
                      "instructions": len(counts.get("by_instruction", {}))},
        "editability": sections["editability"],
        "recovery": sections["recovery"],
        "privacy": sections["privacy"],
        "comparisons": sections.get("comparisons", {}),
        "skipped": skipped,
        "errors": sections["errors"],
        "models": dict(plan.models),
        "benchmark_fallbacks": manifest.get("fallbacks", {}),
        "resume": {k: v for k, v in stats.items() if k != "placement"},
        # result rows per Ray node that read / evaluated them in this run (resumed shards are not counted)
        "placement": stats.get("placement", {}),
        "output": str(out),
        "timings_s": {},
    }


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)


def _write_summary(out: Path, summary: dict[str, Any], extra: Path | None) -> None:
    """summary.json in the run folder (written last: its presence marks the run finished), latest, and copy."""
    text = json.dumps(summary, indent=1, sort_keys=False, default=str)
    targets = [out / SUMMARY_NAME, sppe_home() / "eval" / "latest" / SUMMARY_NAME]
    if extra is not None:
        targets.append(Path(extra))
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text)
        tmp.replace(target)
