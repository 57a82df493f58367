"""Capacity-annealed β-VAE (Burgess et al. 2018, "Understanding disentangling in β-VAE").

loss = recon + γ·|KL − C(step)|, with C(step) = min(C_max, C_max·step / anneal_steps) rising
linearly from 0 (disentanglement_lib's ``annealed_vae``: γ = 1000, iteration_threshold = 100,000;
KL summed over latents and averaged over the batch; no separate β·KL term; ``docs/objectives.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .hparams import require_nonnegative, require_positive_int
from .networks import GaussianVAE
from .vae import _base_terms


@dataclass(frozen=True)
class AnnealedVAE:
    c_max: float = field(default=25.0, metadata={"help": "final capacity C_max in nats"})
    gamma: float = field(default=1000.0, metadata={"help": "weight of |KL − C|"})
    anneal_steps: int = field(default=100_000, metadata={"help": "steps for C to reach C_max (dlib: iteration_threshold)"})

    def __post_init__(self) -> None:
        require_nonnegative(self, "c_max", "gamma")
        require_positive_int(self, "anneal_steps")  # the step at which C reaches c_max

    def capacity(self, step: int) -> float:
        """C(step) in nats."""
        return min(self.c_max, self.c_max * step / self.anneal_steps)

    def __call__(self, recon, mu, logvar, z, step: int) -> dict[str, torch.Tensor]:
        t = _base_terms(recon, mu, logvar)
        c = self.capacity(step)
        t["capacity"] = torch.tensor(c)
        t["loss"] = recon + self.gamma * (t["kl"] - c).abs()
        return t


class AnnealedVAEModel(GaussianVAE):
    Config = AnnealedVAE
    summary = "capacity-annealed β-VAE (Burgess et al. 2018): recon + γ·|KL − C(step)|"
