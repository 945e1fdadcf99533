"""ERMA batched inference throughput at 224 px, feature extraction included (decoded images in, scores out).

    python bench/erma_throughput.py [--n 320] [--batch 64] [--model FOLDER] [--workers 1,2] [--processes 2]
                                    [--benchmark-dir DIR] [--no-detectors] [--face-detector haar|lbp]
                                    [--image-encoder classic|mobilenet]

Workloads (rows of source, surrogate, mask, instruction):
- ``distinct``: photos (scikit-image samples, random crops and flips) with a rectangular private region
  blurred in the surrogate; every row has its own source and surrogate, so nothing can be reused between
  rows. The worst case for the feature cost.
- ``benchmark``: the same photos laid out like an SPPE benchmark split (sppe-mini's test split: each source
  with two surrogates, each pair with five instructions, rows grouped by source as the shards store them).
- ``split``: the test split of a built benchmark itself (`--benchmark-dir`, default the sppe-mini under
  SPPE_HOME when it exists), resized to 224 px, in shard order: what the evaluation job runs.
The extraction is a function of (source, surrogate, mask) only, so in the last two each pair is computed once
and each image analysed once (exact: keyed by pixel hashes).

Parallelism: ``workers_N`` is one predictor with N extraction threads; ``processes_N`` is N processes with one
thread each, splitting the rows into consecutive shares, the way the evaluation job splits them over its
actors (one per CPU) or a Serve deployment would over N replicas (start-up excluded: the clock starts when
every process is warm). OpenCV and torch run one thread each everywhere, so the columns compare.
Without --model the head is untrained (same cost); --no-detectors leaves out the detector-agreement block.
Prints one JSON object as its last line, with the machine's load average beside the figures (the machine is
shared; a loaded one reads slower).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
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


SURROGATES_PER_SOURCE, INSTRUCTIONS_PER_PAIR = 2, 5  # sppe-mini's layout
PROCESS_TIMEOUT_S = 600  # a process that crashed must not hang the bench


def _photo(rng: np.random.Generator, photos: list[np.ndarray], size: int) -> np.ndarray:
    p = photos[int(rng.integers(len(photos)))]
    side = int(rng.integers(size, min(p.shape[:2]) + 1))
    y, x = int(rng.integers(0, p.shape[0] - side + 1)), int(rng.integers(0, p.shape[1] - side + 1))
    img = cv2.resize(p[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[:, ::-1] if rng.random() < 0.5 else img)


def _surrogate(rng: np.random.Generator, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = img.shape[0]
    h, w = (int(v) for v in rng.integers(size // 8, size // 2, size=2))
    y0, x0 = int(rng.integers(0, size - h)), int(rng.integers(0, size - w))
    m = np.zeros((size, size), bool)
    m[y0 : y0 + h, x0 : x0 + w] = True
    s = img.copy()
    s[m] = cv2.GaussianBlur(img, (0, 0), 6)[m]
    return s, m


def make_samples(n: int, size: int, seed: int = 0, layout: str = "distinct"):
    """(sources, surrogates, masks, codes) of n rows in the given layout (see the module docstring)."""
    rng = np.random.default_rng(seed)
    photos = _photos()
    src, sur, masks, codes = [], [], [], []
    while len(src) < n:
        img = _photo(rng, photos, size)
        pairs = 1 if layout == "distinct" else SURROGATES_PER_SOURCE
        for _ in range(pairs):
            s, m = _surrogate(rng, img)
            picks = [int(rng.integers(65))] if layout == "distinct" else rng.choice(65, INSTRUCTIONS_PER_PAIR, False)
            for c in picks:
                src.append(img)
                sur.append(s)
                masks.append(m)
                codes.append(f"{1 + int(c):03d}")
    return src[:n], sur[:n], masks[:n], codes[:n]


def split_rows(folder: Path, size: int, split: str = "test"):
    """(sources, surrogates, masks, codes) of a built benchmark's split, resized to `size`, in shard order."""
    from sppe_ray.imageio import decode_image, decode_mask, resize_image, resize_mask
    from sppe_ray.shards import read_benchmark

    table = read_benchmark(folder, split, ["source", "surrogate", "mask", "instruction_code"], checksums=False)
    src, sur, masks = [], [], []
    for s_png, u_png, m_png in zip(*(table.column(c).to_pylist() for c in ("source", "surrogate", "mask")),
                                   strict=True):
        s = decode_image(s_png)
        src.append(resize_image(s, size))
        sur.append(resize_image(decode_image(u_png), size))
        masks.append(resize_mask(decode_mask(m_png, s.shape[:2]), size))
    return _share_pixels(src), _share_pixels(sur), masks, table.column("instruction_code").to_pylist()


def _share_pixels(images: list[np.ndarray]) -> list[np.ndarray]:
    """Rows decoded from the same PNG hold equal pixels; keep one array per distinct image, as a decoder
    with a cache would (memory only: the predictor keys on pixels either way)."""
    from sppe_ray.imageio import pixel_digest

    seen: dict[str, np.ndarray] = {}
    return [seen.setdefault(pixel_digest(img), img) for img in images]


