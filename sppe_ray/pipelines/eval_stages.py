"""The per-batch work of an evaluation: benchmark rows in, result rows (one per sample x method) out.

`SampleEvaluator` is a callable class so Ray Data can keep it in an actor pool: models and metrics load once
per actor, not once per batch. Every method runs inside its own try block per batch, and falls back to one
sample at a time when the batch fails, so one bad sample costs one `error` cell, never the job.
Result rows are sorted and carry no timings, so the same inputs give byte-identical result shards.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sppe_ray.imageio import decode_image, decode_mask, encode_png
from sppe_ray.pipelines.eval_checks import RegionChecks, identity_recovered, text_recovered
from sppe_ray.pipelines.eval_plan import FACE_KINDS, PRIVACY_METHOD, TEXT_KINDS, EvalPlan
from sppe_ray.pipelines.memo import Memo, content_key
from sppe_ray.schema import RESULT_SCHEMA
from sppe_ray.taxonomy import CATEGORIES

log = logging.getLogger(__name__)
PATH_COLUMN = "path"  # added by ray.data.read_parquet(include_paths=True): which benchmark shard a row came from
INPUT_COLUMNS = ["sample_id", "split", "category", "instruction_code", "task_tag", "strategy", "source", "mask",
                 "surrogate", "source_edit", "surrogate_edit"]
# Which Ray node read a row's shard and which evaluated it: the driver counts them into the summary's
# `placement` (the job's own record of where its work ran) and drops both columns before writing results.
READ_NODE_COLUMN, EVAL_NODE_COLUMN = "read_node", "eval_node"
OUTPUT_SCHEMA = RESULT_SCHEMA.append(pa.field(PATH_COLUMN, pa.string())).append(
    pa.field(READ_NODE_COLUMN, pa.string())).append(pa.field(EVAL_NODE_COLUMN, pa.string()))
_KEYS = ["sample_id", "split", "category", "instruction_code", "task_tag", "strategy"]


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _json(d: dict[str, Any]) -> str:
    """JSON with NaN/inf as null, so results stay valid JSON and readable by any tool."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
    return json.dumps(clean, sort_keys=True)


def current_node() -> str:
    """This process's Ray node id ("" outside Ray)."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except Exception:  # placement is a record, never a reason to fail a batch
        return ""


def run_per_sample(batch_fn: Callable[[list[int]], list[Any]], ids: Sequence[str], what: str, *,
                   broken: str | None = None) -> tuple[list[Any], list[str | None]]:
    """Run ``batch_fn`` on all indices; if it raises, log the failure with the batch's sample ids, then run it
    on each index alone and keep (and log) each sample's error. `ids` names the samples behind the indices.
    `broken` is an error already known for every sample (a model that failed to load, logged once then)."""
    n = len(ids)
    if broken is not None:
        return [None] * n, [broken] * n
    try:
        values = batch_fn(list(range(n)))
        return list(values), [None] * n
    except Exception as exc:
        if n == 1:
            log.warning("%s: sample %s failed: %s", what, ids[0], _err(exc))
            return [None], [_err(exc)]
        log.warning("%s: a batch of %d samples failed (%s); retrying one at a time: %s", what, n, _err(exc),
                    ", ".join(map(str, ids)))
    values: list[Any] = [None] * n
    errors: list[str | None] = [None] * n
    for i in range(n):
        try:
            values[i] = batch_fn([i])[0]
        except Exception as exc:
            errors[i] = _err(exc)
            log.warning("%s: sample %s failed: %s", what, ids[i], errors[i])
    return values, errors


class DecodedBatch:
    """Images of one batch decoded once; a sample that cannot be decoded is recorded in `errors`."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df.reset_index(drop=True)
        self.errors: dict[int, str] = {}
        self.images: dict[str, list[np.ndarray | None]] = {k: [] for k in
                                                             ("source", "surrogate", "source_edit", "surrogate_edit")}
        self.masks: list[np.ndarray | None] = []
        for i, row in self.df.iterrows():
            try:
                imgs = {k: decode_image(row[k]) for k in self.images if row[k] is not None}
                missing = [k for k in self.images if k not in imgs]
                if missing:
                    raise ValueError(f"benchmark row has no {missing[0]} image")
                mask = decode_mask(row["mask"], imgs["source"].shape[:2])
            except Exception as exc:
                self.errors[int(i)] = _err(exc)
                imgs, mask = {}, None
            for k in self.images:
                self.images[k].append(imgs.get(k))
            self.masks.append(mask)
        self.ok = [i for i in range(len(self.df)) if i not in self.errors]
        cols = [self.df[k].tolist() for k in ("source", "surrogate", "mask")]
        self.pair_keys = [content_key(src, sur) for src, sur, _ in zip(*cols, strict=True)]
        self.region_keys = [content_key(src, sur, m) for src, sur, m in zip(*cols, strict=True)]

    def ids(self, idx: Sequence[int]) -> list[str]:
        """The sample ids of rows `idx` (what a log line may name: never pixels)."""
        return [str(self.df.at[i, "sample_id"]) for i in idx]

    def take(self, key: str, idx: Sequence[int]) -> list[np.ndarray]:
        return [self.images[key][i] for i in idx]  # type: ignore[misc]


