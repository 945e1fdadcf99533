"""The anonymizer's two losses on one batch, as the optimisers see them (``optimizers.Problem``).

- L_MLLM (black box): the mean of -log p(correct answer) over the batch, from the class probabilities the black
  box returns for the anonymized images (an LLM API's top log-probabilities play that part for a real MLLM; a
  0/1 correctness loss is too coarse for two-sided SPSA).
- L_Privacy (white box): ln 2 minus the mean binary entropy of the reviewer's attribute predictions on the
  anonymized images, in [0, ln 2]: 0 when the reviewer cannot tell any attribute (every prediction 0.5). Its
  gradient flows by backprop through the frozen reviewer and the anonymizer (``privacy="entropy"``, VITA's
  label-free term).
- ``privacy="confusion"`` (SPAct's label-based negative cross-entropy, bounded): the mean over samples and
  attributes of max(0, ln 2 - BCE(reviewer, true attribute)), in [0, ln 2]: 0 once every prediction is at
  chance or on the wrong side. It needs the training set's attribute labels; on setting 1 the entropy term stalls
  at a fooled-but-still-ranked reviewer (cMAP 0.80 from 0.86), which this term moves past (docs/anonymizer.md).

theta is the anonymizer's parameter vector; the anonymizer is the only trained module.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sppe_ray.blackbox.networks import get_theta, grad_theta, set_theta
from sppe_ray.blackbox.query import CountedBlackBox


class AnonymizerProblem:
    """Losses of ``anonymizer`` on ``images`` (n, 3, H, W) with utility ``labels`` and sample ids ``ids``."""

    def __init__(self, anonymizer: nn.Module, blackbox: CountedBlackBox, reviewer: nn.Module, images: np.ndarray,
                 labels: np.ndarray, ids: list[str], attributes: np.ndarray | None = None,
                 privacy: str = "entropy") -> None:
        if privacy not in ("entropy", "confusion"):
            raise ValueError(f"unknown privacy loss {privacy!r}: entropy or confusion")
        if privacy == "confusion" and attributes is None:
            raise ValueError("privacy='confusion' needs the images' attribute labels")
        self.privacy = privacy
        self.attributes = None if attributes is None else torch.as_tensor(attributes, dtype=torch.float32)
        self.anonymizer, self.blackbox, self.reviewer = anonymizer, blackbox, reviewer.eval()
        for p in self.reviewer.parameters():
            p.requires_grad_(False)
        self.images, self.labels, self.ids = torch.as_tensor(images), np.asarray(labels), list(ids)

    def theta(self) -> np.ndarray:
        return get_theta(self.anonymizer)

    def _set(self, theta: np.ndarray) -> None:
        set_theta(self.anonymizer, theta)

    def anonymize(self, theta: np.ndarray) -> np.ndarray:
        self._set(theta)
        with torch.no_grad():
            return self.anonymizer(self.images).numpy()

    def blackbox_loss(self, theta: np.ndarray) -> float:
        return self._nll(self.blackbox(self.anonymize(theta), self.ids))

    def blackbox_losses(self, thetas: list[np.ndarray]) -> list[float]:
        """The black-box loss at each of ``thetas``, queried together (``CountedBlackBox.many``)."""
        batches = [self.anonymize(t) for t in thetas]
        return [self._nll(p) for p in self.blackbox.many(batches, self.ids)]

    def _nll(self, probs: np.ndarray) -> float:
        return float(-np.mean(np.log(np.clip(probs[np.arange(len(self.labels)), self.labels], 1e-9, 1.0))))

    def privacy_loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self._set(theta)
        self.anonymizer.zero_grad(set_to_none=True)
        logits = self.reviewer(self.anonymizer(self.images))
        if self.privacy == "confusion":
            bce = nn.functional.binary_cross_entropy_with_logits(logits, self.attributes, reduction="none")
            loss = torch.clamp(math.log(2.0) - bce, min=0.0).mean()
        else:
            p = torch.sigmoid(logits)
            entropy = -(p * torch.log(p.clamp_min(1e-7)) + (1 - p) * torch.log((1 - p).clamp_min(1e-7)))
            loss = math.log(2.0) - entropy.mean()
        loss.backward()
        return float(loss.detach()), grad_theta(self.anonymizer)
