"""The black-box anonymizer study as Markdown tables (docs/anonymizer.md) and a loss/utility-versus-calls plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TITLES = {"table1": "Table 1 analogue: methods (test)",
          "table5": "Table 5 analogue: objectives, critical-history SPSA (test)",
          "table6": "Table 6 analogue: optimisers, augmented Tchebycheff, equal call budget (test)",
          "table7": "Table 7 analogue: the scheme's parts, augmented Tchebycheff (test)",
          "choices": "Defaults chosen on validation: lambda and the privacy loss (test columns; validation in JSON)"}


def _cell(stat: list[float] | None, digits: int = 3) -> str:
    if stat is None:
        return "–"
    mean, sd = stat
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd else "")


def tables(study: dict[str, Any]) -> str:
    """One Markdown table per study table; mean ± standard deviation over seeds."""
    parts = []
    for key, title in TITLES.items():
        rows = [r for r in study["rows"] if r["table"] == key]
        if not rows:
            continue
        parts += [f"### {title}", "", "| method | seeds | top-1 ↑ | cMAP ↓ | calls per sample | calls per sample to "
                  "target (reached) |", "|---|---|---|---|---|---|"]
        for r in rows:
            target = f"{_cell(r['calls_to_target'], 0)} ({r['reached']})" if r["calls_per_sample"] and \
                r["calls_per_sample"][0] else "–"
            parts.append(f"| {r['name']} | {r['seeds']} | {_cell(r['top1'])} | {_cell(r['cmap'])} | "
                         f"{_cell(r['calls_per_sample'], 0)} | {target} |")
        parts.append("")
    return "\n".join(parts)


def calls_plot(study: dict[str, Any], path: Path) -> Path:
    """Validation top-1 and cMAP against black-box calls per sample for each optimiser (Fig. 4 analogue)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, runs in study["runs"].items():
        if not key.startswith("table6/"):
            continue
        hist = runs[0].get("history") or []
        calls = [h["calls_per_sample"] for h in hist]
        ax1.plot(calls, [h["top1"] for h in hist], marker=".", label=key.split("/", 1)[1])
        ax2.plot(calls, [h["cmap"] for h in hist], marker=".", label=key.split("/", 1)[1])
    for ax, name in ((ax1, "validation top-1 (higher is better)"), (ax2, "validation cMAP (lower is better)")):
        ax.set_xlabel("black-box calls per training sample")
        ax.set_title(name, fontsize=9)
    ax2.axhline(study["raw"]["val"]["cmap"], color="grey", ls=":", lw=1)
    ax1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def editor_table(result: dict[str, Any]) -> str:
    """Setting 2: the learned surrogates beside the classical strategies on the same scenes."""
    def num(v: Any, digits: int = 3) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    fit = result["fit"]
    lines = [f"### Setting 2: the editor as the black box (fit: validation editability "
             f"{num(fit['val_editability'])}, mean private change {num(fit['val_private_change'])}, "
             f"{fit['calls_per_sample']:.0f} calls per sample)", "",
             "| strategy | samples | editability ↑ | check pass rate ↑ | identity distance ↑ (faces) | "
             "OCR similarity ↓ (text) |", "|---|---|---|---|---|---|"]
    order = sorted(result["strategies"], key=lambda n: (n != "learned", n == "classical", n))
    for name in order:
        r = result["strategies"][name]
        rate = "–" if r["pass_rate"] is None else f"{r['pass_rate']:.0%}"
        lines.append(f"| {name} | {r['samples']} | {num(r['editability'])} | {rate} | "
                     f"{num(r['identity_distance'])} | {num(r['text_similarity'])} |")
    return "\n".join(lines) + "\n"
