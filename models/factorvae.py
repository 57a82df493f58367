"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising", ICML), as disentanglement_lib trains it.

VAE loss = recon + KL + γ·TC, with the total correlation estimated by the density-ratio trick:
TC ≈ mean_b(logit₀(z_b) − logit₁(z_b)) of a discriminator D on the sampled codes z (class 0 = "drawn
from q(z)", class 1 = "drawn from Π_j q(z_j)"). D — an MLP of 6 hidden layers × 1000 units, LeakyReLU(0.2),
2 logits — minimises −(½·E[log p₀(z)] + ½·E[log p₁(perm(z))]) with probabilities clipped to
[1e-6, 1 − 1e-6], where perm(z) permutes each latent column independently **within the same batch**.
D has its own Adam (lr 1e-4, β = (0.5, 0.9), eps 1e-8); the VAE's Adam is the run's.

One training step = one VAE update + one discriminator update, both from the gradients of the same
forward pass. disentanglement_lib increments its global step in both updates, so its "300,000 steps" are
150,000 of these steps; the ``dlib`` study therefore trains FactorVAE for 150,000 steps
(``docs/objectives.md``); records say ``updates_per_step``.

Determinism: permutations are drawn from a CPU generator seeded from the run's seed (via the model's
initialisation) and stored in the model's state (``get_extra_state``), hence in every checkpoint; the
permuted codes are detached, so the gather has no backward pass (deterministic on CUDA too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .gaussian import kl_per_latent
from .hparams import require_nonnegative
from .interface import VAEModel
from .networks import build_networks

DISCRIMINATOR_LAYERS, DISCRIMINATOR_WIDTH = 6, 1000
DISCRIMINATOR_ADAM = dict(lr=1e-4, betas=(0.5, 0.9), eps=1e-8)
PROB_CLIP = 1e-6


def discriminator(latent_dim: int) -> nn.Sequential:
    """dlib's ``fc_discriminator``: (B, D) → (B, 2) logits."""
    layers, width = [], latent_dim
    for _ in range(DISCRIMINATOR_LAYERS):
        layers += [nn.Linear(width, DISCRIMINATOR_WIDTH), nn.LeakyReLU(0.2)]
        width = DISCRIMINATOR_WIDTH
    return nn.Sequential(*layers, nn.Linear(width, 2))


def permute_dims(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each latent column permuted independently across the batch — samples of Π_j q(z_j): (B, D) → (B, D).
    The permutations come from ``generator`` (CPU), so they are the same on every device."""
    b, d = z.shape
    idx = torch.argsort(torch.rand(b, d, generator=generator), dim=0)  # (B, D): column j is a permutation of 0..B-1
    return torch.gather(z, 0, idx.to(z.device))


def total_correlation(logits: torch.Tensor) -> torch.Tensor:
    """The density-ratio estimate of TC: mean(logit₀ − logit₁), logits (B, 2) of D on the sampled codes."""
    return (logits[:, 0] - logits[:, 1]).mean()


def _clipped_probs(logits: torch.Tensor) -> torch.Tensor:
    return F.softmax(logits, dim=1).clamp(PROB_CLIP, 1 - PROB_CLIP)


def discriminator_loss(logits_joint: torch.Tensor, logits_permuted: torch.Tensor) -> torch.Tensor:
    """−(½·E[log p₀(z)] + ½·E[log p₁(perm(z))]) from D's logits on z and on perm(z) (each (B, 2))."""
    return -(0.5 * _clipped_probs(logits_joint)[:, 0].log().mean() + 0.5 * _clipped_probs(logits_permuted)[:, 1].log().mean())


@dataclass(frozen=True)
class FactorVAEConfig:
    gamma: float = field(default=10.0, metadata={"help": "total-correlation weight γ"})

    def __post_init__(self) -> None:
        require_nonnegative(self, "gamma")


class FactorVAEModel(VAEModel):
    Config = FactorVAEConfig
    summary = "FactorVAE (Kim & Mnih 2018): recon + KL + γ·TC, TC from a latent discriminator"
    updates_per_step = ("vae", "discriminator")

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int, config: FactorVAEConfig) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.discriminator = discriminator(latent_dim)
        self.config = config
        # Drawn from the seeded global RNG after every parameter: the same seed gives the same permutations.
        self.permutation_rng = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))

    @classmethod
    def from_config(cls, channels, latent_dim, config, architecture="conv"):
        return cls(*build_networks(architecture, channels, latent_dim), latent_dim, config)

    def get_extra_state(self):
        return {"permutation_rng": self.permutation_rng.get_state()}

    def set_extra_state(self, state) -> None:
        self.permutation_rng.set_state(state["permutation_rng"])

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def _terms(self, x, eps, nll) -> dict[str, torch.Tensor]:
        mu, logvar = self.encoder(x)  # (B, D), (B, D)
        z = mu + torch.exp(0.5 * logvar) * eps  # (B, D)
        recon = nll(self.decoder(z).float(), x)
        mu, logvar, z = mu.float(), logvar.float(), z.float()
        kl_d = kl_per_latent(mu, logvar)  # (D,)
        tc = total_correlation(self.discriminator(z))  # gradient reaches the encoder
        z_fixed = z.detach()
        d_loss = discriminator_loss(self.discriminator(z_fixed), self.discriminator(permute_dims(z_fixed, self.permutation_rng)))
        return {"reconstruction": recon, "kl": kl_d.sum(), "kl_per_latent": kl_d, "tc_discriminator": tc,
                "discriminator_loss": d_loss, "loss": recon + kl_d.sum() + self.config.gamma * tc}

    def loss_terms(self, x, eps, step, nll):
        return self._terms(x, eps, nll)

    def configure_optimizers(self, lr, betas, eps):
        vae = [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]
        return [torch.optim.Adam(vae, lr=lr, betas=betas, eps=eps),
                torch.optim.Adam(self.discriminator.parameters(), **DISCRIMINATOR_ADAM)]

    def training_step(self, x, eps, step, optimizers, nll, check):
        terms = self._terms(x, eps, nll)
        check(terms)
        vae_opt, d_opt = optimizers
        vae_opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        d_opt.zero_grad(set_to_none=True)  # the VAE loss must not train the discriminator
        terms["discriminator_loss"].backward()
        vae_opt.step()
        d_opt.step()
        return terms
