"""The HTML report of a dataset-anonymization evaluation: one table per metric group, a privacy-vs-utility
scatter and an image grid (original | each method) of a few flagged images."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sppe_ray.anonymize import manifest
from sppe_ray.imageio import load_image
from sppe_ray.report import plots
from sppe_ray.report.html import _CSS, _fmt, _img, _png_of, _thumb

#: (title, [(column label, metric key, arrow)]) per metric group.
GROUPS = (
    ("Quality", [("SSIM", "ssim", "↑"), ("GMSD", "gmsd", "↓"), ("embedder sim.", "embed_sim", "↑")]),
    ("Cheating", [("pHash bits (image)", "phash_bits", ""), ("pHash bits (regions)", "region_phash_bits", "↑"),
                  ("near-copy rate", "near_copy_rate", "↓"), ("outside change", "outside_change", "↓"),
                  ("overreach rate", "overreach_rate", "↓")]),
    ("Privacy", [("FaceSim", "face_sim", "↓"), ("identity re-id", "identity_reid_rate", "↓"),
                 ("TextSim", "text_sim", "↓"), ("text re-id", "text_reid_rate", "↓"),
                 ("skin-tone entropy (proxy)", "skin_tone_entropy", "↑"),
                 ("rubric score (proxy)", "rubric_score", "↑")]),
)
GRID_IMAGES = 6


def _cell(value: Any) -> str:
    if isinstance(value, dict) and "mean" in value:
        return f"{_fmt(value['mean'])} <span class=note>{_fmt(tuple(value['ci']))}</span>"
    return _fmt(value)


def _group_table(methods: dict[str, dict], columns: list[tuple[str, str, str]]) -> str:
    head = "<th>method</th>" + "".join(f"<th>{html.escape(lbl)} {arrow}</th>" for lbl, _, arrow in columns)
    body = "".join(f"<tr><td>{html.escape(m)}</td>" + "".join(f"<td>{_cell(row.get(k))}</td>" for _, k, _ in columns)
                   + "</tr>" for m, row in methods.items())
    return f"<table><tr>{head}</tr>{body}</table>"


def _utility_table(methods: dict[str, dict]) -> str:
    rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{_cell(r.get('utility', {}).get('accuracy'))}</td>"
                   f"<td>{_fmt(r.get('utility', {}).get('relative'))}</td></tr>" for m, r in methods.items())
    return ("<table><tr><th>method</th><th>downstream accuracy ↑ (tested on originals)</th>"
            f"<th>relative to originals</th></tr>{rows}</table>")


def privacy_utility_plot(methods: dict[str, dict]) -> bytes | None:
    """Rubric score (privacy, higher = less linkable) against downstream accuracy, one point per method."""
    pts = [(m, r["rubric_score"]["mean"], r.get("utility", {}).get("accuracy", {}).get("mean")) for m, r in
           methods.items()]
    pts = [(m, x, y) for m, x, y in pts if x is not None and y is not None and np.isfinite(x) and np.isfinite(y)]
    if not pts:
        return None
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for m, x, y in pts:  # a legend, not labels: methods of equal utility sit on one line
        ax.scatter([x], [y], s=30, label=m)
    ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("privacy: rubric score (proxy judge, 0-100)")
    ax.set_ylabel("utility: downstream accuracy")
    fig.tight_layout()
    return plots._png(fig)


def _picks(per: pd.DataFrame) -> list[str]:
    """Flagged images for the grid, faces and text alternating (the two kinds of content methods differ on)."""
    flagged = per[(per["method"] == "original") & per["flagged"]]
    faces = list(flagged[flagged["faces_orig"] > 0].sort_values("file")["file"])
    text = list(flagged[(flagged["faces_orig"] == 0) & (flagged["text_tokens"] > 0)].sort_values("file")["file"])
    rest = [f for f in flagged.sort_values("file")["file"] if f not in faces and f not in text]
    mixed = [f for pair in zip(faces, text, strict=False) for f in pair]
    mixed += faces[len(text):] + text[len(faces):] + rest
    return mixed[:GRID_IMAGES]


def _grid(per: pd.DataFrame, data: Path, folders: dict[str, Path], max_pixels: int) -> str:
    picks = _picks(per)
    head = "<th>original</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in folders)
    rows = []
    for rel in picks:
        paths = [data / rel] + [manifest.output_path(f, rel) for f in folders.values()]
        cells = [load_image(p, max_pixels=max_pixels) for p in paths]
        rows.append("<tr>" + "".join(f"<td>{_img(_png_of(_thumb(c)), rel)}</td>" for c in cells) + "</tr>")
    return f"<table class=grid><tr>{head}</tr>{''.join(rows)}</table>"


def write_report(out: Path, summary: dict[str, Any], per: pd.DataFrame, data: Path, folders: dict[str, Path],
                 max_pixels: int) -> Path:
    """report.html (and privacy_utility.png) under ``out``."""
    methods = summary["methods"]
    scatter = privacy_utility_plot(methods)
    if scatter:
        (out / "privacy_utility.png").write_bytes(scatter)
    s1 = summary["stage1"]
    parts = [f"<h1>Dataset anonymization: {html.escape(Path(summary['dataset']).name)}</h1>",
             f"<p>{summary['images']} images; stage 1 coverage: {html.escape(s1.get('coverage', ''))}. Intervals: "
             "95% bootstrap over images. Skipped methods: "
             f"{html.escape('; '.join(f'{m}: {r}' for m, r in summary['skipped_methods'].items()) or 'none')}.</p>"]
    if "flags" in s1:
        f = s1["flags"]
        (tn, fp), (fn, tp) = f["confusion"]
        parts.append(f"<p>Privacy flag against ground truth ({f['n']} images): accuracy {_fmt(f['accuracy'])}, "
                     f"precision {_fmt(f['precision'])}, recall {_fmt(f['recall'])}, F1 {_fmt(f['f1'])}; "
                     f"TN {tn}, FP {fp}, FN {fn}, TP {tp}.</p>")
    if "caption_similarity" in s1:
        parts.append(f"<p>Public-to-private caption similarity: {_cell(s1['caption_similarity'])}</p>")
    for title, columns in GROUPS:
        parts += [f"<h2>{title}</h2>", _group_table(methods, columns)]
    parts += ["<h2>Utility</h2>", _utility_table(methods)]
    if scatter:
        parts += ["<h2>Privacy vs utility</h2>", _img(scatter, "privacy vs utility")]
    parts += ["<h2>Images (original | each method)</h2>", _grid(per, data, folders, max_pixels)]
    path = out / "report.html"
    path.write_text(f"<!doctype html><html><head><meta charset=utf-8><style>{_CSS}</style></head><body>"
                    + "\n".join(parts) + "</body></html>")
    return path