def load_predictor(args):
    from sppe_ray.config import ERMAConfig
    from sppe_ray.models.erma import ERMAPredictor

    if args.model:
        return ERMAPredictor.load(args.model)
    faces = {"face_detector": args.face_detector} if args.face_detector else {}
    return ERMAPredictor.build(ERMAConfig(text_encoder="hashing", use_detectors=not args.no_detectors,
                                          image_encoder=args.image_encoder, **faces))


def throughput(pred, rows, workers: list[int], batch: int) -> dict[str, float]:
    """samples/s of `pred.predict` over `rows` for each number of extraction threads."""
    src, sur, masks, codes = rows
    out = {}
    for w in workers:
        pred.workers = w
        t = time.perf_counter()
        pred.predict(src, sur, codes, masks, batch_size=batch)
        out[f"workers_{w}"] = round(len(src) / (time.perf_counter() - t), 1)
    return out


def _process(args, rows, barrier, results) -> None:
    """One process: load the predictor, warm up, wait for the others, score its rows on one thread."""
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    pred = load_predictor(args)
    pred.workers = 1
    src, sur, masks, codes = rows
    pred.predict(src[:4], sur[:4], codes[:4], masks[:4])
    barrier.wait(timeout=PROCESS_TIMEOUT_S)
    t0 = time.perf_counter()
    pred.predict(src, sur, codes, masks, batch_size=args.batch)
    results.put((len(src), t0, time.perf_counter()))


def process_throughput(args, rows, parts: int) -> float:
    """samples/s of `parts` spawned processes scoring `rows` together (clock from the last one warm)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(parts), ctx.Queue()
    cuts = [len(rows[0]) * k // parts for k in range(parts + 1)]  # consecutive rows, as Ray Data hands out blocks
    shares = [tuple(x[a:b] for x in rows) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    procs = [ctx.Process(target=_process, args=(args, share, barrier, results)) for share in shares]
    for p in procs:
        p.start()
    try:
        done = [results.get(timeout=PROCESS_TIMEOUT_S) for _ in procs]
    except queue.Empty:
        codes = [p.exitcode for p in procs]
        for p in procs:
            p.kill()
        raise SystemExit(f"a bench process gave no result in {PROCESS_TIMEOUT_S} s (exit codes {codes})") from None
    for p in procs:
        p.join()
    return round(sum(d[0] for d in done) / (max(d[2] for d in done) - min(d[1] for d in done)), 1)


def main(argv: list[str] | None = None) -> int:
    from sppe_ray.config import sppe_home

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=320)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--model", help="saved ERMAPredictor folder (default: untrained head, classic + hashing)")
    p.add_argument("--workers", default="1,2", help="extraction threads to try, comma separated")
    p.add_argument("--processes", type=int, default=2, help="also run this many one-thread processes (0: no)")
    p.add_argument("--benchmark-dir", type=Path, default=sppe_home() / "benchmarks" / "sppe-mini",
                   help="built benchmark whose test split is the `split` workload (skipped when absent)")
    p.add_argument("--no-detectors", action="store_true", help="leave out the detector-agreement block")
    p.add_argument("--face-detector", choices=("haar", "lbp"), help="face search (default: erma's default)")
    p.add_argument("--image-encoder", default="classic", help="frozen image encoder: classic or mobilenet")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # one core per extraction thread, as in the processes: the columns compare
    cv2.setNumThreads(1)
    pred = load_predictor(args)
    workers = [int(v) for v in args.workers.split(",")]
    layouts = {
        "distinct": make_samples(args.n, args.size, layout="distinct"),
        "benchmark": make_samples(args.n, args.size, seed=1, layout="benchmark"),
    }
    if (args.benchmark_dir / "manifest.json").is_file():
        layouts["split"] = split_rows(args.benchmark_dir, args.size)
    src, sur, masks, codes = layouts["distinct"]
    pred.predict(src[:8], sur[:8], codes[:8], masks[:8])  # warm-up
    runs = {}
    for name, rows in layouts.items():
        runs[name] = throughput(pred, rows, workers, args.batch)
        if args.processes > 1:
            runs[name][f"processes_{args.processes}"] = process_throughput(args, rows, args.processes)
    pred.workers = 1
    t = time.perf_counter()
    feats = pred.extractor.extract(src[:64], sur[:64], masks[:64])
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    scores = pred.score_features(feats, np.zeros(len(feats["f_src"]), dtype=np.int64))
    t_head = time.perf_counter() - t
    result = {
        "bench": "erma_throughput",
        "image_size": args.size,
        "n": {name: len(rows[0]) for name, rows in layouts.items()},
        "batch_size": args.batch,
        "encoder": pred.encoders,
        **{f"samples_per_s_{name}": max(r.values()) for name, r in runs.items()},
        "by_parallelism": runs,
        "ms_per_sample_features_1thread_distinct": round(1000 * t_feat / 64, 2),
        "ms_per_sample_head": round(1000 * t_head / 64, 3),
        "score_range": [float(scores.min()), float(scores.max())],
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
