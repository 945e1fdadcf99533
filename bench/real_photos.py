"""Real photographs end to end: a folder of portraits from 0.3 to 12 megapixels through `sppe build --images`.

    python bench/real_photos.py [--out DIR] [--sizes 0.3,1,4,12]

Makes the folder from the offline photos (scikit-image astronaut and camera, OpenCV messi5, lena and
basketball1), each upscaled to every size in `--sizes` megapixels, in landscape and portrait framings, saved as
JPEG, plus one file that is not an image. Then:

1. builds a benchmark from the folder with the real build (Ray, the composite detector, default strategies)
   and reports samples kept, pass rate per strategy and the identity distance of every kept face surrogate;
2. runs each hiding strategy (fill, blur, pixelate, inpaint, face_swap) on every detected face of the framed
   scenes and reports its pass rate and identity-distance distribution.

Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HIDING = ("fill", "blur", "pixelate", "inpaint", "face_swap")


def _sources() -> dict[str, np.ndarray]:
    from skimage import data

    from sppe_ray.privacy.photos import face_photos, person_photos

    out = {"astronaut": data.astronaut(), "camera": np.dstack([data.camera()] * 3)}
    out.update({k.split("/")[-1]: v for k, v in face_photos() if k.startswith("opencv/")})
    out.update({k.split("/")[-1]: v for k, v in person_photos() if k == "opencv/basketball1"})
    return out


def make_folder(folder: Path, sizes_mp: list[float]) -> int:
    import cv2
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, img in _sources().items():
        h, w = img.shape[:2]
        for mp in sizes_mp:
            scale = (mp * 1e6 / (h * w)) ** 0.5
            big = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
            bh, bw = big.shape[:2]
            cuts = {"land": big[: round(bw * 0.66)] if bh > bw * 0.66 else big,
                    "port": big[:, : round(bh * 0.66)] if bw > bh * 0.66 else big}
            for tag, cut in cuts.items():
                Image.fromarray(np.ascontiguousarray(cut)).save(folder / f"{name}-{mp:g}mp-{tag}.jpg", quality=90)
                n += 1
    (folder / "notes.jpg").write_bytes(b"this is not an image")
    return n


def build(folder: Path, out: Path) -> dict:
    from sppe_ray.config import load_config
    from sppe_ray.pipelines.build import build_benchmark
    from sppe_ray.runtime import init_ray

    cfg = load_config(overrides=[f"build.images={folder}"])
    init_ray(cfg.ray.num_cpus)
    start = time.perf_counter()
    summary = build_benchmark(cfg, out, progress=True)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    return summary


def kept_identity(out: Path) -> dict[str, list[float]]:
    import pyarrow.parquet as pq

    dist: dict[str, list[float]] = defaultdict(list)
    seen = set()
    for path in sorted(out.glob("*.parquet")):
        table = pq.read_table(path, columns=["source_group", "strategy", "provenance"]).to_pylist()
        for row in table:
            key = (row["source_group"], row["strategy"])
            if key in seen:
                continue
            seen.add(key)
            for check in json.loads(row["provenance"])["surrogate_checks"]:
                if check.get("identity_distance") is not None:
                    dist[check["strategy"]].append(float(check["identity_distance"]))
    return dist


def per_strategy(folder: Path, grid: Path | None = None) -> dict[str, dict]:
    from tqdm import tqdm

    from sppe_ray.datasets.images import list_user_images, scene_from_entry
    from sppe_ray.errors import SPPEError
    from sppe_ray.privacy.detectors import create_detector
    from sppe_ray.privacy.surrogates import make_checked_surrogate

    detector = create_detector("composite")
    dist: dict[str, list[float]] = defaultdict(list)
    passed: dict[str, list[bool]] = defaultdict(list)
    rows: list[np.ndarray] = []
    for entry in tqdm(list_user_images(folder), desc="strategies per face"):
        try:
            scene = scene_from_entry(entry, 256, detector=detector)
        except SPPEError:
            continue
        for region in (r for r in scene.regions if r.category == "a105_face_all"):
            tiles = [_crop(scene.image, region)]
            for strategy in HIDING:
                surrogate, check, _ = make_checked_surrogate(scene.image, region, strategy, 0)
                passed[strategy].append(check.ok)
                tiles.append(_crop(surrogate, region, check))
                if check.identity_distance is not None:
                    dist[strategy].append(check.identity_distance)
            if "-land" in entry.path.name:
                rows.append(np.hstack(tiles))
    if grid is not None and rows:
        _save_grid(grid, rows)
    return {s: {"faces": len(passed[s]), "pass_rate": round(float(np.mean(passed[s])), 3) if passed[s] else None,
                "identity_distance": _quantiles(dist[s])} for s in HIDING}


def _crop(image: np.ndarray, region, check=None, side: int = 128) -> np.ndarray:
    """The face's neighbourhood at a fixed size, captioned with the check's identity distance."""
    import cv2

    x0, y0, x1, y1 = region.bbox
    pad = (x1 - x0) // 3
    crop = image[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
    tile = cv2.resize(np.ascontiguousarray(crop), (side, side), interpolation=cv2.INTER_AREA)
    if check is not None and check.identity_distance is not None:
        colour = (0, 160, 0) if check.ok else (200, 0, 0)
        cv2.putText(tile, f"{check.identity_distance:.2f}", (4, side - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 2)
    return tile


def _save_grid(path: Path, rows: list[np.ndarray]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.vstack(rows)).save(path)


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {}
    q = np.quantile(values, [0.0, 0.1, 0.5, 0.9, 1.0])
    return {"n": len(values), "min": round(q[0], 3), "p10": round(q[1], 3), "median": round(q[2], 3),
            "p90": round(q[3], 3), "max": round(q[4], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="work folder (default: a new temporary folder)")
    ap.add_argument("--sizes", default="0.3,1,4,12", help="photo sizes in megapixels, comma-separated")
    ap.add_argument("--grid", type=Path, help="write a PNG grid: face | fill | blur | pixelate | inpaint | face_swap")
    ap.add_argument("--grid-only", action="store_true", help="only the per-strategy pass and the grid (no build)")
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="sppe-real-photos-"))
    sizes = [float(s) for s in args.sizes.split(",")]
    photos = make_folder(work / "photos", sizes)
    if args.grid_only:
        print(json.dumps({"per_strategy_on_faces": per_strategy(work / "photos", args.grid)}, sort_keys=True))
        return
    summary = build(work / "photos", work / "benchmark")
    dist = kept_identity(work / "benchmark")
    result = {
        "cpus": os.cpu_count(), "photos": photos, "sizes_mp": sizes, "build_seconds": summary["seconds"],
        "name": summary["name"], "samples_kept": sum(summary["counts"].get("by_split", {}).values()),
        "skipped": summary["skipped"], "surrogate_pass_rate": summary["surrogate_pass_rate"],
        "kept_identity_distance": {s: _quantiles(v) for s, v in dist.items()},
        "kept_identity_all_above_0.6": all(d > 0.6 for v in dist.values() for d in v),
        "per_strategy_on_faces": per_strategy(work / "photos", args.grid),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
