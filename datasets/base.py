"""The ground-truth-factor dataset interface (after disentanglement_lib's `GroundTruthData`).

A dataset is a finite grid of factor combinations. Factors handed to metrics and models are always
integer class indices, in the dataset's official factor order; the flat index of a factor vector is
the C-order mixed-radix number with the last factor fastest, which is the row order of the official
files (dSprites: posY fastest; 3D Shapes: orientation fastest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Factor:
    """One ground-truth factor: its name and the real value of each class index."""

    name: str
    values: tuple[float, ...]
    unit: str = ""  # of the values, for labels ("rad", "°", "fraction of the image")
    class_names: tuple[str, ...] = ()  # for categorical factors ("square", "ellipse", "heart")

    @property
    def size(self) -> int:
        return len(self.values)

    def describe(self, index: int) -> str:
        """A label for one class: its name, or its value with the unit."""
        if self.class_names:
            return self.class_names[index]
        return f"{self.values[index]:.3g}" + (f" {self.unit}" if self.unit else "")


class GroundTruthDataset(ABC):
    """A dataset fully described by a grid of discrete factors.

    Subclasses set ``name``, ``factors``, ``observation_shape`` (C, H, W), ``binary`` (pixels are
    0/1, so the Bernoulli likelihood is exact) and ``stochastic`` (the same factor vector renders
    differently on each call, e.g. noisy-dSprites), and implement :meth:`_render`.
    """

    name: str
    factors: tuple[Factor, ...]
    observation_shape: tuple[int, int, int]
    binary: bool = False
    stochastic: bool = False

    def preview_base(self) -> np.ndarray:
        """The factor vector previews start from (each factor at its middle class unless a dataset knows
        a base that looks more like itself)."""
        return np.asarray(self.factor_sizes) // 2

    # ----- factor grid -------------------------------------------------------------------------
    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return tuple(f.size for f in self.factors)

    @property
    def factor_values(self) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(f.values, dtype=np.float64) for f in self.factors)

    @property
    def num_factors(self) -> int:
        return len(self.factors)

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    @property
    def bases(self) -> np.ndarray:
        """Mixed-radix place values: ``index = factors @ bases`` (last factor fastest)."""
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        """(N, K) integer class indices → (N,) flat indices in the official order."""
        factors = self._check_factors(factors)
        return factors @ self.bases

    def index_to_factors(self, index: np.ndarray | int) -> np.ndarray:
        """(N,) flat indices → (N, K) integer class indices."""
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise ValueError(f"{self.name}: index out of range [0, {len(self)}); got {index.min()}..{index.max()}")
        return (index[..., None] // self.bases) % np.asarray(self.factor_sizes, dtype=np.int64)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` factor vectors uniformly, one factor at a time in factor order.

        The per-factor call order matches disentanglement_lib's ``sample_latent_factors``.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        return np.stack([rng.integers(size, size=n) for size in self.factor_sizes], axis=1).astype(np.int64)

    # ----- observations ------------------------------------------------------------------------
    def observations(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> torch.Tensor:
        """Render factor vectors: (N, K) int → (N, C, H, W) float32 in [0, 1].

        Args:
            factors: integer class indices, one row per image.
            rng: required for stochastic datasets (their noise is drawn from it); ignored otherwise.
        """
        factors = self._check_factors(factors)
        if self.stochastic and rng is None:
            raise ValueError(
                f"{self.name} draws fresh noise on every render: pass rng=np.random.default_rng(seed)"
            )
        return self._render(factors, rng)

    @abstractmethod
    def _render(self, factors: np.ndarray, rng: np.random.Generator | None) -> torch.Tensor:
        """Render validated factors; see :meth:`observations`."""

    # ----- helpers -----------------------------------------------------------------------------
    def _check_factors(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"{self.name}: factors must have shape (N, {self.num_factors}) "
                f"for {', '.join(self.factor_names)}; got {factors.shape}"
            )
        if not np.issubdtype(factors.dtype, np.integer):
            raise ValueError(f"{self.name}: factors must be integer class indices, got dtype {factors.dtype}")
        factors = factors.astype(np.int64, copy=False)
        sizes = np.asarray(self.factor_sizes)
        bad = (factors < 0) | (factors >= sizes)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f"{self.name}: factor {self.factor_names[col]!r} must be in [0, {sizes[col]}); "
                f"row {row} has {factors[row, col]}"
            )
        return factors

    def describe(self) -> str:
        parts = [f"{f.name}({f.size})" for f in self.factors]
        c, h, w = self.observation_shape
        kind = "binary" if self.binary else "real-valued"
        noise = ", stochastic" if self.stochastic else ""
        return f"{self.name}: {len(self):,} images {c}×{h}×{w} {kind}{noise}; factors " + " × ".join(parts)
