"""VAE-family models: networks, likelihoods and objectives, one registry by name.

>>> from models import OBJECTIVES, make_objective
>>> make_objective("betavae", beta=4)
BetaVAE(beta=4.0)
"""

from __future__ import annotations

import dataclasses

from core.registry import Registry

from .annealed import AnnealedVAE
from .interface import VAEModel
from .networks import ARCHITECTURES, GaussianVAE, build_networks
from .tcvae import BetaTCVAE
from .vae import VAE, BetaVAE

OBJECTIVES: Registry = Registry("objective")
"""Objective families: name → frozen config dataclass (callable as the objective)."""
OBJECTIVES.register("vae", VAE)
OBJECTIVES.register("betavae", BetaVAE)
OBJECTIVES.register("annealed", AnnealedVAE)
OBJECTIVES.register("tcvae", BetaTCVAE)


def hyperparameter_names(model: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(OBJECTIVES.get(model)))


def make_objective(model: str, **hparams):
    """Build an objective, rejecting unknown hyper-parameters with the accepted ones named."""
    cls = OBJECTIVES.get(model)
    allowed = hyperparameter_names(model)
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ValueError(f"model {model!r} has no hyper-parameter {', '.join(unknown)}; accepted: {', '.join(allowed)}")
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    cast = {k: (int(v) if types[k] in (int, "int") else str(v) if types[k] in (str, "str") else float(v)) for k, v in hparams.items()}
    return cls(**cast)


def build_model(architecture: str, channels: int, latent_dim: int = 10, objective=None) -> GaussianVAE:
    return GaussianVAE(*build_networks(architecture, channels, latent_dim), objective=objective)


__all__ = ["VAEModel", "ARCHITECTURES", "AnnealedVAE", "BetaTCVAE", "BetaVAE", "GaussianVAE", "OBJECTIVES", "VAE", "build_model", "hyperparameter_names", "make_objective"]
