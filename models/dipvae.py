"""DIP-VAE-I and DIP-VAE-II (Kumar, Sattigeri & Balakrishnan 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations", ICLR), as disentanglement_lib trains them.

loss = recon + KL + λ_od·Σ_{i≠j} C_ij² + λ_d·Σ_i (C_ii − 1)², with C estimated on the minibatch:

- DIP-VAE-I:  C = Cov_batch(μ) = E[μμᵀ] − E[μ]E[μ]ᵀ (1/B normalisation);
- DIP-VAE-II: C = Cov_batch(μ) + E_batch[diag exp(logvar)] (the covariance of q(z) under the aggregate posterior).

dlib sets λ_d = ``lambda_d_factor``·λ_od with factor 10 (type i) and 1 (type ii); λ_d omitted here
means that default. KL is summed over latents and averaged over the batch (``docs/objectives.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from .hparams import require_nonnegative
from .networks import GaussianVAE
from .vae import _base_terms


def batch_covariance(mu: torch.Tensor) -> torch.Tensor:
    """E[μμᵀ] − E[μ]E[μ]ᵀ over the batch (biased, 1/B): (B, D) → (D, D)."""
    mean = mu.mean(0)  # (D,)
    return (mu[:, :, None] * mu[:, None, :]).mean(0) - mean[:, None] * mean[None, :]


def dip_regularizer(mu: torch.Tensor, logvar: torch.Tensor, lambda_od: float, lambda_d: float, dip_type: str) -> torch.Tensor:
    """λ_od·Σ_{i≠j} C_ij² + λ_d·Σ_i (C_ii − 1)² (the DIP terms, without the KL): mu, logvar (B, D) → scalar."""
    cov = batch_covariance(mu)  # (D, D)
    if dip_type == "ii":
        cov = cov + torch.diag(logvar.exp().mean(0))
    elif dip_type != "i":
        raise ValueError(f"dip_type must be 'i' or 'ii', got {dip_type!r}")
    diag = torch.diagonal(cov)  # (D,)
    off = cov - torch.diag(diag)
    return lambda_od * off.pow(2).sum() + lambda_d * (diag - 1).pow(2).sum()


@dataclass(frozen=True)
class DIPVAEI:
    """DIP-VAE-I objective; ``lambda_d`` None → 10·λ_od (dlib's ``lambda_d_factor``)."""

    lambda_od: float = field(default=10.0, metadata={"help": "off-diagonal covariance weight λ_od"})
    lambda_d: float | None = field(default=None, metadata={"help": "diagonal weight λ_d (default 10·λ_od for dipvae1, λ_od for dipvae2)"})
    dip_type: ClassVar[str] = "i"
    lambda_d_factor: ClassVar[float] = 10.0

    def __post_init__(self) -> None:
        require_nonnegative(self, "lambda_od")
        if self.lambda_d is None:
            object.__setattr__(self, "lambda_d", self.lambda_d_factor * self.lambda_od)
        require_nonnegative(self, "lambda_d")

    def __call__(self, recon, mu, logvar, z, step: int) -> dict[str, torch.Tensor]:
        t = _base_terms(recon, mu, logvar)
        t["dip_regularizer"] = dip_regularizer(mu, logvar, self.lambda_od, self.lambda_d, self.dip_type)
        t["loss"] = recon + t["kl"] + t["dip_regularizer"]
        return t


@dataclass(frozen=True)
class DIPVAEII(DIPVAEI):
    """DIP-VAE-II objective; ``lambda_d`` None → λ_od."""

    dip_type: ClassVar[str] = "ii"
    lambda_d_factor: ClassVar[float] = 1.0


class DIPVAEIModel(GaussianVAE):
    Config = DIPVAEI
    summary = "DIP-VAE-I (Kumar et al. 2018): recon + KL + DIP penalty on Cov[μ]"


class DIPVAEIIModel(GaussianVAE):
    Config = DIPVAEII
    summary = "DIP-VAE-II (Kumar et al. 2018): recon + KL + DIP penalty on Cov[μ] + E[diag σ²]"
