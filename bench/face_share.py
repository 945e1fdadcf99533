"""How much of a benchmark's split measures faces: face and person samples, and on how many of them each
offline editor's face-keyed edits actually happen (the editor finds a face in the source).

    python bench/face_share.py [BENCHMARK_DIR ...] [--split test]

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


def main() -> None:
    from sppe_ray.config import sppe_home

    home = sppe_home() / "benchmarks"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmarks", nargs="*", type=Path,
                    default=[home / "sppe-mini", home / "sppe-mini-faces"], help="benchmark folders")
    ap.add_argument("--split", default="test", help="split to count")
    args = ap.parse_args()
    out = [share(b, args.split) for b in args.benchmarks]
    print("| benchmark | samples | face+person | share | editor A finds the face | editor B finds it | "
          "share of the split with a found face (A / B) |")
    print("|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['benchmark']} | {r['samples']} | {r['face_person']} | {r['face_person_share']:.1%} | "
              f"{r['face_found_editor_a']:.0%} | {r['face_found_editor_b']:.0%} | "
              f"{r['share_with_face_found_a']:.1%} / {r['share_with_face_found_b']:.1%} |")
    print(json.dumps({"rows": out, "cpus": os.cpu_count(), "load_avg": os.getloadavg()}))


if __name__ == "__main__":
    main()
