"""The study of docs/anonymizer.md: the paper's Tables 1, 5, 6 and 7 in shape on setting 1, plus the validation
runs behind the chosen defaults. Pure computation (no MLflow): ``run`` returns the tables; the job logs them.

Budgets: every comparison fit gets the same black-box calls per training sample. The SPSA family spends 2 calls
per step, so CMA-ES (population 8) gets a quarter of the steps and policy search (6 samples) a third. A row's
``calls_to_target`` is the calls per sample at the first validation point where cMAP is at least 5 points under
the raw data's with top-1 at least 85% of the raw data's (None when never reached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sppe_ray.blackbox.baselines import HEURISTICS
from sppe_ray.blackbox.train import FitSettings, Setting1, evaluate, fit, raw_reference

CMAP_DROP, UTILITY_KEPT = 0.05, 0.85


@dataclass
class Row:
    """One row of a table: the fits of each seed and their test scores."""

    table: str
    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def stat(key: str) -> list[float] | None:
            vals = [r[key] for r in self.runs if r.get(key) is not None]
            return [float(np.mean(vals)), float(np.std(vals))] if vals else None

        return {"table": self.table, "name": self.name, "seeds": len(self.runs), "top1": stat("top1"),
                "cmap": stat("cmap"), "calls_per_sample": stat("calls_per_sample"),
                "calls_to_target": stat("calls_to_target"),
                "reached": f"{sum(r.get('calls_to_target') is not None for r in self.runs)}/{len(self.runs)}"}


def calls_to_target(history: list[dict[str, Any]], raw_val: dict[str, float]) -> float | None:
    for row in history:
        if row["cmap"] <= raw_val["cmap"] - CMAP_DROP and row["top1"] >= UTILITY_KEPT * raw_val["top1"]:
            return float(row["calls_per_sample"])
    return None


def _fit_run(setting: Setting1, s: FitSettings, answer: Any, raw_val: dict[str, float]) -> dict[str, Any]:
    out = fit(setting, s, answer=answer)
    last = out["history"][-1]
    return {"top1": out["test_top1"], "cmap": out["test_cmap"], "val_top1": last["top1"], "val_cmap": last["cmap"],
            "calls_per_sample": out["calls_per_sample"], "calls_to_target": calls_to_target(out["history"], raw_val),
            "history": out["history"], "curve": out["curve"][:: max(1, len(out["curve"]) // 200)],
            "seed": s.seed}


def plan(main: FitSettings, study_steps: int, seeds: int) -> list[tuple[str, str, list[FitSettings]]]:
    """(table, row name, one FitSettings per seed) for every fitted row."""
    def row(table: str, name: str, steps: int = study_steps, **ch: Any) -> tuple[str, str, list[FitSettings]]:
        every = max(1, min(main.eval_every, steps // 8))
        return table, name, [FitSettings(**{**main.__dict__, "steps": steps, "eval_every": every, "seed": main.seed
                                            + i, **ch}) for i in range(seeds)]

    spsa_gc = {"a": main.gains["a"] / 4.2, "c": main.gains["c"]}  # BlackVIP's schedule, our first step size
    ours = {"optimizer": "critical_history_spsa", "options": {}}  # the rows that vary the paper's scheme
    return [
        row("table1", "ours (critical-history SPSA, AT)", main.steps, **ours, objective="augmented_tchebycheff"),
        *(row("table5", obj, **ours, objective=obj) for obj in ("weighted_sum", "tchebycheff",
                                                                "augmented_tchebycheff")),
        row("table6", "SPSA", optimizer="spsa", objective="augmented_tchebycheff", options={}),
        row("table6", "SPSA-GC", optimizer="spsa_gc", objective="augmented_tchebycheff", options=spsa_gc),
        row("table6", "CMA-ES", study_steps // 4, optimizer="cma_es", objective="augmented_tchebycheff", options={}),
        row("table6", "policy search (REINFORCE)", study_steps // 3, optimizer="policy_search",
            objective="augmented_tchebycheff", options={}),
        *(row("table7", f"w/o {t.replace('_', '-')}", optimizer="critical_history_spsa",
              objective="augmented_tchebycheff", options={t: False}) for t in ("critical", "direction", "step_size")),
        *(row("choices", f"lambda={w}, privacy={p}", **ours, weights=w, privacy=p) for w in ((0.5, 0.5), (0.3, 0.7))
          for p in ("entropy", "confusion")),
    ]


def shared_rows(name: str) -> list[tuple[str, str]]:
    """Rows that are the same fit as another row's (reported in both tables, fitted once)."""
    return {"augmented_tchebycheff": [("table6", "critical-history SPSA (ours)"), ("table7", "full scheme")],
            "SPSA": [("table7", "w/o history (= SPSA)")]}.get(name, [])


def run(setting: Setting1, main: FitSettings, study_steps: int, seeds: int, answer: Any = None,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every table's rows; ``progress`` is told each fitted row as it finishes."""
    raw_val, raw_test = raw_reference(setting, "val"), raw_reference(setting, "test")
    rows: list[Row] = [Row("table1", "raw data", [{**raw_test, "calls_per_sample": 0.0}])]
    from sppe_ray.blackbox.query import CountedBlackBox, FrozenModel

    for name in HEURISTICS.names():
        images = HEURISTICS.entry(name).load()(setting.test.images, setting.test.boxes)
        score = evaluate(setting, images.astype(np.float32), CountedBlackBox(FrozenModel(setting.utility)))
        rows.append(Row("table1", name, [{**score, "calls_per_sample": 0.0}]))
    for table, name, fits in plan(main, study_steps, seeds):
        row = Row(table, name, [_fit_run(setting, s, answer, raw_val) for s in fits])
        rows.append(row)
        if progress:
            progress(f"{table}: {name}")
        rows.extend(Row(t, n, row.runs) for t, n in shared_rows(name))
    return {"raw": {"val": raw_val, "test": raw_test}, "rows": [r.summary() for r in rows],
            "runs": {f"{r.table}/{r.name}": r.runs for r in rows}}
