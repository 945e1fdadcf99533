"""Real photographs available offline: scikit-image's bundled samples and Debian opencv-doc's example data.

Synthetic private content is composited onto these so scenes have natural statistics, and the few photos
with a person give real faces and bodies. Everything is read from disk (no downloads) and cached.
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

OPENCV_DATA_DIRS = ("/usr/share/doc/opencv-doc/examples/data", "/usr/share/opencv4/samples/data")

# Natural skimage samples (test charts, microscopy and synthetic shapes are left out on purpose).
_SKIMAGE = ("astronaut", "camera", "coffee", "chelsea", "rocket", "stereo_motorcycle", "page", "text")
_OPENCV = (
    "messi5.jpg", "basketball1.png", "baboon.jpg", "fruits.jpg", "building.jpg", "board.jpg", "home.jpg",
    "graf1.png", "apple.jpg", "orange.jpg", "butterfly.jpg", "aero1.jpg", "leuvenA.jpg", "stuff.jpg",
    "squirrel_cls.jpg", "rubberwhale1.png", "ela_original.jpg", "left.jpg", "smarties.png", "HappyFish.jpg",
    "box_in_scene.png", "licenseplate_motion.jpg", "lena.jpg",
)

# Hand-checked boxes, as fractions of width/height (x0, y0, x1, y1). Faces: the frontal face (brow to
# chin); persons: a box around the whole visible person, the seed of grabCut.
FACE_BOXES: dict[str, tuple[float, float, float, float]] = {
    "skimage/astronaut": (0.335, 0.11, 0.535, 0.38),
    "skimage/camera": (0.41, 0.12, 0.56, 0.33),
    "opencv/messi5": (0.405, 0.265, 0.485, 0.395),
    "opencv/lena": (0.40, 0.37, 0.68, 0.75),
}
PERSON_BOXES: dict[str, tuple[float, float, float, float]] = {
    "skimage/astronaut": (0.0, 0.02, 0.72, 1.0),
    "skimage/camera": (0.0, 0.08, 0.66, 1.0),
    "opencv/messi5": (0.12, 0.17, 0.83, 0.99),
    "opencv/basketball1": (0.03, 0.12, 0.28, 0.99),
}
# A rough outline inside each person (fractions): grabCut's "probably person" seed, so it does not lock
# onto whatever else has the most contrast in the box (the rocket, the tripod, a wall).
PERSON_CORES: dict[str, tuple[tuple[float, float], ...]] = {
    "skimage/astronaut": ((0.36, 0.06), (0.55, 0.06), (0.56, 0.38), (0.62, 0.45), (0.66, 0.6), (0.55, 0.68),
                          (0.5, 1.0), (0.05, 1.0), (0.05, 0.55), (0.2, 0.45), (0.35, 0.4)),
    "skimage/camera": ((0.33, 0.13), (0.52, 0.13), (0.55, 0.3), (0.6, 0.4), (0.55, 0.5), (0.4, 0.55),
                       (0.3, 1.0), (0.04, 1.0), (0.06, 0.55), (0.2, 0.36), (0.32, 0.32)),
    "opencv/messi5": ((0.42, 0.26), (0.47, 0.26), (0.5, 0.45), (0.55, 0.6), (0.5, 0.7), (0.44, 0.75),
                      (0.41, 0.6), (0.4, 0.4)),
    "opencv/basketball1": ((0.1, 0.16), (0.16, 0.16), (0.2, 0.3), (0.19, 0.6), (0.17, 0.95), (0.09, 0.95),
                           (0.07, 0.6), (0.07, 0.3)),
}
# Boxes that are surely not the person (fractions), where grabCut would otherwise leak: the flag next
# to the astronaut, the grass between the cameraman's coat and his tripod.
PERSON_EXCLUDE: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "skimage/astronaut": ((0.0, 0.0, 0.09, 0.5), (0.6, 0.0, 1.0, 0.6), (0.6, 0.68, 1.0, 1.0)),
    "skimage/camera": ((0.36, 0.7, 0.7, 1.0), (0.62, 0.4, 1.0, 1.0), (0.0, 0.0, 0.3, 0.12)),
}
# Photos that show something private themselves (faces, text, a plate): never used as plain backgrounds.
_NOT_BACKGROUND = {
    "skimage/astronaut", "skimage/camera", "skimage/page", "skimage/text", "opencv/messi5",
    "opencv/basketball1", "opencv/licenseplate_motion", "opencv/lena",
}


def _to_rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img.astype(np.uint8))


def _skimage_photos() -> list[tuple[str, np.ndarray]]:
    import skimage.data

    out = []
    for name in _SKIMAGE:
        try:
            img = getattr(skimage.data, name)()
        except Exception as exc:  # a sample that needs a download is simply skipped
            log.info("skimage sample %s unavailable: %s", name, exc)
            continue
        if isinstance(img, tuple):  # stereo pairs: keep the left view
            img = img[0]
        out.append((f"skimage/{name}", _to_rgb(img)))
    return out


def opencv_data_dir() -> Path | None:
    """Folder of opencv-doc example data (SPPE_OPENCV_DATA overrides), or None when not installed."""
    env = os.environ.get("SPPE_OPENCV_DATA")
    for folder in ([env] if env else []) + list(OPENCV_DATA_DIRS):
        if folder and Path(folder).is_dir():
            return Path(folder)
    return None


def _read_any(path: Path) -> np.ndarray | None:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _opencv_photos() -> list[tuple[str, np.ndarray]]:
    folder = opencv_data_dir()
    if folder is None:
        log.warning("opencv-doc example data not found (%s); using scikit-image photos only",
                    ", ".join(OPENCV_DATA_DIRS))
        return []
    out = []
    for file in _OPENCV:
        path = next((p for p in (folder / file, folder / f"{file}.gz") if p.is_file()), None)
        if path is None:
            continue
        img = _read_any(path)
        if img is not None:
            out.append((f"opencv/{file.split('.')[0]}", img))
    return out


@functools.lru_cache(maxsize=1)
def _all_photos() -> tuple[tuple[str, np.ndarray], ...]:
    photos = _skimage_photos() + _opencv_photos()
    for _, img in photos:
        img.setflags(write=False)  # shared cache: a caller that edits must copy
    return tuple(photos)


def real_photos() -> list[tuple[str, np.ndarray]]:
    """Every available photo as (stable name, read-only RGB uint8), e.g. ("opencv/messi5", img)."""
    return list(_all_photos())


def photo(name: str) -> np.ndarray:
    """One photo by its stable name; KeyError listing the names when absent."""
    for n, img in _all_photos():
        if n == name:
            return img
    raise KeyError(f"no photo named {name!r}; available: {', '.join(n for n, _ in _all_photos())}")


def face_photos() -> list[tuple[str, np.ndarray]]:
    """Photos with a known frontal face (box in FACE_BOXES)."""
    return [(n, img) for n, img in _all_photos() if n in FACE_BOXES]


def person_photos() -> list[tuple[str, np.ndarray]]:
    """Photos with a known whole person (box in PERSON_BOXES)."""
    return [(n, img) for n, img in _all_photos() if n in PERSON_BOXES]


def background_photos() -> list[tuple[str, np.ndarray]]:
    """Photos with nothing private in them, to composite synthetic private content onto."""
    return [(n, img) for n, img in _all_photos() if n not in _NOT_BACKGROUND]


def box_pixels(box: tuple[float, float, float, float], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A fractional (x0, y0, x1, y1) box in pixels of an image of `shape`."""
    h, w = shape[:2]
    return (int(box[0] * w), int(box[1] * h), int(round(box[2] * w)), int(round(box[3] * h)))
