"""How much of a benchmark's split measures faces: face and person samples, and on how many of them each
offline editor's face-keyed edits actually happen (the editor finds a face in the source).

    python bench/face_share.py [BENCHMARK_DIR ...] [--split test] [--eval-dir .sppe/eval/<run>]

Per benchmark: samples in the split, samples of the face and person categories (a105_face_all,
a109_person_body), of those the ones whose instruction is a person instruction (001-018, 023), and the
shares of those where the default editor (`procedural`: Haar at 128 px) and editor B (`procedural_b`: dlib
HOG) find a face in the source. Prints a table and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FACE_CATEGORIES = ("a105_face_all", "a109_person_body")


def share(folder: Path, split: str) -> dict:
    import pyarrow.parquet as pq

    from sppe_ray.editors.procedural import analyse
    from sppe_ray.editors.procedural_b import sight
    from sppe_ray.imageio import decode_image
    from sppe_ray.shards import read_manifest
    from sppe_ray.taxonomy import PERSON

    rows = []
    for s in read_manifest(folder)["shards"]:
        t = pq.read_table(folder / s["name"], columns=["split", "category", "instruction_code", "source"])
        rows += [r for r in t.to_pylist() if r["split"] == split]
    faces = [r for r in rows if r["category"] in FACE_CATEGORIES]
    person = [r for r in faces if r["instruction_code"] in PERSON]
    found: dict[bytes, tuple[bool, bool]] = {}
    for r in faces:
        if r["source"] not in found:
            img = decode_image(r["source"])
            found[r["source"]] = (analyse(img).face is not None, bool(sight(img).faces))
    n = max(len(faces), 1)
    return {
        "benchmark": folder.name, "split": split, "samples": len(rows), "face_person": len(faces),
        "face_person_share": len(faces) / max(len(rows), 1), "person_instructions": len(person),
        "by_category": {c: sum(r["category"] == c for r in faces) for c in FACE_CATEGORIES},
        "face_found_editor_a": sum(found[r["source"]][0] for r in faces) / n,
        "face_found_editor_b": sum(found[r["source"]][1] for r in faces) / n,
        "share_with_face_found_a": sum(found[r["source"]][0] for r in faces) / max(len(rows), 1),
        "share_with_face_found_b": sum(found[r["source"]][1] for r in faces) / max(len(rows), 1),
        "distinct_sources": len(found),
    }


RECOVERY_KEYS = ("gt_psnr", "csim_gt", "dir_i", "identity_recovered")


def by_face_category(eval_dir: Path, n_boot: int = 1000) -> dict:
    """Per face category, from an evaluation's per-sample results: each editability method's SRCC/PLCC and
    each recovery method's mean metrics, all with 95% bootstrap intervals."""
    import pyarrow.parquet as pq

    from sppe_ray.metrics.editability import correlation_summary

    rows = [r for f in sorted((eval_dir / "results").glob("*.parquet")) for r in pq.read_table(f).to_pylist()
            if r["category"] in FACE_CATEGORIES and not r.get("error")]
    from sppe_ray.shards import read_manifest

    bench = Path(json.loads((eval_dir / "summary.json").read_text())["benchmark"]["path"])
    labels = {r["sample_id"]: r["editability"] for s in read_manifest(bench)["shards"]
              for r in pq.read_table(bench / s["name"], columns=["sample_id", "editability"]).to_pylist()}
    out: dict = {}
    rng = np.random.default_rng(0)
    for cat in FACE_CATEGORIES:
        mine = [r for r in rows if r["category"] == cat]
        ed = {}
        for method in sorted({r["method"] for r in mine if r["task"] == "editability"}):
            pairs = [(-r["score"] if json.loads(r["metrics"] or "{}").get("lower_better") else r["score"],
                      labels.get(r["sample_id"])) for r in mine
                     if r["task"] == "editability" and r["method"] == method]
            pairs = [(p, y) for p, y in pairs if p is not None and y is not None]
            if len(pairs) > 2:
                s = correlation_summary([p for p, _ in pairs], [y for _, y in pairs], n_boot=n_boot)
                ed[method] = {k: s[k] for k in ("srcc", "srcc_ci", "plcc", "plcc_ci", "n")}
        rec = {}
        for method in sorted({r["method"] for r in mine if r["task"] == "recovery"}):
            ms = [json.loads(r["metrics"]) for r in mine if r["task"] == "recovery" and r["method"] == method]
            rec[method] = {}
            for key in RECOVERY_KEYS:
                v = np.array([m[key] for m in ms if m.get(key) is not None], np.float64)
                v = v[np.isfinite(v)]
                if v.size:
                    boots = v[rng.integers(0, v.size, (n_boot, v.size))].mean(1)
                    rec[method][key] = {"mean": float(v.mean()), "ci": np.quantile(boots, [0.025, 0.975]).tolist(),
                                        "n": int(v.size)}
        out[cat] = {"editability": ed, "recovery": rec}
    return out


def main() -> None:
    from sppe_ray.config import sppe_home

    home = sppe_home() / "benchmarks"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmarks", nargs="*", type=Path,
                    default=[home / "sppe-mini", home / "sppe-mini-faces"], help="benchmark folders")
    ap.add_argument("--split", default="test", help="split to count")
    ap.add_argument("--eval-dir", type=Path, default=None,
                    help="an evaluation output folder: add per-face-category results with intervals")
    args = ap.parse_args()
    out = [share(b, args.split) for b in args.benchmarks]
    per_category = by_face_category(args.eval_dir) if args.eval_dir else {}
    print("| benchmark | samples | face+person | share | editor A finds the face | editor B finds it | "
          "share of the split with a found face (A / B) |")
    print("|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['benchmark']} | {r['samples']} | {r['face_person']} | {r['face_person_share']:.1%} | "
              f"{r['face_found_editor_a']:.0%} | {r['face_found_editor_b']:.0%} | "
              f"{r['share_with_face_found_a']:.1%} / {r['share_with_face_found_b']:.1%} |")
    for cat, res in per_category.items():
        for method, e in res["editability"].items():
            print(f"{cat} editability {method}: SRCC {e['srcc']:.3f} [{e['srcc_ci'][0]:.3f}, {e['srcc_ci'][1]:.3f}] "
                  f"PLCC {e['plcc']:.3f} (n={e['n']})")
        for method, r in res["recovery"].items():
            print(f"{cat} recovery {method}: " + ", ".join(
                f"{k} {v['mean']:.3f} [{v['ci'][0]:.3f}, {v['ci'][1]:.3f}]" for k, v in r.items()))
    print(json.dumps({"rows": out, "by_face_category": per_category, "cpus": os.cpu_count(),
                      "load_avg": os.getloadavg()}))


if __name__ == "__main__":
    main()
