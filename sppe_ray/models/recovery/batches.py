"""Benchmark rows -> training crops -> tensors, shared by the Ray Data pipeline and the tests.

Why crops around the mask: the private region is where identity must survive and where the evidence is
hardest to read; random crops anywhere would mostly show background that the edited surrogate already
gets right. Each crop is drawn from an rng seeded by (seed, sample_id, k), so a run is reproducible and
the k-th crop of a sample differs from its other crops.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from sppe_ray.models.recovery.base import TAG_INDEX

IMAGE_COLUMNS: tuple[str, ...] = ("source", "surrogate", "surrogate_edit", "source_edit")
#: the classical transfer (c2e_net's starting point) of the forward and of the swapped (cycle) direction,
#: computed on the full image before cropping so a crop sees the same transfer as inference does
TRANSFER_COLUMNS: tuple[str, ...] = ("transfer", "transfer_swap")
#: benchmark columns the recovery trainer reads
COLUMNS: list[str] = ["sample_id", *IMAGE_COLUMNS, "mask", "task_tag", "instruction_code", "category"]
TEXT_COLUMNS: tuple[str, ...] = ("instruction_code", "category")


def sample_rng(seed: int, sample_id: str, k: int) -> np.random.Generator:
    """A reproducible generator per (seed, sample, crop index); crc32 is stable across processes."""
    return np.random.default_rng([int(seed), zlib.crc32(str(sample_id).encode()), int(k)])


def crop_window(mask: np.ndarray, size: int, rng: np.random.Generator | None) -> tuple[int, int]:
    """Top-left (y, x) of a size x size window holding a mask pixel; centred on the mask when rng is None.

    With an rng the window is centred on a random mask pixel plus jitter of a quarter window, so the
    region's border (where seams appear) is seen as often as its middle.
    """
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        cy, cx = h // 2, w // 2
        if rng is not None:
            cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    elif rng is None:
        cy, cx = int(ys.mean()), int(xs.mean())
    else:
        i = int(rng.integers(0, len(ys)))
        jitter = size // 4
        cy = int(ys[i]) + int(rng.integers(-jitter, jitter + 1))
        cx = int(xs[i]) + int(rng.integers(-jitter, jitter + 1))
    y0 = int(np.clip(cy - size // 2, 0, max(0, h - size)))
    x0 = int(np.clip(cx - size // 2, 0, max(0, w - size)))
    return y0, x0


def crop_arrays(arrays: dict[str, np.ndarray], mask: np.ndarray, size: int,
                rng: np.random.Generator | None) -> dict[str, np.ndarray]:
    """Crop every array (and the mask, key 'mask') to the same window; edge-pad images smaller than size."""
    h, w = mask.shape
    if h < size or w < size:
        pad = ((0, max(0, size - h)), (0, max(0, size - w)))
        arrays = {k: np.pad(v, pad + ((0, 0),) * (v.ndim - 2), mode="edge") for k, v in arrays.items()}
        mask = np.pad(mask, pad, mode="constant")
    y0, x0 = crop_window(mask, size, rng)
    out = {k: v[y0:y0 + size, x0:x0 + size] for k, v in arrays.items()}
    out["mask"] = mask[y0:y0 + size, x0:x0 + size]
    return out


def tag_index(task_tag: Any) -> int:
    """Class index of a task tag; an unknown tag is a data error, not a silent class."""
    tag = task_tag.decode() if isinstance(task_tag, bytes) else str(task_tag)
    if tag not in TAG_INDEX:
        raise ValueError(f"unknown task tag {tag!r}; expected one of {', '.join(TAG_INDEX)}")
    return TAG_INDEX[tag]


def decode_and_crop(batch: dict[str, np.ndarray], crop: int, seed: int = 0, crops_per_row: int = 1,
                    random: bool = True, with_text: bool = False, with_transfer: bool = False
                    ) -> dict[str, np.ndarray]:
    """Ray Data `map_batches` function (numpy format): PNG bytes -> `crops_per_row` aligned crops per row.

    Output columns: the four images as uint8 (N, crop, crop, 3), mask uint8 (N, crop, crop), tag int64 (all
    numeric: `iter_torch_batches` converts every column). `random=False` gives one deterministic crop
    centred on the mask (validation). `with_text` adds instruction_code and category (strings, for prompts;
    read those batches with `iter_batches`, not `iter_torch_batches`). `with_transfer` adds the classical
    transfer of both directions (TRANSFER_COLUMNS, uint8 images): the swapped one reads the ground truth, as
    the cycle loss's input, never the forward one.
    """
    from sppe_ray.imageio import decode_image, decode_mask
    from sppe_ray.models.recovery.baselines import LocalTransfer

    extra = TEXT_COLUMNS if with_text else ()
    transfers = TRANSFER_COLUMNS if with_transfer else ()
    cols: dict[str, list] = {k: [] for k in (*IMAGE_COLUMNS, *transfers, "mask", "tag", *extra)}
    lt = LocalTransfer()
    for i in range(len(batch["sample_id"])):
        images = {k: decode_image(bytes(batch[k][i])) for k in IMAGE_COLUMNS}
        shape = images["source"].shape[:2]
        mask = decode_mask(bytes(batch["mask"][i]), shape)
        if with_transfer:
            m = mask.astype(bool)
            images["transfer"] = lt.transfer(images["source"], images["surrogate"], images["surrogate_edit"], m)
            images["transfer_swap"] = lt.transfer(images["surrogate"], images["source"], images["source_edit"], m)
        for k in range(crops_per_row if random else 1):
            rng = sample_rng(seed, batch["sample_id"][i], k) if random else None
            cropped = crop_arrays(images, mask, crop, rng)
            for name in (*IMAGE_COLUMNS, *transfers):
                cols[name].append(cropped[name])
            cols["mask"].append(cropped["mask"].astype(np.uint8))
            cols["tag"].append(tag_index(batch["task_tag"][i]))
            for name in extra:
                cols[name].append(str(batch[name][i]))
    return {k: (np.array(v, dtype=object) if k in extra else np.stack(v)) for k, v in cols.items()}


def to_model_batch(batch: dict[str, Any], device: Any = "cpu") -> dict[str, Any]:
    """Crop columns (numpy or torch, NHWC uint8) -> float NCHW tensors in [0, 1] + tag indices."""
    import torch

    out: dict[str, Any] = {}
    for k in (*IMAGE_COLUMNS, *(c for c in TRANSFER_COLUMNS if c in batch)):
        t = torch.as_tensor(np.asarray(batch[k])) if not isinstance(batch[k], torch.Tensor) else batch[k]
        out[k] = t.to(device).permute(0, 3, 1, 2).float().div_(255.0)
    m = batch["mask"] if isinstance(batch["mask"], torch.Tensor) else torch.as_tensor(np.asarray(batch["mask"]))
    out["mask"] = m.to(device).float()[:, None]
    tag = batch["tag"] if isinstance(batch["tag"], torch.Tensor) else torch.as_tensor(np.asarray(batch["tag"]))
    out["tag"] = tag.to(device).long()
    return out


def flip_batch(batch: dict[str, Any], flags: Sequence[bool]) -> dict[str, Any]:
    """Mirror the selected samples horizontally (all image tensors together): cheap, label-preserving."""
    import torch

    idx = torch.as_tensor(list(flags), dtype=torch.bool)
    if not idx.any():
        return batch
    out = dict(batch)
    for k, v in batch.items():
        if k != "tag" and hasattr(v, "ndim") and v.ndim == 4:
            v = v.clone()
            v[idx] = v[idx].flip(-1)
            out[k] = v
    return out
