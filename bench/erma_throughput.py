"""ERMA batched inference throughput at 224 px, feature extraction included (decoded images in, scores out).

    python bench/erma_throughput.py [--n 256] [--batch 64] [--model FOLDER] [--workers 1,2] [--no-detectors]

Images are distinct photos (scikit-image samples, random crops and flips) with a rectangular private region
blurred in the surrogate, so no embedding can be reused between samples: this is the worst case for the
feature cost (the detector block's per-batch dedupe of identical triples never fires). Without --model the
head is untrained (same cost); --no-detectors measures the default without the detector-agreement block.
Prints one JSON object as its last line, with the machine's load average beside the figures (the machine is
shared; a loaded one reads slower).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _photos() -> list[np.ndarray]:
    from skimage import data

    out = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry"):
        img = getattr(data, name)()
        out.append(np.stack([img] * 3, axis=2) if img.ndim == 2 else img[..., :3])
    return out


def make_samples(n: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    photos = _photos()
    src, sur, masks = [], [], []
    for _ in range(n):
        p = photos[int(rng.integers(len(photos)))]
        side = int(rng.integers(size, min(p.shape[:2]) + 1))
        y, x = int(rng.integers(0, p.shape[0] - side + 1)), int(rng.integers(0, p.shape[1] - side + 1))
        img = cv2.resize(p[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
        img = np.ascontiguousarray(img[:, ::-1] if rng.random() < 0.5 else img)
        h, w = (int(v) for v in rng.integers(size // 8, size // 2, size=2))
        y0, x0 = int(rng.integers(0, size - h)), int(rng.integers(0, size - w))
        m = np.zeros((size, size), bool)
        m[y0 : y0 + h, x0 : x0 + w] = True
        s = img.copy()
        s[m] = cv2.GaussianBlur(img, (0, 0), 6)[m]
        src.append(img)
        sur.append(s)
        masks.append(m)
    return src, sur, masks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--model", help="saved ERMAPredictor folder (default: untrained head, classic + hashing)")
    p.add_argument("--workers", default="1,2", help="extraction threads to try, comma separated")
    p.add_argument("--no-detectors", action="store_true", help="leave out the detector-agreement block")
    args = p.parse_args(argv)

    from sppe_ray.config import ERMAConfig
    from sppe_ray.models.erma import ERMAPredictor

    if args.model:
        pred = ERMAPredictor.load(args.model)
    else:
        pred = ERMAPredictor.build(ERMAConfig(text_encoder="hashing", use_detectors=not args.no_detectors))
    src, sur, masks = make_samples(args.n, args.size)
    codes = [f"{1 + i % 65:03d}" for i in range(args.n)]
    pred.predict(src[:8], sur[:8], codes[:8], masks[:8])  # warm-up
    runs = {}
    for w in (int(v) for v in args.workers.split(",")):
        pred.workers = w
        t = time.perf_counter()
        scores = pred.predict(src, sur, codes, masks, batch_size=args.batch)
        dt = time.perf_counter() - t
        runs[f"workers_{w}"] = round(args.n / dt, 1)
    t = time.perf_counter()
    feats = pred.extractor.extract(src[:64], sur[:64], masks[:64])
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    pred.score_features(feats, np.zeros(len(feats["f_src"]), dtype=np.int64))
    t_head = time.perf_counter() - t
    result = {
        "bench": "erma_throughput",
        "image_size": args.size,
        "n": args.n,
        "batch_size": args.batch,
        "encoder": pred.encoders,
        "samples_per_s": max(runs.values()),
        "by_workers": runs,
        "ms_per_sample_features_1thread": round(1000 * t_feat / 64, 2),
        "ms_per_sample_head": round(1000 * t_head / 64, 3),
        "score_range": [float(scores.min()), float(scores.max())],
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
