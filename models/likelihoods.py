"""Reconstruction terms: negative log-likelihood per image, summed over pixels and channels, then
averaged over the batch (disentanglement_lib's reduction; ``docs/objectives.md``). β values in this suite are
always relative to this sum-over-pixels / mean-over-batch reduction."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log Bernoulli(x | sigmoid(logits)); x in [0, 1] (B, C, H, W) → scalar, nats per image."""
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="none")
    return per_pixel.flatten(1).sum(1).mean()


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, std: float = 0.1) -> torch.Tensor:
    """−log N(x | mean, std²) with fixed std, summed over pixels, averaged over the batch."""
    d = x[0].numel()
    sq = (mean.float() - x.float()).pow(2).flatten(1).sum(1) / (2 * std * std)
    return (sq + d * (math.log(std) + 0.5 * math.log(2 * math.pi))).mean()


LIKELIHOODS = {"bernoulli": bernoulli_nll, "gaussian": gaussian_nll}


def likelihood_for(binary: bool) -> str:
    """Bernoulli for binary datasets, Gaussian (fixed variance) for real-valued ones."""
    return "bernoulli" if binary else "gaussian"


def reconstruct(logits: torch.Tensor, likelihood: str) -> torch.Tensor:
    """Decoder output → image in [0, 1] (the likelihood's mean)."""
    return torch.sigmoid(logits) if likelihood == "bernoulli" else logits.clamp(0, 1)
