"""Backends behind the IQA registry: pyiqa under a no-download guard, OpenCV BRISQUE, skimage SSIM.

Every backend returns a batch scorer ``fn(refs, imgs) -> np.ndarray`` over lists of uint8 RGB images of one
shape (``refs`` is None for no-reference metrics). Nothing here may fetch weights: learned pyiqa metrics are
only built when their weights file already sits in pyiqa's cache, and while any pyiqa metric is being built
every download entry point (torch.hub, pyiqa, Hugging Face hub) is replaced by one that raises.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from sppe_ray.errors import BackendUnavailableError, ImageError

BatchFn = Callable[[list[np.ndarray] | None, list[np.ndarray]], np.ndarray]
BRISQUE_DIRS = (os.environ.get("SPPE_BRISQUE_DIR", ""), "/usr/share/opencv4/quality", "/usr/share/opencv/quality")
MS_SSIM_MIN_SIDE = 192  # pyiqa's 5-scale MS-SSIM needs >= ~180 px; smaller pairs are upscaled to this
# Learned metrics -> the pyiqa arch module whose default_model_urls name their weights.
LEARNED_ARCH = {
    "lpips": "lpips_arch", "dists": "dists_arch", "stlpips": "stlpips_arch", "topiq_fr": "topiq_arch",
    "afine_fr": "afine_arch", "nima": "nima_arch", "musiq": "musiq_arch", "maniqa": "maniqa_arch",
    "ahiq": "ahiq_arch",
}


class DownloadBlockedError(BackendUnavailableError):
    """A metric tried to fetch a file while downloads are disabled."""


def pyiqa_cache_dir() -> Path:
    """Where pyiqa looks for weights: ``$TORCH_HOME/hub/pyiqa`` (torch.hub's directory + ``pyiqa``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "pyiqa"


@contextlib.contextmanager
def no_downloads() -> Iterator[None]:
    """Make every download path raise DownloadBlockedError (naming the URL) for the duration."""
    import torch.hub

    def refuse(url: str, *args: object, **kwargs: object) -> None:
        raise DownloadBlockedError(f"{Path(urlparse(str(url)).path).name} is not in the local cache "
                                   f"({pyiqa_cache_dir()}); downloads are disabled.")

    patches: list[tuple[object, str, object]] = [(torch.hub, "download_url_to_file", refuse)]
    dl = importlib.import_module("pyiqa.utils.download_util")
    patches.append((dl, "download_url_to_file", refuse))
    with contextlib.suppress(ImportError):
        hf_const = importlib.import_module("huggingface_hub.constants")
        patches.append((hf_const, "HF_HUB_OFFLINE", True))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    old_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def learned_weights_reason(name: str) -> str | None:
    """None when some weights file of ``name`` is in pyiqa's cache, else why the metric is unavailable."""
    try:
        mod = importlib.import_module(f"pyiqa.archs.{LEARNED_ARCH[name]}")
    except ImportError as exc:
        return f"pyiqa cannot import its {name} architecture ({exc})"
    files = sorted({Path(urlparse(u).path).name for u in getattr(mod, "default_model_urls", {}).values()})
    cache = pyiqa_cache_dir()
    if not any((cache / f).exists() for f in files):
        shown = ", ".join(files[:3]) + (" ..." if len(files) > 3 else "")
        return f"learned weights not found in {cache} (expected {shown}); downloads are disabled"
    return None


def _niqe_params() -> Path | None:
    """pyiqa's NIQE parameter file if cached, else basicsr's niqe_pris_params.npz converted to pyiqa's .mat."""
    cached = pyiqa_cache_dir() / "niqe_modelparameters.mat"
    if cached.exists():
        return cached
    spec = importlib.util.find_spec("basicsr")  # locate the file without importing basicsr (heavy)
    if spec is None or not spec.submodule_search_locations:
        return None
    npz = Path(next(iter(spec.submodule_search_locations))) / "metrics" / "niqe_pris_params.npz"
    if not npz.exists():
        return None
    from scipy.io import savemat

    data = np.load(npz)
    out = Path(tempfile.gettempdir()) / f"sppe_niqe_{os.getpid()}.mat"
    savemat(out, {"mu_prisparam": data["mu_pris_param"], "cov_prisparam": data["cov_pris_param"]})
    return out


def _to_tensor(imgs: list[np.ndarray]):  # noqa: ANN202 - torch type kept out of module import
    import torch

    arr = np.stack(imgs).astype(np.float32) / 255.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _upscale_min_side(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) >= side:
        return img
    s = side / min(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)


def build_pyiqa(name: str, kind: str, pyiqa_name: str | None = None) -> BatchFn:
    """Create the pyiqa metric once (on CPU, no downloads) and wrap it as a batch scorer."""
    try:
        import pyiqa
        import torch
    except ImportError as exc:
        msg = f"pyiqa is not installed ({exc}); install pyiqa to use IQA metric {name}."
        raise BackendUnavailableError(msg) from exc
    kwargs = {}
    if name == "niqe":
        params = _niqe_params()
        if params is None:
            raise BackendUnavailableError(
                "niqe parameters not found (neither niqe_modelparameters.mat in the pyiqa cache nor basicsr's "
                "niqe_pris_params.npz); install basicsr or place the file in the cache to enable niqe.")
        kwargs["pretrained_model_path"] = str(params)
    with no_downloads():
        try:
            metric = pyiqa.create_metric(pyiqa_name or name, device=torch.device("cpu"), **kwargs)
        except DownloadBlockedError:
            raise
        except Exception as exc:  # pyiqa raises bare AssertionError/RuntimeError/OSError on missing pieces
            raise BackendUnavailableError(f"pyiqa could not build {name}: {type(exc).__name__}: {exc}") from exc
    metric.eval()

    def score(refs: list[np.ndarray] | None, imgs: list[np.ndarray]) -> np.ndarray:
        if name == "ms_ssim":
            imgs = [_upscale_min_side(x, MS_SSIM_MIN_SIDE) for x in imgs]
            refs = None if refs is None else [_upscale_min_side(x, MS_SSIM_MIN_SIDE) for x in refs]
        with torch.no_grad():
            out = metric(_to_tensor(imgs)) if kind == "nr" else metric(_to_tensor(imgs), _to_tensor(refs))
        return np.asarray(out.detach().cpu().numpy(), dtype=np.float64).reshape(len(imgs))

    score.lower_better = bool(metric.lower_better)  # type: ignore[attr-defined]  # pyiqa says, per metric
    return score


def brisque_files() -> tuple[Path, Path] | None:
    """OpenCV's BRISQUE model + range files (Debian opencv-data), or None."""
    for d in BRISQUE_DIRS:
        if d and (Path(d) / "brisque_model_live.yml").exists() and (Path(d) / "brisque_range_live.yml").exists():
            return Path(d) / "brisque_model_live.yml", Path(d) / "brisque_range_live.yml"
    return None


def build_brisque() -> BatchFn:
    """BRISQUE via cv2.quality (opencv-contrib) with the LIVE-trained SVM shipped in opencv-data."""
    if not hasattr(cv2, "quality"):
        raise BackendUnavailableError("cv2.quality is missing; install opencv-contrib-python-headless for brisque.")
    files = brisque_files()
    if files is None:
        raise BackendUnavailableError("BRISQUE model files not found; install Debian opencv-data or set "
                                      "SPPE_BRISQUE_DIR to a folder with brisque_model_live.yml.")
    model = cv2.quality.QualityBRISQUE_create(str(files[0]), str(files[1]))

    def score(refs: list[np.ndarray] | None, imgs: list[np.ndarray]) -> np.ndarray:
        return np.array([model.compute(cv2.cvtColor(x, cv2.COLOR_RGB2BGR))[0] for x in imgs], dtype=np.float64)

    return score


def build_skimage_ssim() -> BatchFn:
    """skimage SSIM on RGB in [0, 1] (uniform 7x7 window): ~15x faster than pyiqa's Gaussian SSIM on CPU."""

    def one(r: np.ndarray, x: np.ndarray) -> float:
        win = min(7, min(x.shape[:2]) // 2 * 2 - 1)
        return float(structural_similarity(r.astype(np.float32) / 255, x.astype(np.float32) / 255,
                                           channel_axis=2, data_range=1.0, win_size=win))

    def score(refs: list[np.ndarray] | None, imgs: list[np.ndarray]) -> np.ndarray:
        if refs is None:
            raise ImageError("ssim_skimage is full-reference: give one reference per image.")
        return np.array([one(r, x) for r, x in zip(refs, imgs, strict=True)], dtype=np.float64)

    return score
