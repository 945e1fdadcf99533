"""What a build ran on: library versions, CPU SIMD features, thread settings, time zone.

Why recorded: a benchmark is identified by its manifest hash, and numpy picks AVX-512 or AVX2 kernels of
`exp`, `log`, `arctan2` and `power` at run time, which differ in the last bit; the same config built on two
CPUs can then differ in a few pixels of some edits and labels. The record lets a user see at once whether two
builds ran on comparable machines. It lives in the manifest under `environment`, which the manifest hash
leaves out (the hash identifies contents, not where they were made).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import time
from typing import Any

PACKAGES = ("numpy", "opencv-contrib-python-headless", "pillow", "scikit-image", "pyarrow", "faker", "torch", "ray")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED", "TZ")


def environment_record() -> dict[str, Any]:
    """A JSON-able description of this process's numeric environment."""
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": _cpu_model(),
            "numpy_simd": _numpy_simd(), "opencv_threads": _cv2_threads(), "versions": versions,
            "env": {k: os.environ.get(k) for k in THREAD_VARS}, "utc_offset_s": -time.timezone,
            "photo_pool": _photo_pool()}


def _photo_pool() -> list[str]:
    """The real photos scenes are drawn on (skimage's and Debian opencv-doc's, whose version is not pinned)."""
    from sppe_ray.privacy import photos

    return [name for name, _ in photos.real_photos()]


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            return next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None)
    except OSError:
        return platform.processor() or None


def _numpy_simd() -> list[str]:
    """The dispatch targets numpy uses on this CPU (the ones whose results can differ across CPUs)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # another numpy layout: record nothing rather than guess
        return []
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def _cv2_threads() -> int | None:
    try:
        import cv2

        return int(cv2.getNumThreads())
    except ImportError:
        return None
