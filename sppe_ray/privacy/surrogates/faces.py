"""face_swap: put another person's face where the private one was.

Donors are the 100 face crops of scikit-image's LFW subset (upscaled) plus the real face photos of
sppe_ray.privacy.photos. A donor is aligned to the target by a similarity transform between dlib 5-point
landmarks (by boxes when landmarks cannot be found), colour-matched in Lab, and blended inside the mask
over an inpainted background, so no source face pixel survives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from sppe_ray.errors import BackendUnavailableError
from sppe_ray.privacy import fallbacks
from sppe_ray.privacy.detectors import weights
from sppe_ray.privacy.detectors.faces import find_faces
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.classic import background_fill
from sppe_ray.privacy.surrogates.masking import bbox_of

Box = tuple[int, int, int, int]
_LFW_SIDE, _LFW_PAD = 100, 25


@dataclass(frozen=True)
class Donor:
    """A donor face: RGB image, its 5 landmarks (or None), its face box and the mask of usable pixels."""

    name: str
    image: np.ndarray
    box: Box
    points: np.ndarray | None
    mask: np.ndarray


def landmarks5(image: np.ndarray, box: Box) -> np.ndarray | None:
    """dlib 5-point landmarks (5 x 2, x then y) for a face box; None when dlib is unavailable or fails."""
    try:
        import dlib

        shape = weights.dlib_pose5()(np.ascontiguousarray(image), dlib.rectangle(*(int(v) for v in box)))
    except (BackendUnavailableError, ImportError) as exc:
        fallbacks.note("face_swap: aligned by box, no dlib landmarks", exc)
        return None
    except RuntimeError:  # dlib's own failure on a degenerate box: align by box (not a missing backend)
        return None
    pts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    return pts if pts.shape == (5, 2) and np.isfinite(pts).all() else None


def _lfw_donors() -> list[Donor]:
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]  # the first 100 of the 200 crops are faces, the rest are not
    side, pad = _LFW_SIDE, _LFW_PAD
    out = []
    for i, face in enumerate(faces):
        big = cv2.resize((face * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
        rgb = cv2.copyMakeBorder(np.dstack([big] * 3), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        box = (pad, pad, pad + side, pad + side)
        mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
        cv2.ellipse(mask, (pad + side // 2, pad + side // 2), (int(side * 0.58), int(side * 0.72)), 0, 0, 360, 1, -1)
        out.append(Donor(f"lfw/{i}", rgb, box, landmarks5(rgb, box), mask.astype(bool)))
    return out


def _photo_donors() -> list[Donor]:
    try:
        from sppe_ray.privacy import photos
    except ImportError:
        return []
    out = []
    for name, img in photos.face_photos():
        box = photos.box_pixels(photos.FACE_BOXES[name], img.shape)
        x0, y0, x1, y1 = box
        mask = np.zeros(img.shape[:2], dtype=np.uint8)
        cv2.ellipse(mask, ((x0 + x1) // 2, (y0 + y1) // 2), (int((x1 - x0) * 0.6), int((y1 - y0) * 0.62)),
                    0, 0, 360, 1, -1)
        out.append(Donor(name, np.ascontiguousarray(img), box, landmarks5(img, box), mask.astype(bool)))
    return out


@functools.lru_cache(maxsize=1)
def donors() -> tuple[Donor, ...]:
    """Every donor face, prepared once per process (landmarks cost ~5 ms each)."""
    return tuple(_lfw_donors() + _photo_donors())


def target_box(image: np.ndarray, region: Region) -> Box:
    """The tight face box inside the region: the detector's, a fresh detection, or one derived from the oval."""
    box = region.known_box()
    if box is not None:
        return box
    x0, y0, x1, y1 = bbox_of(region.mask)
    pad = max(4, (x1 - x0) // 5)
    cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
    crop = image[cy0:min(image.shape[0], y1 + pad), cx0:min(image.shape[1], x1 + pad)]
    try:
        found = find_faces(np.ascontiguousarray(crop))
    except (BackendUnavailableError, ImportError) as exc:  # no detector: the box from the mask's geometry
        fallbacks.note("face_swap: face box from the mask's shape, no face detector", exc)
        found = []
    if found:
        (bx0, by0, bx1, by1), _ = max(found, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))
        return (bx0 + cx0, by0 + cy0, bx1 + cx0, by1 + cy0)
    w, h = (x1 - x0) / 1.24, (y1 - y0) / 1.6  # inverse of detectors.faces.face_region_mask
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * h
    return (int(cx - w / 2), int(cy - h / 2), int(cx + w / 2), int(cy + h / 2))


