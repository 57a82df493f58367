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

Every family — built-in or submitted — is one such class: its hyper-parameters are a frozen dataclass
(``Config``; for a submission without one, the keyword arguments of its constructor), it is built by
:meth:`VAEModel.from_config` and registered by name in :data:`models.MODELS`. The harness knows no
family by hand: flags, validation, study grids and labels all come from ``Config``'s fields.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn


def _cast(annotation: Any, default: Any, value: Any, where: str) -> Any:
    """``value`` as the field's declared type (int / float / str, from the annotation or the default)."""
    kind = str(annotation).replace("typing.", "").split("|")[0].strip() if annotation is not inspect.Parameter.empty else ""
    if kind not in ("int", "float", "str", "bool") and default is not None and not isinstance(default, type):
        kind = type(default).__name__
    try:
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "str":
            return str(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}") from None
    return value


class VAEModel(nn.Module):
    Config: ClassVar[type | None] = None  # frozen dataclass of the family's hyper-parameters
    summary: ClassVar[str] = ""  # one line for --help and the docs
    dataset_size_field: ClassVar[str | None] = None  # a hyper-parameter filled in with the dataset's size when omitted
    updates_per_step: ClassVar[tuple[str, ...]] = ("vae",)  # what one training step updates (recorded)

    # ----- the family's hyper-parameters --------------------------------------------------------
    @classmethod
    def config_class(cls) -> type:
        """``Config``, or for a class without one a frozen dataclass of its constructor's keyword arguments
        after ``(channels, latent_dim)`` — so a submission validates exactly like a built-in."""
        if cls.Config is not None:
            return cls.Config
        params = list(inspect.signature(cls.__init__).parameters.values())[3:]  # self, channels, latent_dim
        fields = [(p.name, p.annotation if p.annotation is not inspect.Parameter.empty else Any,
                   dataclasses.field(default=p.default)) for p in params
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not inspect.Parameter.empty]
        return dataclasses.make_dataclass(f"{cls.__name__}Config", fields, frozen=True)

    @classmethod
    def hyperparameters(cls) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(cls.config_class())

    @classmethod
    def make_config(cls, family: str = "", **hparams):
        """The family's config from raw values; an unknown name is a one-line error naming the accepted ones."""
        config_cls = cls.config_class()
        fields = {f.name: f for f in dataclasses.fields(config_cls)}
        unknown = sorted(set(hparams) - set(fields))
        name = family or cls.__name__
        if unknown:
            raise ValueError(f"model {name!r} has no hyper-parameter {', '.join(unknown)}; accepted: "
                             f"{', '.join(fields) or 'none'}")
        cast = {k: _cast(fields[k].type, fields[k].default, v, f"{name}: {k}") for k, v in hparams.items()}
        return config_cls(**cast)

    @classmethod
    def from_config(cls, channels: int, latent_dim: int, config, architecture: str = "conv") -> "VAEModel":
        """Build the model (its parameters drawn from torch's global RNG, seeded by the caller).
        Default: the submission convention ``cls(channels, latent_dim, **hyper_parameters)``."""
        return cls(channels, latent_dim, **dataclasses.asdict(config))

    # ----- the interface ------------------------------------------------------------------------
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
