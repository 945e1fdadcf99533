"""The evaluation report: one self-contained HTML file (tables, plots and image grids as data URIs).

Two files are written: `report.html` (local, under SPPE_HOME, with image grids of best and worst recoveries;
those show private source images) and `report_public.html` (the same without any image of a sample), which is
what goes to MLflow unless `tracking.log_private_images` is set.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sppe_ray.config import SPPEConfig
from sppe_ray.imageio import decode_image, resize_image
from sppe_ray.report import plots

GRID_COLUMNS = ("source", "surrogate", "surrogate_edit", "output", "source_edit")
GRID_TITLES = ("source", "surrogate", "edited surrogate", "recovered", "ground truth")
THUMB = 128
_CSS = """body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#eee}td:first-child{text-align:left}
img{max-width:100%}.grid td{padding:1px}.note{color:#666;font-size:12px}"""


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes | None, alt: str) -> str:
    return "" if png is None else f'<img alt="{html.escape(alt)}" src="{_uri(png)}">'


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return f"[{_fmt(v[0])}, {_fmt(v[1])}]"
    return html.escape(str(v))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _thumb(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = THUMB / max(h, w)
    return resize_image(img, (max(8, round(h * s)), max(8, round(w * s))))


def _png_of(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def primary_recovery_method(methods: list[str]) -> str | None:
    """The method whose cases are shown: the learned one when present, else the last baseline."""
    for preferred in ("c2e_s2ser", "local_transfer", "paste_back"):
        if preferred in methods:
            return preferred
    return methods[-1] if methods else None


def pick_cases(rec: pd.DataFrame, method: str, n: int, key: str = "gt_ssim") -> tuple[list[str], list[str]]:
    """(best, worst) sample ids of `method` by `key` (ties broken by sample id, so the choice is stable)."""
    part = rec[(rec["method"] == method) & rec["error"].isna()]
    if key not in part.columns or part.empty:
        return [], []
    part = part.dropna(subset=[key]).sort_values([key, "sample_id"])
    best = part["sample_id"].iloc[::-1][:n].tolist()
    worst = [s for s in part["sample_id"].iloc[:n].tolist() if s not in best]
    return best, worst


def _load_images(bench: Path, results_dir: Path, method: str, ids: list[str]) -> dict[str, dict[str, bytes]]:
    """sample id -> the five PNG blobs of the grid, read only for the chosen samples."""
    found: dict[str, dict[str, bytes]] = {i: {} for i in ids}
    keys = pc.field("sample_id").isin(ids)
    for path in sorted(bench.glob("*.parquet")):
        t = pq.read_table(path, columns=["sample_id", "source", "surrogate", "surrogate_edit", "source_edit"],
                          filters=keys)
        for row in t.to_pylist():
            found[row["sample_id"]].update({k: v for k, v in row.items() if k != "sample_id"})
    for path in sorted(results_dir.glob("*.parquet")):
        t = pq.read_table(path, columns=["sample_id", "method", "output"], filters=keys)
        for row in t.to_pylist():
            if row["method"] == method and row["output"] is not None:
                found[row["sample_id"]]["output"] = row["output"]
    return found


def image_grid(bench: Path, results_dir: Path, method: str, ids: list[str], title: str) -> str:
    blobs = _load_images(bench, results_dir, method, ids)
    rows = []
    for sid in ids:
        cells = []
        for col in GRID_COLUMNS:
            data = blobs.get(sid, {}).get(col)
            cells.append("<td>" + (_img(_png_of(_thumb(decode_image(data))), col) if data else "–") + "</td>")
        rows.append(f"<tr><td>{html.escape(sid)}</td>{''.join(cells)}</tr>")
    head = "<tr><th>sample</th>" + "".join(f"<th>{t}</th>" for t in GRID_TITLES) + "</tr>"
    return f"<h3>{html.escape(title)}</h3><table class='grid'>{head}{''.join(rows)}</table>"


def _sections(summary: dict[str, Any], tables: dict[str, pd.DataFrame], ed: pd.DataFrame) -> list[str]:
    parts = []
    editability = summary.get("editability", {})
    rows = [{"method": m, **s} for m, s in editability.items()]
    parts.append("<h2>Task 1: editability assessment</h2>" + _table(
        rows, ["method", "srcc", "srcc_ci", "plcc", "plcc_ci", "plcc_logistic", "krcc", "n", "n_failed"]))
    parts.append(_img(plots.bar_ci(list(editability), [s["srcc"] for s in editability.values()],
                                   [s["srcc_ci"] for s in editability.values()], "SRCC with 95% CI", "SRCC"),
                      "srcc bars"))
    parts.append(_img(plots.scatter_grid(ed, list(editability)), "scatter"))
    cat = tables.get("editability_by_category")
    if cat is not None and not cat.empty:
        parts.append(_img(plots.heatmap(cat, "category", "method", "srcc", "SRCC per category"), "heatmap"))
    recovery = summary.get("recovery", {})
    rkeys = ["csim_src", "ssim", "psnr", "dir_i", "dir_s", "csim_gt", "gt_ssim", "gt_psnr", "identity_recovered",
             "text_recovered"]
    parts.append("<h2>Task 2: edit recovery</h2>" + _table([{"method": m, **s} for m, s in recovery.items()],
                                                          ["method", *rkeys, "n", "n_failed"]))
    panels = {}
    for k in rkeys:
        names = [m for m in recovery if recovery[m].get(k) is not None]
        panels[k] = (names, [recovery[m][k] for m in names], [recovery[m]["ci"][k] for m in names])
    parts.append(_img(plots.bar_panels(panels, "Recovery metrics: mean with 95% CI"), "recovery bars"))
    parts.append(_comparisons(summary.get("comparisons", {})))
    privacy = summary.get("privacy", {})
    prow = [{"strategy": "all", **privacy}] + [{"strategy": s, **b} for s, b in privacy.get("by_strategy", {}).items()]
    parts.append("<h2>Privacy of the surrogates</h2>" + _table(
        prow, ["strategy", "pixel_leak", "pixel_leak_any", "identity_leak_rate", "identity_n", "ocr_leak_rate",
               "ocr_n", "n"]))
    for name, table in tables.items():
        if name.endswith("by_task_tag") or name.endswith("by_strategy"):
            parts.append(f"<h3>{html.escape(name)}</h3>" + table.to_html(index=False, float_format="%.4f"))
    skipped = summary.get("skipped", {})
    parts.append("<h2>Skipped methods</h2>" + _table([{"method": m, "reason": r} for m, r in skipped.items()],
                                                     ["method", "reason"]))
    errors = summary.get("errors", {})
    if errors:
        parts.append("<h2>Per-sample failures</h2>" + _table(
            [{"method": m, **e} for m, e in errors.items()], ["method", "count", "example"]))
    parts.append("<h2>Timings (s)</h2>" + _table([{"stage": k, "seconds": v} for k, v in
                                                  summary.get("timings_s", {}).items()], ["stage", "seconds"]))
    return parts


def _comparisons(comp: dict[str, Any]) -> str:
    """Learned method minus best baseline, with paired-bootstrap 95% intervals (one row per statistic)."""
    rows = []
    ed = comp.get("editability", {})
    for stat in ("srcc", "plcc"):
        if stat in ed:
            rows.append({"task": "editability", "statistic": stat, "learned": ed["learned"],
                         "baseline": ed["baseline"], **ed[stat]})
    rec = comp.get("recovery", {})
    for metric, block in rec.items():
        if isinstance(block, dict):
            rows.append({"task": "recovery", "statistic": metric, "learned": rec["learned"], **block})
    if not rows:
        return ""
    return ("<h2>Learned methods against the best baseline (paired)</h2><p>difference learned - baseline on "
            "the same samples; ci is a paired bootstrap 95% interval (it excludes 0 when the gap is real)</p>"
            + _table(rows, ["task", "statistic", "learned", "baseline", "diff", "ci", "ratio", "n"]))


def render(summary: dict[str, Any], tables: dict[str, pd.DataFrame], ed: pd.DataFrame,
           grids: list[str], sections: str | None = None) -> str:
    """The whole page; `sections` (already rendered tables and plots) skips rendering them again."""
    b = summary.get("benchmark", {})
    head = (f"<h1>SPPE evaluation</h1><p>benchmark <b>{html.escape(str(b.get('name')))}</b>, split "
            f"<b>{html.escape(str(b.get('split')))}</b>, {b.get('evaluated')} samples, manifest "
            f"<code>{html.escape(str(b.get('manifest_hash', ''))[:16])}</code></p>")
    if sections is None:
        sections = "".join(_sections(summary, tables, ed))
    body = head + sections + "".join(grids)
    return f"<!doctype html><html><head><meta charset='utf-8'><title>SPPE evaluation</title>" \
           f"<style>{_CSS}</style></head><body>{body}</body></html>"


def write_reports(out: Path, summary: dict[str, Any], tables: dict[str, pd.DataFrame], results: pd.DataFrame,
                  labels: pd.DataFrame, bench: Path, cfg: SPPEConfig) -> tuple[Path, Path]:
    """Write report.html (with image grids) and report_public.html (without); returns both paths."""
    from sppe_ray.pipelines.aggregate import editability_frame, expand_metrics

    wide = expand_metrics(results)
    ed = editability_frame(wide, labels)
    rec = wide[wide["task"] == "recovery"]
    grids = []
    method = primary_recovery_method(list(summary.get("recovery", {})))
    if method and cfg.eval.report_grid_rows > 0:
        best, worst = pick_cases(rec, method, cfg.eval.report_grid_rows)
        if best:
            grids.append(image_grid(bench, out / "results", method, best, f"Best recoveries ({method}, GT-SSIM)"))
        if worst:
            grids.append(image_grid(bench, out / "results", method, worst, f"Worst recoveries ({method}, GT-SSIM)"))
    full, public = out / "report.html", out / "report_public.html"
    sections = "".join(_sections(summary, tables, ed))  # plots are the slow part: draw them once for both
    full.write_text(render(summary, tables, ed, grids, sections), encoding="utf-8")
    note = "<p class='note'>Image grids omitted: they show private images (tracking.log_private_images).</p>"
    public.write_text(render(summary, tables, ed, [note], sections), encoding="utf-8")
    return full, public
