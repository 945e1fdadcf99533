"""The `learned` surrogate strategy: the anonymizer fitted against the editor (setting 2) rewrites the region.

Like every strategy it returns a full image that make_surrogate composites inside the mask (ties broken, the
outside bit-exact), so the benchmark's privacy checks judge it as they judge the classical ones. The network is
fully convolutional: it runs at the image's own size (padded to even sides for its one pooling level).

Which weights: the folder given to ``use`` (a build passes `blackbox.learned_model` to its workers this way),
else the folder in SPPE_LEARNED_ANONYMIZER, else the `champion` of `sppe-anonymizer-editor` in this home's MLflow
registry; with none of them, one error names the ways to get one.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from sppe_ray.config_names import EDITOR_ANONYMIZER_MODEL
from sppe_ray.errors import BackendUnavailableError

ENV = "SPPE_LEARNED_ANONYMIZER"
_chosen: list[str] = []


def use(folder: str | Path | None) -> None:
    """Make ``folder`` this process's learned anonymizer (None: back to the environment and the registry)."""
    _chosen[:] = [str(folder)] if folder else []


def model_folder() -> Path:
    """The weights the strategy uses (see the module docstring)."""
    if _chosen:
        return Path(_chosen[0])
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    from sppe_ray import tracking

    found = tracking.download_model(EDITOR_ANONYMIZER_MODEL)
    if found is None:
        raise BackendUnavailableError(
            f"the learned strategy has no anonymizer: fit one with `sppe train anonymizer --setting 2` (registers "
            f"{EDITOR_ANONYMIZER_MODEL}), or set blackbox.learned_model or {ENV} to a fitted anonymizer folder")
    use(found[0])  # pinned for this process: one registry lookup, and no model change mid-build if the alias moves
    return found[0]


@functools.lru_cache(maxsize=2)
def _network(folder: str):
    from sppe_ray.train.anonymizer import load_model

    return load_model(folder)


def learned(image: np.ndarray, region, rng: np.random.Generator) -> np.ndarray:
    """The fitted anonymizer applied to the whole image (composited in the mask by make_surrogate)."""
    import torch

    net = _network(str(model_folder()))
    h, w = image.shape[:2]
    x = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge").astype(np.float32) / 255.0
    with torch.no_grad():
        y = net(torch.as_tensor(x.transpose(2, 0, 1)[None].copy()))[0].numpy().transpose(1, 2, 0)
    return (np.clip(y[:h, :w], 0, 1) * 255).round().astype(np.uint8)
