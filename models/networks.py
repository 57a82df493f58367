"""Encoders and decoders for 64×64 images.

- ``conv`` — disentanglement_lib's ``conv_encoder``/``deconv_decoder`` as the released models used
  it (Locatello et al. 2019, Table 2 + code): conv 32-32-64-64 with kernels 4, 4, **2, 2** (stride 2),
  FC 256, two linear heads; decoder FC 256 → 1024 → 4×4×64, transposed convs 64-32-32-C (k4, s2).
- ``conv4`` — the same with 4×4 kernels in all four conv layers, as the paper's Table 2 states
  (disentanglement_lib #23: paper and code disagree; the released models use 2×2 in layers 3–4).
- ``mlp`` — Higgins et al. 2017 / Chen et al. 2018 dSprites MLP: 4096 → 1200 → 1200 (ReLU) → 2·D;
  decoder D → 1200 → 1200 → 1200 (tanh) → 4096·C.

TF "same" padding on even inputs maps to ``padding=1`` for k4/s2 and ``padding=0`` for k2/s2.
Every decoder returns logits (or means, for the Gaussian likelihood) of shape (B, C, 64, 64).

Protocol: ``docs/objectives.md#networks``.
"""

from __future__ import annotations

import torch
from torch import nn

from .interface import VAEModel


class ConvEncoder(nn.Module):
    def __init__(self, channels: int = 1, latent_dim: int = 10, small_kernels: bool = True) -> None:
        super().__init__()
        k, p = (2, 0) if small_kernels else (4, 1)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(),  # (B, 32, 32, 32)
            nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),  # (B, 32, 16, 16)
            nn.Conv2d(32, 64, k, 2, p), nn.ReLU(),  # (B, 64, 8, 8)
            nn.Conv2d(64, 64, k, 2, p), nn.ReLU(),  # (B, 64, 4, 4)
            nn.Flatten(),  # (B, 1024)
            nn.Linear(1024, 256), nn.ReLU(),
        )
        self.mean = nn.Linear(256, latent_dim)
        self.logvar = nn.Linear(256, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)  # (B, 256)
        return self.mean(h), self.logvar(h)  # (B, D), (B, D)


class ConvDecoder(nn.Module):
    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 1024), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(),  # (B, 64, 8, 8)
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # (B, 32, 16, 16)
            nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(),  # (B, 32, 32, 32)
            nn.ConvTranspose2d(32, channels, 4, 2, 1),  # (B, C, 64, 64) logits
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, 64, 4, 4)  # (B, 64, 4, 4)
        return self.deconv(h)


class MLPEncoder(nn.Module):
    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * 64 * 64, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
            nn.Linear(1200, 2 * latent_dim),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)  # (B, D), (B, D)
        return mu, logvar


class MLPDecoder(nn.Module):
    def __init__(self, channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        self.channels = channels
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 1200), nn.Tanh(), nn.Linear(1200, 1200), nn.Tanh(), nn.Linear(1200, 1200), nn.Tanh(),
            nn.Linear(1200, channels * 64 * 64),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, self.channels, 64, 64)  # (B, C, 64, 64)


ARCHITECTURES = ("conv", "conv4", "mlp")


def build_networks(architecture: str, channels: int, latent_dim: int) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder) for an architecture name in :data:`ARCHITECTURES`."""
    if architecture in ("conv", "conv4"):
        return ConvEncoder(channels, latent_dim, small_kernels=architecture == "conv"), ConvDecoder(channels, latent_dim)
    if architecture == "mlp":
        return MLPEncoder(channels, latent_dim), MLPDecoder(channels, latent_dim)
    raise ValueError(f"Unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


class GaussianVAE(VAEModel):
    """Encoder to a diagonal Gaussian posterior q(z|x), decoder to likelihood parameters, trained
    with a built-in objective (``models.vae``, ``models.annealed``, ``models.tcvae``, ``models.dipvae``):
    the family's ``Config`` instance *is* the objective, called as
    ``objective(recon, mu, logvar, z, step) -> terms``."""

    @classmethod
    def from_config(cls, channels: int, latent_dim: int, config, architecture: str = "conv") -> "GaussianVAE":
        return cls(*build_networks(architecture, channels, latent_dim), objective=config)

    def __init__(self, encoder: nn.Module, decoder: nn.Module, objective=None) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.objective = objective

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def loss_terms(self, x, eps, step, nll):
        mu, logvar, z, logits = self(x, eps)
        recon = nll(logits.float(), x)
        return self.objective(recon, mu.float(), logvar.float(), z.float(), step)

    def forward(self, x: torch.Tensor, eps: torch.Tensor):
        """x (B, C, 64, 64), eps (B, D) standard normal → mu, logvar, z (B, D), logits (B, C, 64, 64)."""
        mu, logvar = self.encoder(x)  # (B, D), (B, D)
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, D)
        return mu, logvar, z, self.decoder(z)
