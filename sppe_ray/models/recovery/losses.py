"""The C2E-S2SER loss structure (SPPE_REFERENCE), written for the compact network.

total = reconstruction + lambda_cycle * swap/cycle + lambda_tag * tag

- reconstruction: L1 to the ground-truth edited source, weighted per pixel by 1 + alpha * (how much the
  surrogate changed there, normalised per sample to [0, 1]) + mask_weight * mask. Most pixels of a local
  edit do not change; without the weight the network learns "copy the source" and stops. The mask term (our
  addition, in the spirit of SOER's region weighting) keeps the private region — where identity lives — in
  focus even for edits that barely touch it.
- swap/cycle: exchange the roles of source and surrogate — from (surrogate, source, edited source, mask)
  re-generate the edited surrogate. The transfer must work in both directions, which stops the network from
  memorising "what surrogates look like" and forces it to read the evidence.
- tag: 3-way cross-entropy of the bottleneck's task-tag head (ADD_REMOVE / EDIT / STYLE).

A model here is any callable (source, surrogate, surrogate_edit, mask[, transfer]) -> (prediction, ...,
tag_logits) whose first output is the image and last the tag logits, so tests can plug in oracles. When the
batch holds the classical transfers (`transfer`, `transfer_swap`: c2e_net's starting point) they are passed
as the fifth argument, the swapped one to the swapped direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Model = Callable[..., tuple[torch.Tensor, ...]]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms; defaults mirror RecoveryConfig (lambda_cycle 0.5, lambda_tag 0.1)."""

    alpha: float = 4.0
    mask_weight: float = 1.0
    lambda_cycle: float = 0.5
    lambda_tag: float = 0.1


def change_weight(before: torch.Tensor, after: torch.Tensor, alpha: float,
                  mask: torch.Tensor | None = None, mask_weight: float = 0.0) -> torch.Tensor:
    """(N,1,H,W) weights 1 + alpha * |after - before| / per-sample max (+ mask_weight * mask).

    Normalising per sample makes a faint global restyle and a bold local sticker weigh their own changed
    pixels alike; an unchanged sample gets weight 1 everywhere (0/0 guarded).
    """
    mag = (after - before).abs().mean(1, keepdim=True)
    peak = mag.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    w = 1.0 + alpha * (mag / peak)
    if mask is not None and mask_weight:
        w = w + mask_weight * mask
    return w


def weighted_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted mean absolute error, normalised by the weight mass so the scale does not depend on alpha."""
    err = (pred - target).abs().mean(1, keepdim=True)
    return (err * weight).sum() / weight.sum().clamp_min(1e-12)


def reconstruction_loss(model: Model, batch: dict[str, torch.Tensor], w: LossWeights
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss of the forward direction; returns (loss, tag_logits) so the tag head is not run twice."""
    out = model(batch["source"], batch["surrogate"], batch["surrogate_edit"], batch["mask"],
                *_transfer(batch, "transfer"))
    weight = change_weight(batch["surrogate"], batch["surrogate_edit"], w.alpha, batch["mask"], w.mask_weight)
    return weighted_l1(out[0], batch["source_edit"], weight), out[-1]


def cycle_loss(model: Model, batch: dict[str, torch.Tensor], w: LossWeights) -> torch.Tensor:
    """Swap roles: predict the edited surrogate from (surrogate, source, edited source, mask)."""
    out = model(batch["surrogate"], batch["source"], batch["source_edit"], batch["mask"],
                *_transfer(batch, "transfer_swap"))
    weight = change_weight(batch["source"], batch["source_edit"], w.alpha, batch["mask"], w.mask_weight)
    return weighted_l1(out[0], batch["surrogate_edit"], weight)


def _transfer(batch: dict[str, torch.Tensor], key: str) -> list[torch.Tensor]:
    """[the batch's classical transfer for `key`] or [] (then the model uses its own fallback base)."""
    return [batch[key]] if key in batch else []


def tag_loss(tag_logits: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
    """3-way task-tag cross-entropy; tags are class indices (see base.TAG_INDEX)."""
    if tag_logits.shape[-1] != 3:
        raise ValueError(f"tag head must output 3 logits, got {tag_logits.shape[-1]}")
    return F.cross_entropy(tag_logits, tags.long())


def c2e_loss(model: Model, batch: dict[str, torch.Tensor], w: LossWeights = LossWeights()
             ) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its parts (floats for logging). `batch` holds NCHW tensors + optional `tag` indices.

    Both directions run as one forward pass over the concatenated batch: half the Python overhead, and a
    DistributedDataParallel model sees exactly one forward per backward.
    """
    src, sur, src_edit, sur_edit, mask = (batch[k] for k in ("source", "surrogate", "source_edit",
                                                              "surrogate_edit", "mask"))
    n = src.shape[0]
    fwd = _transfer(batch, "transfer")
    if w.lambda_cycle:
        swap = _transfer(batch, "transfer_swap")
        extra = [torch.cat([fwd[0], swap[0]])] if fwd and swap else []
        out = model(torch.cat([src, sur]), torch.cat([sur, src]), torch.cat([sur_edit, src_edit]),
                    torch.cat([mask, mask]), *extra)
    else:
        out = model(src, sur, sur_edit, mask, *fwd)
    pred, logits = out[0], out[-1]
    rec = weighted_l1(pred[:n], src_edit, change_weight(sur, sur_edit, w.alpha, mask, w.mask_weight))
    total = rec
    parts = {"loss_rec": float(rec.detach())}
    if w.lambda_cycle:
        cyc = weighted_l1(pred[n:], sur_edit, change_weight(src, src_edit, w.alpha, mask, w.mask_weight))
        total = total + w.lambda_cycle * cyc
        parts["loss_cycle"] = float(cyc.detach())
    if w.lambda_tag and "tag" in batch:
        tags = batch["tag"].long().repeat(logits.shape[0] // n)  # a swapped sample shows the same kind of edit
        tl = tag_loss(logits, tags)
        total = total + w.lambda_tag * tl
        parts["loss_tag"] = float(tl.detach())
        parts["tag_acc"] = float((logits.argmax(-1) == tags).float().mean())
    parts["loss"] = float(total.detach())
    return total, parts
