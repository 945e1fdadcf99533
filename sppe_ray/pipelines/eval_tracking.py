"""One MLflow run per evaluation: provenance params, flattened metrics, and the report/tables as artifacts.

Why a separate public report: the local report shows private source images (it stays under SPPE_HOME); the
copy logged to MLflow, which may be a shared server, has no image grids and no per-sample results unless
`tracking.log_private_images` is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sppe_ray.config import SPPEConfig

_EDIT_KEYS = ("srcc", "plcc", "plcc_logistic", "krcc")
_PRIVACY_KEYS = ("pixel_leak", "pixel_leak_any", "identity_leak_rate", "ocr_leak_rate")


def flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """`editability/<method>/srcc`, `recovery/<method>/<metric>`, `privacy/<key>`, `timings_s/<stage>`."""
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)

    for method, s in summary.get("editability", {}).items():
        for k in _EDIT_KEYS:
            put(f"editability/{method}/{k}", s.get(k))
        lo, hi = s.get("srcc_ci", [None, None])
        put(f"editability/{method}/srcc_lo", lo)
        put(f"editability/{method}/srcc_hi", hi)
        put(f"editability/{method}/n", s.get("n"))
    for method, s in summary.get("recovery", {}).items():
        for k, v in s.items():
            if k != "ci":
                put(f"recovery/{method}/{k}", v)
    privacy = summary.get("privacy", {})
    for k in _PRIVACY_KEYS:
        put(f"privacy/{k}", privacy.get(k))
    for strategy, block in privacy.get("by_strategy", {}).items():
        for k in _PRIVACY_KEYS:
            put(f"privacy/{strategy}/{k}", block.get(k))
    comparisons = summary.get("comparisons", {})
    for stat, block in comparisons.get("editability", {}).items():
        if isinstance(block, dict):
            put(f"comparisons/editability/{stat}_diff", block.get("diff"))
            put(f"comparisons/editability/{stat}_ratio", block.get("ratio"))
            put(f"comparisons/editability/{stat}_diff_lo", (block.get("ci") or [None])[0])
    for metric, block in comparisons.get("recovery", {}).items():
        if isinstance(block, dict):
            put(f"comparisons/recovery/{metric}_diff", block.get("diff"))
            put(f"comparisons/recovery/{metric}_diff_lo", (block.get("ci") or [None])[0])
    for stage, secs in summary.get("timings_s", {}).items():
        put(f"timings_s/{stage}", secs)
    return out


def log_evaluation(out: Path, summary: dict[str, Any], cfg: SPPEConfig, mhash: str) -> str:
    """Log the run to experiment `sppe-eval`; returns the run id."""
    import mlflow

    from sppe_ray import tracking

    params = {"benchmark": summary["benchmark"]["path"], "split": summary["benchmark"]["split"],
              "editability_methods": sorted(summary.get("editability", {})),
              "recovery_methods": sorted(summary.get("recovery", {})), "output": str(out)}
    with tracking.start_run("sppe-eval", run_name=out.name, config=cfg, manifest_hash=mhash,
                            params=params, tags={"sppe.task": "evaluation"}) as run:
        tracking.log_metrics(flat_metrics(summary))
        mlflow.log_artifact(str(out / "summary.json"))
        if (out / "tables").is_dir():
            mlflow.log_artifacts(str(out / "tables"), artifact_path="tables")
        private = cfg.tracking.log_private_images
        report = out / ("report.html" if private else "report_public.html")
        if report.exists():
            mlflow.log_artifact(str(report))
        if private and (out / "results").is_dir():
            mlflow.log_artifacts(str(out / "results"), artifact_path="results")
        return run.info.run_id