def _box_points(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float32)


def _transform(donor: Donor, dst_box: Box, dst_pts: np.ndarray | None) -> np.ndarray:
    if donor.points is not None and dst_pts is not None:
        matrix, _ = cv2.estimateAffinePartial2D(donor.points, dst_pts, method=cv2.LMEDS)
        if matrix is not None and np.isfinite(matrix).all():
            return matrix
    matrix, _ = cv2.estimateAffinePartial2D(_box_points(donor.box), _box_points(dst_box), method=cv2.LMEDS)
    return matrix


def _match_colour(donor: np.ndarray, target: np.ndarray, dmask: np.ndarray, tmask: np.ndarray) -> np.ndarray:
    """Per-channel Lab mean/std transfer from the target face to the donor face (std ratio clamped)."""
    d = cv2.cvtColor(donor, cv2.COLOR_RGB2LAB).astype(np.float32)
    t = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    for c in range(3):
        dm, ds = d[..., c][dmask].mean(), d[..., c][dmask].std()
        tm, ts = t[..., c][tmask].mean(), t[..., c][tmask].std()
        ratio = float(np.clip(ts / ds, 0.5, 2.0)) if ds > 1e-3 else 1.0
        d[..., c] = (d[..., c] - dm) * ratio + tm
    return cv2.cvtColor(np.clip(d, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _looks_like(a: np.ndarray, b: np.ndarray) -> bool:
    """Cheap same-photo test (grey 32 x 32 correlation), so a photo is never its own donor."""
    ga = cv2.resize(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), (32, 32)).astype(np.float32).ravel()
    gb = cv2.resize(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), (32, 32)).astype(np.float32).ravel()
    return bool(np.corrcoef(ga, gb)[0, 1] > 0.95) if ga.std() > 0 and gb.std() > 0 else False


def face_swap(image: np.ndarray, region: Region, rng: np.random.Generator, blend: str = "alpha") -> np.ndarray:
    """Swap in a random donor face; `blend` is "alpha" (feathered) or "seamless" (cv2.seamlessClone)."""
    h, w = image.shape[:2]
    box = target_box(image, region)
    dst_pts = landmarks5(image, box)
    tx0, ty0, tx1, ty1 = (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))
    pool = donors()
    donor = pool[int(rng.integers(len(pool)))]
    for _ in range(8):
        dx0, dy0, dx1, dy1 = donor.box
        if tx1 - tx0 < 4 or ty1 - ty0 < 4 or not _looks_like(donor.image[dy0:dy1, dx0:dx1], image[ty0:ty1, tx0:tx1]):
            break
        donor = pool[int(rng.integers(len(pool)))]
    matrix = _transform(donor, box, dst_pts)
    warped = cv2.warpAffine(donor.image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    wmask = cv2.warpAffine(donor.mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0
    inside = wmask & region.mask
    base = background_fill(image, region.mask, rng)
    if inside.sum() < 16:
        return base
    warped = _match_colour(warped, image, inside, region.mask)
    x0, y0, x1, y1 = bbox_of(inside)
    feather = max(1, min(x1 - x0, y1 - y0) // 10)
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=feather)
    alpha = cv2.GaussianBlur(core.astype(np.float32), (0, 0), feather / 2 + 0.5)[..., None]
    out = (base.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha + 0.5).astype(np.uint8)
    if blend == "seamless":
        m = (core * 255).astype(np.uint8)
        if m.any() and x0 > 1 and y0 > 1 and x1 < w - 1 and y1 < h - 1:
            try:
                out = cv2.seamlessClone(warped, out, m, ((x0 + x1) // 2, (y0 + y1) // 2), cv2.NORMAL_CLONE)
            except cv2.error:
                pass
    elif blend != "alpha":
        raise ValueError(f"unknown blend {blend!r}; choose 'alpha' or 'seamless'")
    return out
