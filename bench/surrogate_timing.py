"""Milliseconds per surrogate strategy at 256 px (and per leakage check), on the astronaut's face for face
strategies and a synthetic scene of the strategy's category otherwise. The last stdout line is JSON."""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
from skimage import data

from sppe_ray.privacy.detectors.faces import face_region_mask
from sppe_ray.privacy.photos import background_photos
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates import STRATEGIES, check_surrogate, make_surrogate
from sppe_ray.privacy.synthetic import render_scene

SCENE_FOR = {"text_rerender": "a111_name_all", "document_fake": "a30_credit_card",
             "plate_fake": "a108_license_plate_all", "handwriting_synth": "a26_handwriting",
             "signature_synth": "a8_signature", "fingerprint_synth": "a7_fingerprint", "code_fake": "a301_qr_code"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    face_img = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    box = (86, 28, 137, 97)
    face = Region("a105_face_all", face_region_mask((256, 256), box), meta={"box": box})
    photo = background_photos()[0][1]
    out: dict[str, dict] = {}
    for name in STRATEGIES:
        if STRATEGIES.entry(name).needs_weights:  # `learned`: fitted weights, timed with its fit
            continue
        if name in SCENE_FOR:
            scene = render_scene(SCENE_FOR[name], photo, rng)
            image, region = scene.image, scene.regions[0]
        else:
            image, region = face_img, face
        make_surrogate(image, region, name, rng)  # warm caches (donors, OCR sessions)
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            sur = make_surrogate(image, region, name, rng)
        ms = 1000 * (time.perf_counter() - t0) / args.repeat
        t0 = time.perf_counter()
        check = check_surrogate(image, sur, region)
        out[name] = {"ms": round(ms, 1), "check_ms": round(1000 * (time.perf_counter() - t0), 1),
                     "ok": check.ok, "identity_distance": check.identity_distance,
                     "text_similarity": check.text_similarity, "pixel_leak": check.pixel_leak}
        print(name, out[name], flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
