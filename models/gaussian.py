"""Diagonal-Gaussian helpers shared by the objectives (log densities in nats, incl. log 2π)."""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def kl_per_latent(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ N(0, I)) per latent, averaged over the batch: (B, D) → (D,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).mean(0)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z | mu, exp(logvar)); broadcasts."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + z.pow(2))


def pairwise_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """ℓ[i, j, d] = log q(z_d^(i) | x_j): z (B, D), mu/logvar (B, D) → (B, B, D)."""
    return log_normal(z[:, None, :], mu[None, :, :], logvar[None, :, :])
