"""VAE-family models: networks, likelihoods and the model families, one registry by name.

Every family is a :class:`VAEModel` subclass with a frozen hyper-parameter dataclass (``Config``);
``MODELS`` maps its name to the class. A new family is one module plus one line here.

>>> from models import MODELS, make_config
>>> make_config("betavae", beta=4)
BetaVAE(beta=4.0)
"""

from __future__ import annotations

from core.registry import Registry

from .annealed import AnnealedVAE, AnnealedVAEModel
from .dipvae import DIPVAEI, DIPVAEII, DIPVAEIIModel, DIPVAEIModel
from .factorvae import FactorVAEConfig, FactorVAEModel
from .interface import VAEModel
from .networks import ARCHITECTURES, GaussianVAE, build_networks
from .tcvae import BetaTCVAE, BetaTCVAEModel
from .vae import VAE, BetaVAE, BetaVAEModel, PlainVAEModel

MODELS: Registry = Registry("model")
"""Model families: name → :class:`VAEModel` subclass."""
MODELS.register("vae", PlainVAEModel)
MODELS.register("betavae", BetaVAEModel)
MODELS.register("annealed", AnnealedVAEModel)
MODELS.register("tcvae", BetaTCVAEModel)
MODELS.register("factorvae", FactorVAEModel)
MODELS.register("dipvae1", DIPVAEIModel)
MODELS.register("dipvae2", DIPVAEIIModel)


def hyperparameter_names(model: str) -> tuple[str, ...]:
    return tuple(f.name for f in MODELS.get(model).hyperparameters())


def make_config(model: str, **hparams):
    """A family's hyper-parameter config, rejecting unknown names with the accepted ones named. For the
    objective families (all but FactorVAE) the config is also the objective, callable on the loss terms."""
    return MODELS.get(model).make_config(model, **hparams)


make_objective = make_config  # the objective families' configs are their objectives


def build(model: str, channels: int, latent_dim: int = 10, hparams: dict | None = None, architecture: str = "conv") -> VAEModel:
    """Any registered family, its parameters drawn from torch's global RNG (seed it first)."""
    cls = MODELS.get(model)
    return cls.from_config(channels, latent_dim, cls.make_config(model, **(hparams or {})), architecture)


def build_model(architecture: str, channels: int, latent_dim: int = 10, objective=None) -> GaussianVAE:
    """The dlib networks with an objective (tests and benches)."""
    return GaussianVAE(*build_networks(architecture, channels, latent_dim), objective=objective)


__all__ = ["ARCHITECTURES", "AnnealedVAE", "BetaTCVAE", "BetaVAE", "DIPVAEI", "DIPVAEII", "FactorVAEConfig", "GaussianVAE",
           "MODELS", "VAE", "VAEModel", "build", "build_model", "hyperparameter_names", "make_config", "make_objective"]
