"""Matplotlib figures of an evaluation, returned as PNG bytes (Agg backend: no display, thread-free).

Why PNG bytes: the report embeds them as data URIs, so one HTML file can be mailed or archived and still show
every plot; MLflow stores it as a single artifact.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

DPI = 90


def _plt():  # noqa: ANN202 - pyplot module
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def scatter_grid(ed: pd.DataFrame, methods: list[str], max_points: int = 2000) -> bytes | None:
    """Prediction vs label, one panel per editability method (orientation as stored; SRCC in the title)."""
    if not methods:
        return None
    plt = _plt()
    cols = min(4, len(methods))
    rows = int(np.ceil(len(methods) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, method in zip(axes.ravel(), methods, strict=False):
        part = ed[(ed["method"] == method) & ed["error"].isna()].dropna(subset=["score", "editability"])
        part = part.iloc[:max_points]
        ax.scatter(part["score"], part["editability"], s=6, alpha=0.5)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("prediction", fontsize=8)
        ax.set_ylabel("label", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(methods):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def bar_ci(names: list[str], values: list[float | None], cis: list[list[float | None]], title: str,
           ylabel: str) -> bytes | None:
    """Horizontal bars with percentile-bootstrap error bars (missing values drawn as empty)."""
    if not names:
        return None
    plt = _plt()
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    lo = np.array([np.nan if c[0] is None else c[0] for c in cis], dtype=float)
    hi = np.array([np.nan if c[1] is None else c[1] for c in cis], dtype=float)
    err = np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])
    err = np.nan_to_num(err)
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.barh(y, np.nan_to_num(v), xerr=err, capsize=3, color="#4c72b0")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(ylabel, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    fig.tight_layout()
    return _png(fig)


def heatmap(table: pd.DataFrame, row: str, col: str, value: str, title: str) -> bytes | None:
    """Rows x columns of `value` (e.g. category x method SRCC), annotated, diverging colours around 0."""
    if table.empty or value not in table.columns:
        return None
    grid = table.pivot_table(index=row, columns=col, values=value, aggfunc="first")
    if grid.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * grid.shape[1], 1.0 + 0.3 * grid.shape[0]))
    im = ax.imshow(grid.to_numpy(float), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=7)
    for (i, j), val in np.ndenumerate(grid.to_numpy(float)):
        if np.isfinite(val):
            ax.text(j, i, f"{val:.2f}", ha="center", va="center", fontsize=6)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return _png(fig)


def bar_panels(panels: dict[str, tuple[list[str], list[float | None], list[list[float | None]]]],
               title: str) -> bytes | None:
    """One figure of small bar charts (one per metric, methods as bars) with CI error bars."""
    panels = {k: v for k, v in panels.items() if v[0]}
    if not panels:
        return None
    plt = _plt()
    cols = min(5, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.4 * rows), squeeze=False)
    for ax, (metric, (names, values, cis)) in zip(axes.ravel(), panels.items(), strict=False):
        v = np.array([np.nan if x is None else x for x in values], dtype=float)
        lo = np.array([np.nan if c[0] is None else c[0] for c in cis], dtype=float)
        hi = np.array([np.nan if c[1] is None else c[1] for c in cis], dtype=float)
        err = np.nan_to_num(np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)]))
        x = np.arange(len(names))
        ax.bar(x, np.nan_to_num(v), yerr=err, capsize=3, color=[f"C{i}" for i in range(len(names))])
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)
