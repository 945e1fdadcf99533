"""Recall@IoU0.5 and mean IoU of each detector kind on synthetic scenes with exact masks.

A ground-truth region counts as found when the detections of the right kind reach IoU >= 0.5 with it,
either one detection alone or the union of the detections that overlap it (OCR returns one box per
line, a sign or plate is one region). The composite detector is also scored on category accuracy.
Usage: python bench/detector_recall.py [--n 3] [--seed 0]; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sppe_ray.privacy.detectors import create_detector, mask_iou
from sppe_ray.privacy.photos import background_photos
from sppe_ray.privacy.synthetic import render_scene

FACE = ["a105_face_all"]
TEXT = ["a111_name_all", "a90_email", "a307_phone_number", "a106_address_current_all", "a82_date_time",
        "a108_license_plate_all", "a30_credit_card"]
CODES = ["a301_qr_code", "a302_barcode"]
PERSON = ["a109_person_body"]
KINDS = {"dlib": FACE, "haar": FACE, "rapidocr": TEXT, "tesseract": TEXT, "objects": CODES, "person": PERSON,
         "composite": FACE + TEXT + CODES + PERSON}


def match_iou(gt: np.ndarray, found: list[np.ndarray]) -> float:
    """Best of: single-detection IoU, IoU of the union of detections overlapping the ground truth."""
    if not found:
        return 0.0
    best = max(mask_iou(gt, m) for m in found)
    touching = [m for m in found if (m & gt).any()]
    if touching:
        best = max(best, mask_iou(gt, np.logical_or.reduce(touching)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3, help="scenes per category")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    photos = [img for _, img in background_photos()]
    scenes = {}
    for cat in sorted(set(sum(KINDS.values(), []))):
        scenes[cat] = [render_scene(cat, photos[int(rng.integers(len(photos)))], rng) for _ in range(args.n)]
    result: dict[str, dict] = {}
    for name, cats in KINDS.items():
        detector = create_detector(name)
        ious, hits, cat_ok, times = [], 0, 0, []
        per_cat: dict[str, float] = {}
        for cat in cats:
            cat_hits = 0
            for scene in scenes[cat]:
                t0 = time.perf_counter()
                found = detector.detect(scene.image)
                times.append(time.perf_counter() - t0)
                gt = scene.regions[0].mask
                iou = match_iou(gt, [r.mask for r in found])
                ious.append(iou)
                hit = iou >= 0.5
                hits += hit
                cat_hits += hit
                if hit and name == "composite":
                    best = max(found, key=lambda r: mask_iou(gt, r.mask) + (r.mask & gt).sum() / gt.sum())
                    cat_ok += best.category == cat
            per_cat[cat] = cat_hits / len(scenes[cat])
        entry = {"scenes": len(ious), "recall_iou50": hits / len(ious), "mean_iou": float(np.mean(ious)),
                 "ms_per_image": 1000 * float(np.mean(times)), "recall_by_category": per_cat}
        if name == "composite":
            entry["category_accuracy_of_found"] = cat_ok / max(1, hits)
        result[name] = entry
        print(name, json.dumps(entry), flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
