"""Cross-editor editability: ERMA trained on editor A's labels, on editor B's, and on both, each scored on both
benchmarks' test splits beside the best pair-level baseline.

    python bench/cross_editor.py [--a DIR] [--b DIR] [--set erma.image_encoder=mobilenet] [--seeds 0]
                                 [--ablations] [--out FILE.json]

A is sppe-mini (the default editor), B is sppe-mini-b (`sppe build --config configs/sppe_mini_b.yaml`, editor B
written independently). The two share every sample id and every source, surrogate and mask pixel, so one set
of cached ERMA features serves both and only the labels differ; the bench checks that before it fits.

Each head is fitted with the same loop as `sppe train erma` (`fitting.run_training`: same recipe, model
selection on the training editor's val split; "both" trains and selects on the union), in this process
rather than under Ray Train, so that the nine fits share one feature load. Baselines are the ones the
evaluation job computes per pair (embed:classic cosine and the full-reference IQA metrics of
`--baselines`); the best by SRCC on each test split stands beside ERMA, with a paired bootstrap interval of
the difference and the ratio. Prints a markdown table and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_BASELINES = ("embed:classic", "ssim", "ms_ssim", "gmsd", "vsi")


def _features(bench: Path, predictor, home: Path) -> dict[str, dict[str, np.ndarray]]:
    from sppe_ray.train.erma import collect, extract_features, feature_cache_key, split_dataset

    cache = home / "cache" / "erma_features" / feature_cache_key(bench, predictor)
    extract_features(bench, predictor, cache)
    return {s: collect(split_dataset(cache, s)) for s in ("train", "val", "test")}


def _aligned(cols: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    ids = np.asarray(cols["sample_id"]).astype(str)
    pos = {sid: i for i, sid in enumerate(ids)}
    idx = np.array([pos[s] for s in order])
    return {k: np.asarray(v)[idx] for k, v in cols.items()}


def _union(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out["sample_id"] = np.concatenate([np.char.add(f"{i}:", np.asarray(p["sample_id"]).astype(str))
                                       for i, p in enumerate(parts)])
    return out


def _fit(predictor, cfg, train: dict, val: dict, seed: int):
    import torch

    from sppe_ray.models.erma import fitting
    from sppe_ray.models.erma.model import ERMA

    spec = predictor.spec
    flags = (spec.use_mask, spec.use_detectors)
    torch.manual_seed(seed)
    model = ERMA(spec, list(cfg.hidden), cfg.dropout)
    recipe = fitting.Recipe(**{**fitting.Recipe.from_config(cfg).__dict__, "seed": seed})
    state, best = fitting.run_training(model, fitting.arrays_from_columns(train, predictor.texts, *flags),
                                       fitting.arrays_from_columns(val, predictor.texts, *flags), recipe)
    model.load_state_dict(best)
    return model.eval(), state


def _predict(model, predictor, cols: dict) -> np.ndarray:
    """Predictions in the order of cols' sample ids (arrays_from_columns sorts; undo it)."""
    import torch

    from sppe_ray.models.erma import fitting

    spec = predictor.spec
    arrays = fitting.arrays_from_columns(cols, predictor.texts, spec.use_mask, spec.use_detectors)
    with torch.no_grad():
        pred = model(arrays.take(slice(None))).numpy()
    order = np.argsort(np.asarray(cols["sample_id"]).astype(str), kind="stable")
    out = np.empty_like(pred)
    out[order] = pred
    return out


def _test_pairs(bench: Path, ids: np.ndarray) -> tuple[list, list, np.ndarray]:
    """Distinct (source, surrogate) pairs of the test rows and, per row of ``ids``, its pair's index."""
    import pyarrow.parquet as pq

    from sppe_ray.imageio import decode_image
    from sppe_ray.shards import read_manifest

    want = set(ids.tolist())
    pairs: dict[tuple[bytes, bytes], int] = {}
    srcs, surs, row_pair = [], [], {}
    for shard in read_manifest(bench)["shards"]:
        table = pq.read_table(bench / shard["name"], columns=["sample_id", "source", "surrogate"])
        for sid, src, sur in zip(*(table.column(c).to_pylist() for c in ("sample_id", "source", "surrogate")),
                                 strict=True):
            if sid not in want:
                continue
            key = (src, sur)
            if key not in pairs:
                pairs[key] = len(srcs)
                srcs.append(decode_image(src))
                surs.append(decode_image(sur))
            row_pair[sid] = pairs[key]
    return srcs, surs, np.array([row_pair[s] for s in ids])


def _baseline_scores(names: tuple[str, ...], srcs: list, surs: list) -> dict[str, np.ndarray]:
    """One score per pair, oriented so that higher means "more alike" (lower-better metrics negated)."""
    from sppe_ray.embed import create_image_embedder
    from sppe_ray.metrics.iqa import create_metric

    out = {}
    for name in names:
        if name.startswith("embed:"):
            emb = create_image_embedder(name.split(":", 1)[1])
            fs, fu = emb.embed(srcs), emb.embed(surs)
            out[name] = np.sum(fs * fu, axis=1)
        else:
            metric = create_metric(name)
            scores = np.asarray(metric.batch(srcs, surs), np.float64)
            out[f"pyiqa:{name}"] = -scores if metric.lower_better else scores
    return out


