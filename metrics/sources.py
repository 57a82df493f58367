"""Where metric wrappers get codes from: a representation function over a dataset, or a fixed table
of codes (``evaluate-codes``). Both answer "codes for these factor vectors"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


class RepresentationSource:
    """Codes by rendering factor vectors and encoding them.

    Args:
        dataset: a :class:`datasets.GroundTruthDataset`.
        representation: images (B, C, H, W) float32 tensor → (B, D) array of codes (posterior means).
        posterior: optional images → (mu, logvar), for the full-dataset sampled metrics.
    """

    def __init__(self, dataset, representation: Callable, posterior: Callable | None = None, batch_size: int = 1024) -> None:
        self.dataset, self.representation, self.posterior = dataset, representation, posterior
        self.factor_sizes = tuple(dataset.factor_sizes)
        self.factor_names = tuple(dataset.factor_names)
        self.batch_size = batch_size
        self.images_encoded = 0

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.dataset.sample_factors(n, rng)

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = []
        for i in range(0, len(factors), self.batch_size):
            x = self.dataset.observations(factors[i : i + self.batch_size], rng)
            c = np.asarray(self.representation(x), dtype=np.float64)
            if c.ndim != 2 or len(c) != len(x):
                raise ValueError(f"representation must return (batch, D) codes; got shape {c.shape} for a batch of {len(x)}")
            if not np.isfinite(c).all():
                raise ValueError("representation returned NaN or inf codes; check the encoder")
            out.append(c)
            self.images_encoded += len(x)
        return np.concatenate(out)

    def full_grid(self, rng: np.random.Generator):
        """(mu, logvar, factors) over every image of the dataset (deterministic datasets only)."""
        if self.posterior is None:
            raise ValueError("full-dataset metrics need the posterior (mu, logvar), not only mean codes")
        if self.dataset.stochastic:
            raise ValueError(f"{self.dataset.name} renders stochastically; full-dataset metrics need a fixed dataset")
        n = len(self.dataset)
        mus, lvs = [], []
        for i in range(0, n, self.batch_size):
            f = self.dataset.index_to_factors(np.arange(i, min(n, i + self.batch_size)))
            mu, lv = self.posterior(self.dataset.observations(f, rng))
            mus.append(np.asarray(mu, np.float64))
            lvs.append(np.asarray(lv, np.float64))
            self.images_encoded += len(f)
        return np.concatenate(mus), np.concatenate(lvs), self.dataset.index_to_factors(np.arange(n))


class TableSource:
    """Codes computed elsewhere: rows of (codes, factors). When the rows cover the full factor grid,
    factor vectors are looked up exactly; otherwise only metrics that draw random rows can run."""

    def __init__(self, codes: np.ndarray, factors: np.ndarray, factor_sizes, factor_names=None, logvar=None) -> None:
        from .utils import check_codes

        codes, factors = check_codes(codes, factors, name="evaluate-codes")
        sizes = np.asarray(factor_sizes, dtype=np.int64)
        if factors.shape[1] != len(sizes):
            raise ValueError(f"factors have {factors.shape[1]} columns but factor_sizes has {len(sizes)} entries")
        if (factors < 0).any() or (factors >= sizes).any():
            raise ValueError("factors must be class indices in [0, factor_sizes) for every column")
        self.codes_table, self.factors_table, self.logvar = codes.astype(np.float64), factors.astype(np.int64), logvar
        self.factor_sizes = tuple(int(s) for s in sizes)
        self.factor_names = tuple(factor_names or (f"factor_{k}" for k in range(len(sizes))))
        bases = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
        self._bases = bases
        index = self.factors_table @ bases
        self._row_of = np.full(int(np.prod(sizes)), -1, dtype=np.int64)
        self._row_of[index] = np.arange(len(index))
        self.full = bool((self._row_of >= 0).all())
        self.images_encoded = 0

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.full:
            return np.stack([rng.integers(s, size=n) for s in self.factor_sizes], 1)
        return self.factors_table[rng.integers(len(self.factors_table), size=n)]

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rows = self._row_of[factors @ self._bases]
        if (rows < 0).any():
            raise ValueError("these codes do not cover the full factor grid, so metrics that fix a factor and look "
                             "images up by factor vector (beta_vae, factor_vae) cannot run; provide every combination")
        return self.codes_table[rows]

    def full_grid(self, rng: np.random.Generator):
        if not self.full or self.logvar is None:
            raise ValueError("full-dataset sampled metrics need every grid row and a 'logvar' array in the npz")
        return self.codes_table, np.asarray(self.logvar, np.float64), self.factors_table


def torch_representation(encoder: Callable, device="cpu") -> tuple[Callable, Callable]:
    """(mean-code function, posterior function) from an encoder (module or function) returning (mu, logvar)."""

    @torch.no_grad()
    def posterior(x: torch.Tensor):
        mu, logvar = encoder(x.to(device))
        return mu.float().cpu().numpy(), logvar.float().cpu().numpy()

    return (lambda x: posterior(x)[0]), posterior
