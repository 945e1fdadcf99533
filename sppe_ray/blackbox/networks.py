"""The three networks of setting 1: the anonymizer f_A (a tiny U-Net), the privacy reviewer f_P (white box) and
the utility classifier that is frozen behind the black-box interface.

Sizes: f_A has 2 levels of 8 and 16 channels, about 6k parameters, so SPSA over every parameter stays tractable
on a CPU; the paper's U-Net (Ronneberger 2015) has about 31M. f_A starts as the identity (its output layer is
zero), so training starts from the raw data's utility.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1),
                         nn.ReLU())


class TinyUNet(nn.Module):
    """x + residual(x), clamped to [0, 1]; two levels (8 and 16 channels), one skip connection."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.enc1, self.enc2 = _block(3, width), _block(width, 2 * width)
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec = _block(2 * width, width)
        self.out = nn.Conv2d(width, 3, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))
        d = self.dec(torch.cat([self.up(e2), e1], dim=1))
        return torch.clamp(x + self.out(d), 0.0, 1.0)


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]


class SmallCNN(nn.Module):
    """A four-layer convolutional classifier with batch norm (the utility model and the reviewer share the shape;
    without batch norm the shape classes stayed at 0.6-0.7 top-1 after 1500 steps)."""

    def __init__(self, n_out: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(*_conv_bn(3, w), nn.MaxPool2d(2), *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
                                 *_conv_bn(2 * w, 2 * w), nn.MaxPool2d(2), *_conv_bn(2 * w, 2 * w),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * w, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def get_theta(model: nn.Module) -> np.ndarray:
    """The module's parameters as one float64 vector: what the optimisers move."""
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy().astype(np.float64)


def set_theta(model: nn.Module, theta: np.ndarray) -> nn.Module:
    """Load a parameter vector into the module (in place); returns it."""
    torch.nn.utils.vector_to_parameters(torch.as_tensor(theta, dtype=torch.float32), model.parameters())
    return model


def grad_theta(model: nn.Module) -> np.ndarray:
    """The gradient left by ``backward`` as one float64 vector (zeros where a parameter got none)."""
    return torch.cat([q.grad.reshape(-1) if q.grad is not None else torch.zeros(q.numel())
                      for q in model.parameters()]).numpy().astype(np.float64)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fit_classifier(model: nn.Module, images: np.ndarray, targets: np.ndarray, multilabel: bool, steps: int = 300,
                   batch: int = 64, lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """Adam with a cosine learning-rate decay (a constant rate left the last batch-norm statistics noisy) on
    cross-entropy (utility) or binary cross-entropy (multi-label reviewer); returns the model in eval."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    x_all, y_all = torch.as_tensor(images), torch.as_tensor(targets)
    loss_fn = nn.BCEWithLogitsLoss() if multilabel else nn.CrossEntropyLoss()
    model.train()
    for _ in range(steps):
        idx = torch.as_tensor(rng.integers(0, len(x_all), batch))
        opt.zero_grad()
        loss_fn(model(x_all[idx]), y_all[idx]).backward()
        opt.step()
        schedule.step()
    return model.eval()


def cmap(scores: np.ndarray, truth: np.ndarray) -> float:
    """Class-wise mean average precision over the attributes with both outcomes present (the paper's cMAP)."""
    from sklearn.metrics import average_precision_score

    aps = [average_precision_score(truth[:, k], scores[:, k]) for k in range(truth.shape[1])
           if 0 < truth[:, k].sum() < len(truth)]
    return float(np.mean(aps)) if aps else float("nan")
