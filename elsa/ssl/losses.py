"""The three self-supervised losses, written as in the authors' reference code.

Each takes the two views' outputs ``(N, D)`` and returns ``(loss, parts)`` where
``parts`` maps each term's name to its (detached) float value, for the training log.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _off_diagonal(m: torch.Tensor) -> torch.Tensor:
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def vicreg_loss(z1, z2, sim_coeff: float = 25.0, std_coeff: float = 25.0, cov_coeff: float = 1.0):
    """VICReg (Bardes, Ponce and LeCun, 2022), as in facebookresearch/vicreg ``main_vicreg.py``.

    invariance = mean squared difference; variance = mean over dimensions of
    ``relu(1 - sqrt(var + 1e-4))`` averaged over the two views (unbiased variance);
    covariance = sum of squared off-diagonal covariances divided by D, summed over views.
    """
    n, d = z1.shape
    inv = F.mse_loss(z1, z2)
    z1 = z1 - z1.mean(dim=0)
    z2 = z2 - z2.mean(dim=0)
    std1 = torch.sqrt(z1.var(dim=0) + 1e-4)
    std2 = torch.sqrt(z2.var(dim=0) + 1e-4)
    std = torch.mean(F.relu(1 - std1)) / 2 + torch.mean(F.relu(1 - std2)) / 2
    cov1 = (z1.T @ z1) / (n - 1)
    cov2 = (z2.T @ z2) / (n - 1)
    cov = _off_diagonal(cov1).pow(2).sum() / d + _off_diagonal(cov2).pow(2).sum() / d
    loss = sim_coeff * inv + std_coeff * std + cov_coeff * cov
    return loss, {"invariance": inv.item(), "variance": std.item(), "covariance": cov.item()}


def barlow_twins_loss(z1, z2, lambd: float = 0.0051):
    """Barlow Twins (Zbontar et al., 2021), as in facebookresearch/barlowtwins ``main.py``.

    Each dimension is standardised over the batch (``BatchNorm1d(affine=False)`` in
    training mode: biased variance, eps 1e-5); ``c = z1n.T @ z2n / N``; the loss is
    ``sum((diag(c) - 1)^2) + lambd * sum(offdiag(c)^2)``.
    """
    n = z1.shape[0]
    z1n = (z1 - z1.mean(0)) / torch.sqrt(z1.var(0, unbiased=False) + 1e-5)
    z2n = (z2 - z2.mean(0)) / torch.sqrt(z2.var(0, unbiased=False) + 1e-5)
    c = (z1n.T @ z2n) / n
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    off_diag = _off_diagonal(c).pow(2).sum()
    loss = on_diag + lambd * off_diag
    return loss, {"on_diagonal": on_diag.item(), "off_diagonal": off_diag.item()}


def simsiam_loss(p1, p2, z1, z2):
    """SimSiam (Chen and He, 2021): symmetric negative cosine, stop-gradient on ``z``."""
    loss = -(F.cosine_similarity(p1, z2.detach(), dim=-1).mean() + F.cosine_similarity(p2, z1.detach(), dim=-1).mean()) / 2
    return loss, {"negative_cosine": loss.item()}
