"""The model interface every trainable model implements — built-in families and user submissions.

A model is an ``nn.Module`` with

- ``encode(x) -> (mu, logvar)``: (B, C, 64, 64) → (B, D), (B, D), a diagonal-Gaussian posterior;
- ``decode(z) -> logits``: (B, D) → (B, C, 64, 64) likelihood parameters (Bernoulli logits or
  Gaussian means, as the dataset's likelihood says);
- ``loss_terms(x, eps, step, nll) -> dict``: named scalar tensors with at least ``loss``,
  ``reconstruction`` and ``kl``, optionally ``kl_per_latent`` (D,) and any other term to log.
  ``eps`` (B, D) is the seeded standard-normal noise for the reparameterisation, ``nll(out, x)`` the
  dataset's negative log-likelihood (summed over pixels, averaged over the batch).

Models with more than one optimiser (e.g. FactorVAE's discriminator) override
``configure_optimizers`` and ``training_step``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class VAEModel(nn.Module):
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor, step: int, nll: Callable) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def configure_optimizers(self, lr: float, betas: tuple[float, float], eps: float) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=lr, betas=betas, eps=eps)]

    def training_step(self, x, eps, step: int, optimizers, nll: Callable, check: Callable[[dict], None]) -> dict:
        """One optimisation step; ``check(terms)`` raises on NaN/inf before any update."""
        terms = self.loss_terms(x, eps, step, nll)
        check(terms)
        opt = optimizers[0]
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return terms