def _cell(pred: np.ndarray, labels: np.ndarray, base: np.ndarray, n_boot: int) -> dict:
    from sppe_ray.metrics.editability import correlation_summary
    from sppe_ray.pipelines.paired import paired_correlation

    erma = correlation_summary(pred, labels, n_boot=n_boot)
    best = correlation_summary(base, labels, n_boot=n_boot)
    cell = {"erma": {k: erma[k] for k in ("srcc", "plcc", "srcc_ci", "plcc_ci", "n")},
            "baseline": {k: best[k] for k in ("srcc", "plcc", "srcc_ci", "plcc_ci")}}
    for stat in ("srcc", "plcc"):
        cell[f"{stat}_diff"] = paired_correlation(pred, base, labels, stat, n_boot)
        cell[f"{stat}_ratio"] = erma[stat] / best[stat] if best[stat] else None
    return cell


def main() -> None:
    from sppe_ray.config import load_config, sppe_home
    from sppe_ray.models.erma.predictor import ERMAPredictor
    from sppe_ray.runtime import init_ray

    home = sppe_home()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", type=Path, default=home / "benchmarks" / "sppe-mini", help="benchmark of editor A")
    ap.add_argument("--b", type=Path, default=home / "benchmarks" / "sppe-mini-b", help="benchmark of editor B")
    ap.add_argument("--set", action="append", default=[], help="config override, e.g. erma.image_encoder=mobilenet")
    ap.add_argument("--seeds", default="0", help="comma-separated fit seeds (each cell reports the first seed's "
                                                 "intervals and the spread over seeds)")
    ap.add_argument("--baselines", default=",".join(DEFAULT_BASELINES), help="pair-level baselines to try")
    ap.add_argument("--ablations", action="store_true", help="also fit each ablation in-editor on A and on B")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per interval")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    ap.add_argument("--no-mlflow", action="store_true", help="do not log the run to MLflow (experiment "
                                                           "erma-cross-editor)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    t0 = time.perf_counter()
    cfg = load_config(None, args.set).erma
    init_ray()
    predictor = ERMAPredictor.build(cfg)
    feats = {"A": _features(args.a, predictor, home), "B": _features(args.b, predictor, home)}
    t_feat = time.perf_counter() - t0
    # Same samples in both (ids and features); only the labels may differ.
    for split in ("train", "val", "test"):
        ids = np.sort(np.asarray(feats["A"][split]["sample_id"]).astype(str))
        if not np.array_equal(ids, np.sort(np.asarray(feats["B"][split]["sample_id"]).astype(str))):
            raise SystemExit(f"{split}: the two benchmarks do not hold the same samples; build B with "
                             "configs/sppe_mini_b.yaml from the same build settings as A")
        for k in ("f_src", "f_sur"):
            if k in feats["A"][split]:
                a, b = (np.stack(list(_aligned(feats[e][split], ids)[k])) for e in ("A", "B"))
                if not np.allclose(a, b):
                    raise SystemExit(f"{split}: features differ between the benchmarks ({k})")
        feats["A"][split], feats["B"][split] = (_aligned(feats[e][split], ids) for e in ("A", "B"))
    test_ids = feats["A"]["test"]["sample_id"].astype(str)
    srcs, surs, pair_of = _test_pairs(args.a, test_ids)
    base_pairs = _baseline_scores(tuple(b.strip() for b in args.baselines.split(",") if b.strip()), srcs, surs)
    labels = {e: feats[e]["test"]["label"].astype(np.float64) for e in ("A", "B")}
    baselines = {e: {name: _correl(s[pair_of], labels[e]) for name, s in base_pairs.items()} for e in labels}
    best = {e: max(baselines[e], key=lambda n: baselines[e][n]) for e in labels}

    trainings = {"A": ("A",), "B": ("B",), "A+B": ("A", "B")}
    seeds = [int(s) for s in args.seeds.split(",")]
    cells: dict = {}
    fits: dict = {}
    for train_name, parts in trainings.items():
        for seed in seeds:
            t1 = time.perf_counter()
            model, state = _fit(predictor, cfg, _union(*(feats[p]["train"] for p in parts)),
                                _union(*(feats[p]["val"] for p in parts)), seed)
            fits[f"{train_name}/seed{seed}"] = {"val_srcc": state.best_score, "best_step": state.best_step,
                                                "seconds": round(time.perf_counter() - t1, 1)}
            for test_name in ("A", "B"):
                pred = _predict(model, predictor, feats[test_name]["test"])
                base = base_pairs[best[test_name]][pair_of]
                cell = _cell(pred, labels[test_name], base, args.boot) if seed == seeds[0] else None
                key = f"{train_name}->{test_name}"
                if cell is not None:
                    cells[key] = {**cell, "baseline_name": best[test_name], "seeds": {}}
                cells[key]["seeds"][seed] = {"srcc": _correl(pred, labels[test_name]),
                                             "plcc": _correl(pred, labels[test_name], "plcc")}
    ablations = _ablations(args, cfg, feats, labels, home) if args.ablations else {}
    out = {
        "benchmarks": {"A": str(args.a), "B": str(args.b)},
        "encoder": cfg.image_encoder,
        "label_stats": {e: _label_stats(feats[e]) for e in ("A", "B")},
        "baselines_srcc": baselines,
        "best_baseline": best,
        "cells": cells,
        "fits": fits,
        "ablations": ablations,
        "feature_seconds": round(t_feat, 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
    }
    _print_table(out)
    if not args.no_mlflow:
        out["mlflow_run_id"] = _log(out, cfg, args)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps(out, default=float))


def _log(out: dict, cfg, args) -> str:
    """One MLflow run: every cell's SRCC/PLCC, intervals, ratios and differences as metrics (`A->B/erma_srcc`
    and so on), label statistics, ablations, and the whole result as `cross_editor.json`."""
    import mlflow

    from sppe_ray import tracking
    from sppe_ray.shards import manifest_hash

    with tracking.start_run("erma-cross-editor", f"cross-editor-{cfg.image_encoder}", config={"erma": cfg.model_dump()},
                            params={"benchmark_a": manifest_hash(args.a), "benchmark_b": manifest_hash(args.b),
                                    "seeds": args.seeds}) as run:
        for key, c in out["cells"].items():
            flat = {"erma_srcc": c["erma"]["srcc"], "erma_plcc": c["erma"]["plcc"],
                    "erma_srcc_lo": c["erma"]["srcc_ci"][0], "erma_srcc_hi": c["erma"]["srcc_ci"][1],
                    "baseline_srcc": c["baseline"]["srcc"], "baseline_plcc": c["baseline"]["plcc"],
                    "srcc_ratio": c["srcc_ratio"], "plcc_ratio": c["plcc_ratio"],
                    "srcc_diff": c["srcc_diff"]["diff"], "plcc_diff": c["plcc_diff"]["diff"]}
            tracking.log_metrics(flat, prefix=key.replace(">", "") + "/")
        tracking.log_metrics(out["label_stats"], prefix="labels/")
        tracking.log_metrics(out["ablations"], prefix="ablation/")
        mlflow.log_dict(out, "cross_editor.json")
        return run.info.run_id


def _correl(x: np.ndarray, y: np.ndarray, stat: str = "srcc") -> float:
    from sppe_ray.metrics.editability import plcc, srcc

    return float((srcc if stat == "srcc" else plcc)(x, y))


def _label_stats(feats: dict) -> dict:
    out = {}
    for split, cols in feats.items():
        y = np.asarray(cols["label"], np.float64)
        out[split] = {"n": int(y.size), "mean": float(y.mean()), "std": float(y.std()),
                      "q10": float(np.quantile(y, 0.1)), "median": float(np.median(y)),
                      "q90": float(np.quantile(y, 0.9)), "share_at_1": float(np.mean(y >= 0.999))}
    return out


def _ablations(args, cfg, feats, labels, home) -> dict:
    """Each ablation fitted in-editor (train and test on the same editor), first seed only."""
    from sppe_ray.models.erma.predictor import ERMAPredictor
    from sppe_ray.train.erma import ABLATIONS

    out = {}
    for name, update in {"full": {}, **ABLATIONS}.items():
        variant = cfg.model_copy(update=update)
        pred_obj = ERMAPredictor.build(variant)
        for e in ("A", "B"):
            model, state = _fit(pred_obj, variant, feats[e]["train"], feats[e]["val"], 0)
            pred = _predict(model, pred_obj, feats[e]["test"])
            out[f"{name}@{e}"] = {"val_srcc": state.best_score, "test_srcc": _correl(pred, labels[e]),
                                  "test_plcc": _correl(pred, labels[e], "plcc")}
    return out


def _print_table(out: dict) -> None:
    def ci(v):
        return f"[{v[0]:.3f}, {v[1]:.3f}]"

    print(f"\nencoder {out['encoder']}; cells: ERMA SRCC {{CI}} / PLCC {{CI}}; best baseline SRCC / PLCC; paired "
          "difference SRCC {CI}")
    print("| trained on -> tested on | ERMA SRCC | ERMA PLCC | best baseline | SRCC ratio | PLCC ratio | "
          "SRCC diff [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    for key, c in out["cells"].items():
        e, b = c["erma"], c["baseline"]
        d = c["srcc_diff"]
        print(f"| {key} | {e['srcc']:.3f} {ci(e['srcc_ci'])} | {e['plcc']:.3f} {ci(e['plcc_ci'])} | "
              f"{c['baseline_name']} {b['srcc']:.3f} / {b['plcc']:.3f} | {c['srcc_ratio']:.2f} | "
              f"{c['plcc_ratio']:.2f} | {d['diff']:+.3f} {ci(d['ci'])} |")


if __name__ == "__main__":
    main()