class SampleEvaluator:
    """Ray Data actor: computes every planned method on a batch of benchmark rows (pandas in, Arrow out)."""

    def __init__(self, plan: EvalPlan, split: str | None = None) -> None:
        from sppe_ray.embed import create_image_embedder
        from sppe_ray.metrics import iqa

        self.plan = plan
        self.split = split
        self.metrics = {m.method: iqa.create_metric(m.metric) for m in plan.iqa}
        self.embedders = {f"embed:{e}": create_image_embedder(e, **plan.embedder_kwargs(e)) for e in plan.embedders}
        rec = plan.recovery_embedder
        self.rec_embedder = create_image_embedder(rec, **plan.embedder_kwargs(rec))
        self.erma = None
        self.erma_error: str | None = None
        if plan.erma_dir:
            try:
                from sppe_ray.models.erma import ERMAPredictor

                self.erma = ERMAPredictor.load(plan.erma_dir)
            except Exception as exc:
                self.erma_error = _err(exc)
                log.warning("ERMA failed to load; every erma row of this evaluator records it: %s", self.erma_error)
        from sppe_ray.models.recovery import create_recoverer

        self.recoverers: dict[str, Any] = {}
        self.recoverer_errors: dict[str, str] = {}
        for method, name, kwargs in plan.recovery:
            try:
                self.recoverers[method] = create_recoverer(name, **kwargs)
            except Exception as exc:
                self.recoverer_errors[method] = _err(exc)
                log.warning("recoverer %s failed to load; its rows record it: %s", method,
                            self.recoverer_errors[method])
        self.checks = RegionChecks(plan.ocr_detail)
        self.cache = Memo()  # pair-level results: see sppe_ray.pipelines.memo

    def __call__(self, df: pd.DataFrame) -> pa.Table:
        if self.split is not None:
            df = df[df["split"] == self.split]
        batch = DecodedBatch(df)
        rows: list[dict[str, Any]] = []
        rows += self._editability(batch)
        rows += self._recovery(batch)
        if self.plan.privacy_checks:
            rows += self._privacy(batch)
        rows.sort(key=lambda r: (r["sample_id"], r["task"], r["method"]))
        node = current_node()
        for row in rows:
            row[EVAL_NODE_COLUMN] = node
        return pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA)

    # -- rows -------------------------------------------------------------------------------------------------
    def _row(self, batch: DecodedBatch, i: int, task: str, method: str, *, score: float | None = None,
             metrics: dict[str, Any] | None = None, output: bytes | None = None,
             error: str | None = None) -> dict[str, Any]:
        rec = batch.df.iloc[i]
        row = {k: str(rec[k]) for k in _KEYS}
        error = batch.errors.get(i, error)
        if score is not None and not math.isfinite(score):
            score = None
        row.update(task=task, method=method, score=None if error else score,
                   metrics=_json(metrics) if metrics is not None else None, output=None if error else output,
                   error=error, **{PATH_COLUMN: str(rec.get(PATH_COLUMN, "")),
                                   READ_NODE_COLUMN: str(rec.get(READ_NODE_COLUMN, ""))})
        return row

    def _pair_scorers(self) -> dict[str, tuple[Callable[[list[np.ndarray], list[np.ndarray]], list[float]],
                                              dict[str, Any]]]:
        """Editability methods that see only (source, surrogate): method -> (scorer, result metadata)."""
        scorers: dict[str, Any] = {}
        for m in self.plan.iqa:
            metric = self.metrics[m.method]

            def iqa_scores(srcs: list[np.ndarray], surs: list[np.ndarray], metric: Any = metric) -> list[float]:
                return [float(v) for v in metric.batch(None if metric.kind == "nr" else srcs, surs)]
            scorers[m.method] = (iqa_scores, {"lower_better": m.lower_better, "kind": m.kind})
        for name, emb in self.embedders.items():
            def cos(srcs: list[np.ndarray], surs: list[np.ndarray], emb: Any = emb) -> list[float]:
                f = emb.embed(srcs + surs).astype(np.float64)
                return [float(v) for v in np.sum(f[:len(srcs)] * f[len(srcs):], axis=1)]
            scorers[name] = (cos, {"lower_better": False, "kind": "embedding"})
        return scorers

    def _editability(self, batch: DecodedBatch) -> list[dict[str, Any]]:
        ok = batch.ok
        first: dict[str, int] = {}  # pair key -> first sample of the batch showing that pair
        for i in ok:
            first.setdefault(batch.pair_keys[i], i)
        rows = []
        for method, (fn, meta) in self._pair_scorers().items():
            # this batch's (value, error) per pair: each pair looked up once, so an eviction cannot lose one
            found = {key: self.cache.get(method, key) for key in first}
            todo = [i for key, i in first.items() if found[key] is None]
            if todo:
                srcs, surs = batch.take("source", todo), batch.take("surrogate", todo)
                values, errors = run_per_sample(
                    lambda idx, fn=fn, srcs=srcs, surs=surs: fn([srcs[j] for j in idx], [surs[j] for j in idx]),
                    batch.ids(todo), method)
                for j, i in enumerate(todo):
                    found[batch.pair_keys[i]] = (values[j], errors[j])
                    self.cache.put(method, batch.pair_keys[i], found[batch.pair_keys[i]])
            for i in ok:
                value, error = found[batch.pair_keys[i]]
                rows.append(self._row(batch, i, "editability", method, score=value, metrics=meta, error=error))
            rows += [self._row(batch, i, "editability", method, metrics=meta) for i in batch.errors]
        if self.plan.erma_dir:
            meta = {"lower_better": False, "kind": "learned"}
            broken = None if self.erma is not None else f"RuntimeError: ERMA model failed to load: {self.erma_error}"
            values, errors = run_per_sample(self._erma_scores(batch, ok), batch.ids(ok), "erma", broken=broken)
            for j, i in enumerate(ok):
                rows.append(self._row(batch, i, "editability", "erma", score=values[j], metrics=meta,
                                      error=errors[j]))
            rows += [self._row(batch, i, "editability", "erma", metrics=meta) for i in batch.errors]
        return rows

    def _erma_scores(self, batch: DecodedBatch, ok: list[int]) -> Callable[[list[int]], list[float]]:
        def fn(idx: list[int]) -> list[float]:
            sel = [ok[j] for j in idx]
            codes = [str(batch.df.iloc[i]["instruction_code"]) for i in sel]
            out = self.erma.predict(batch.take("source", sel), batch.take("surrogate", sel), codes,
                                    [batch.masks[i] for i in sel])
            return [float(v) for v in out]
        return fn

    def _recovery(self, batch: DecodedBatch) -> list[dict[str, Any]]:
        from sppe_ray.metrics.recovery import embed_inputs, recovery_metrics_batch

        ok = batch.ok
        rows = []
        try:  # the inputs are the same for every method: embed them once per batch
            inputs = embed_inputs(batch.take("source", ok), batch.take("source_edit", ok),
                                  batch.take("surrogate", ok), batch.take("surrogate_edit", ok), self.rec_embedder)
        except Exception:  # a bad image: recovery_metrics_batch finds and reports it per sample below
            inputs = None
        for method, _name, _kw in self.plan.recovery:
            rec = self.recoverers.get(method)

            def run(idx: list[int], rec: Any = rec) -> list[np.ndarray]:
                sel = [ok[j] for j in idx]
                codes = [str(batch.df.iloc[i]["instruction_code"]) for i in sel]
                return rec.recover_batch(batch.take("source", sel), batch.take("surrogate", sel),
                                         batch.take("surrogate_edit", sel), [batch.masks[i] for i in sel], codes)
            broken = None if rec is not None else (
                f"RuntimeError: recoverer failed to load: {self.recoverer_errors.get(method)}")
            outs, errors = run_per_sample(run, batch.ids(ok), f"recovery {method}", broken=broken)

            def score(idx: list[int], outs: list[Any] = outs) -> list[dict[str, float]]:
                sel = [ok[j] for j in idx]
                res = recovery_metrics_batch(batch.take("source", sel), batch.take("source_edit", sel),
                                             batch.take("surrogate", sel), batch.take("surrogate_edit", sel),
                                             [outs[j] for j in idx], self.rec_embedder,
                                             None if inputs is None else inputs[:, idx])
                return [{k: float(v[n]) for k, v in res.items()} for n in range(len(idx))]
            good = [j for j in range(len(ok)) if errors[j] is None]
            metric_values, metric_errors = run_per_sample(
                lambda idx, good=good: score([good[k] for k in idx]), batch.ids([ok[j] for j in good]),
                f"recovery metrics of {method}")
            for k, j in enumerate(good):
                errors[j] = metric_errors[k]
            by_j = dict(zip(good, metric_values, strict=True))
            for j, i in enumerate(ok):
                if errors[j] is not None:
                    rows.append(self._row(batch, i, "recovery", method, error=errors[j]))
                    continue
                metrics = dict(by_j[j])
                self._recovered_checks(batch, i, outs[j], metrics)
                rows.append(self._row(batch, i, "recovery", method, metrics=metrics, output=encode_png(outs[j])))
            rows += [self._row(batch, i, "recovery", method) for i in batch.errors]
        return rows

    def _kind(self, batch: DecodedBatch, i: int) -> str:
        cat = CATEGORIES.get(str(batch.df.iloc[i]["category"]))
        return cat.kind if cat is not None else ""

    def _recovered_checks(self, batch: DecodedBatch, i: int, out: np.ndarray, metrics: dict[str, Any]) -> None:
        """Add identity/text recovered flags for face/text samples; a check failure is kept as NaN + reason."""
        kind = self._kind(batch, i)
        src, mask = batch.images["source"][i], batch.masks[i]
        try:
            if kind in FACE_KINDS:
                d = self.checks.identity_distance(src, out, mask)  # type: ignore[arg-type]
                metrics.update(identity_distance=d, identity_recovered=identity_recovered(d))
            if kind in TEXT_KINDS:
                s = self.checks.text_similarity(src, out, mask)  # type: ignore[arg-type]
                metrics.update(text_similarity=s, text_recovered=text_recovered(s))
        except Exception as exc:
            metrics["check_error"] = _err(exc)

    def _privacy(self, batch: DecodedBatch) -> list[dict[str, Any]]:
        rows = []
        for i in batch.ok:
            cached = self.cache.get(PRIVACY_METHOD, batch.region_keys[i])
            if cached is None:
                cached = self._privacy_metrics(batch, i)
                self.cache.put(PRIVACY_METHOD, batch.region_keys[i], cached)
            metrics, error = cached
            rows.append(self._row(batch, i, "privacy", PRIVACY_METHOD, metrics=dict(metrics), error=error))
        rows += [self._row(batch, i, "privacy", PRIVACY_METHOD) for i in batch.errors]
        return rows

    def _privacy_metrics(self, batch: DecodedBatch, i: int) -> tuple[dict[str, Any], str | None]:
        """Pixel leak, identity distance and OCR similarity of one surrogate region against its source."""
        from sppe_ray.metrics.privacy import pixel_leak

        metrics: dict[str, Any] = {}
        try:
            src, sur, mask = batch.images["source"][i], batch.images["surrogate"][i], batch.masks[i]
            metrics["pixel_leak"] = pixel_leak(src, sur, mask)  # type: ignore[arg-type]
            kind = self._kind(batch, i)
            if kind in FACE_KINDS:
                metrics["identity_distance"] = self.checks.identity_distance(src, sur, mask)  # type: ignore
            if kind in TEXT_KINDS:
                metrics["ocr_similarity"] = self.checks.text_similarity(src, sur, mask)  # type: ignore
        except Exception as exc:
            return metrics, _err(exc)
        return metrics, None
