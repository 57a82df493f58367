"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising", ICML) as a leaderboard submission.

Written against the public submission interface only. Objective, as disentanglement_lib implements
it: recon + KL + γ·TC with TC ≈ E_q(z)[log D(z) / (1 − D(z))] = mean(logits[:, 0] − logits[:, 1]) of a
discriminator D (6 × dense 1000 + leaky ReLU 0.2 → 2 logits); the product of marginals is sampled by
permuting each latent across the same batch. The discriminator maximises
0.5·E log p₀(z) + 0.5·E log p₁(z_perm) (probabilities clipped to [1e−6, 1 − 1e−6]) with its own Adam
(lr 1e−4, β = (0.5, 0.9)); both updates happen in the same step, from the same forward pass.

Check it:   python -m benchmark check-submission examples/factorvae.py
Submit it:  python -m benchmark submit examples/factorvae.py --study quick
"""

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.submission import SubmissionMetadata
from models import VAEModel
from models.networks import ConvDecoder, ConvEncoder

METADATA = SubmissionMetadata(
    name="factorvae",
    version="1.0",
    authors=("Hyunjik Kim", "Andriy Mnih"),
    citation="Kim & Mnih (2018). Disentangling by Factorising. ICML.",
    code_url="https://github.com/google-research/disentanglement_lib",
    description="VAE + γ·total correlation estimated by a latent discriminator (density-ratio trick).",
    grid={"gamma": [10.0, 40.0]},
)


def _discriminator(latent_dim: int) -> nn.Sequential:
    layers, width = [], latent_dim
    for _ in range(6):
        layers += [nn.Linear(width, 1000), nn.LeakyReLU(0.2)]
        width = 1000
    return nn.Sequential(*layers, nn.Linear(width, 2))


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Shuffle each latent column independently across the batch: samples of Π_j q(z_j)."""
    b, d = z.shape
    idx = torch.argsort(torch.rand(b, d, device=z.device), dim=0)  # (B, D) per-column permutations
    return torch.gather(z, 0, idx)


class Model(VAEModel):
    def __init__(self, channels: int, latent_dim: int, gamma: float = 10.0) -> None:
        super().__init__()
        self.encoder = ConvEncoder(channels, latent_dim)
        self.decoder = ConvDecoder(channels, latent_dim)
        self.discriminator = _discriminator(latent_dim)
        self.gamma = float(gamma)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def _forward_terms(self, x, eps, nll):
        mu, logvar = self.encode(x)  # (B, D), (B, D)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = nll(self.decode(z).float(), x)
        kl_d = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).mean(0)  # (D,)
        logits = self.discriminator(z.float())  # (B, 2)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        p_joint = F.softmax(self.discriminator(z.detach().float()), dim=1).clamp(1e-6, 1 - 1e-6)
        p_perm = F.softmax(self.discriminator(permute_dims(z.detach().float())), dim=1).clamp(1e-6, 1 - 1e-6)
        d_loss = -(0.5 * p_joint[:, 0].log().mean() + 0.5 * p_perm[:, 1].log().mean())
        return {"reconstruction": recon, "kl": kl_d.sum(), "kl_per_latent": kl_d, "total_correlation": tc,
                "discriminator_loss": d_loss, "loss": recon + kl_d.sum() + self.gamma * tc}

    def loss_terms(self, x, eps, step, nll):
        return self._forward_terms(x, eps, nll)

    def configure_optimizers(self, lr, betas, eps):
        vae = [p for n, p in self.named_parameters() if not n.startswith("discriminator.")]
        return [torch.optim.Adam(vae, lr=lr, betas=betas, eps=eps),
                torch.optim.Adam(self.discriminator.parameters(), lr=1e-4, betas=(0.5, 0.9), eps=1e-8)]

    def training_step(self, x, eps, step, optimizers, nll, check):
        terms = self._forward_terms(x, eps, nll)
        check(terms)
        vae_opt, d_opt = optimizers
        vae_opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        d_opt.zero_grad(set_to_none=True)  # the VAE loss must not train the discriminator
        terms["discriminator_loss"].backward()
        vae_opt.step()
        d_opt.step()
        return terms
