"""VAE (Kingma & Welling 2014) and β-VAE (Higgins et al. 2017, ICLR, "β-VAE: Learning Basic Visual
Concepts with a Constrained Variational Framework").

loss = recon + β·KL, recon summed over pixels and KL summed over latents, both averaged over the
batch (disentanglement_lib's reduction, so β = 4 here is the paper's/dlib's β = 4; ``docs/objectives.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .gaussian import kl_per_latent
from .hparams import require_nonnegative
from .networks import GaussianVAE


def _base_terms(recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    kl_d = kl_per_latent(mu, logvar)  # (D,)
    return {"reconstruction": recon, "kl": kl_d.sum(), "kl_per_latent": kl_d}


@dataclass(frozen=True)
class BetaVAE:
    """β-VAE objective; β = 1 is the plain VAE."""

    beta: float = field(default=1.0, metadata={"help": "KL weight β"})

    def __post_init__(self) -> None:
        require_nonnegative(self, "beta")

    def __call__(self, recon, mu, logvar, z, step: int) -> dict[str, torch.Tensor]:
        t = _base_terms(recon, mu, logvar)
        t["loss"] = recon + self.beta * t["kl"]
        return t


@dataclass(frozen=True)
class VAE(BetaVAE):
    """The plain VAE: β fixed at 1."""

    beta: float = field(default=1.0, metadata={"help": "fixed at 1"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beta != 1.0:
            raise ValueError("vae has β = 1 by definition; use model 'betavae' for other β")


class BetaVAEModel(GaussianVAE):
    Config = BetaVAE
    summary = "β-VAE (Higgins et al. 2017): recon + β·KL"


class PlainVAEModel(GaussianVAE):
    Config = VAE
    summary = "VAE (Kingma & Welling 2014): recon + KL"
