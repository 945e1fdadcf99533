"""Face and person scenes built from real photos: either the photo itself (cropped around the person)
or the person pasted into the base photo (as a cut-out or a printed photograph)."""

from __future__ import annotations

import numpy as np

from sppe_ray.errors import BackendUnavailableError
from sppe_ray.privacy.geometry import mask_box
from sppe_ray.privacy.photos import FACE_BOXES, box_pixels, face_photos, person_photos, photo
from sppe_ray.privacy.synthetic.compose import Placement, apply_lighting, place, prepare_background
from sppe_ray.privacy.synthetic.scenes import crop_around, face_mask, person_mask, photo_canvas


def _pick(names: list[str], rng: np.random.Generator, what: str) -> str:
    if not names:
        raise BackendUnavailableError(f"no {what} photo available; install scikit-image (bundled samples)")
    return names[int(rng.integers(0, len(names)))]


def face_scene(base: np.ndarray, rng: np.random.Generator, size: int) -> tuple[Placement, str]:
    name = _pick(sorted(n for n, _ in face_photos()), rng, "face")
    mask = face_mask(name)
    if rng.random() < 0.65:
        box = box_pixels(FACE_BOXES[name], photo(name).shape)
        img, m = crop_around(photo(name), mask, box, rng, size, fill=(0.2, 0.55))
        return Placement(apply_lighting(img, rng), m, np.eye(3), {}), name
    canvas = photo_canvas(name, mask, rng, frame=True)
    return place(prepare_background(base, rng, size), canvas, rng, scale=(0.55, 0.9), tilt=10), name


def person_scene(base: np.ndarray, rng: np.random.Generator, size: int) -> tuple[Placement, str]:
    name = _pick(sorted(n for n, _ in person_photos()), rng, "person")
    mask = person_mask(name)
    if rng.random() < 0.6:
        box = mask_box(mask)
        img, m = crop_around(photo(name), mask, box, rng, size, fill=(0.8, 1.0))
        return Placement(apply_lighting(img, rng), m, np.eye(3), {}), name
    canvas = photo_canvas(name, mask, rng, frame=False)
    return place(prepare_background(base, rng, size), canvas, rng, scale=(0.5, 0.9), tilt=4, persp=0.02), name

