"""Where metric wrappers get codes from: a representation function over a dataset, or a fixed table
of codes (``evaluate-codes``). Both answer "codes for these factor vectors"."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch


class RepresentationSource:
    """Codes by rendering factor vectors and encoding them.

    Args:
        dataset: a :class:`datasets.GroundTruthDataset`.
        representation: images (B, C, H, W) float32 tensor → (B, D) array of codes (posterior means).
        posterior: optional images → (mu, logvar), for the full-dataset sampled metrics.
    """

    kind = "render_and_encode"

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
        starts = range(0, n, self.batch_size)

        def batch(i: int):
            f = self.dataset.index_to_factors(np.arange(i, min(n, i + self.batch_size)))
            mu, lv = self.posterior(self.dataset.observations(f, rng))
            return np.asarray(mu, np.float64), np.asarray(lv, np.float64)

        workers = encode_workers(self.posterior)
        if workers == 1:
            done = [batch(i) for i in starts]
        else:  # render + encode whole batches in parallel, one intra-op thread each (see encode_workers)
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with ThreadPoolExecutor(workers) as pool:
                    done = list(pool.map(batch, starts))
            finally:
                torch.set_num_threads(previous)
        self.images_encoded += n
        return (np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done]),
                self.dataset.index_to_factors(np.arange(n)))


def encode_workers(posterior: Callable) -> int:
    """How many batches to encode at once: torch's thread count for a posterior marked ``parallel_safe``
    (a torch module on the CPU, from :func:`torch_representation`), else 1.

    Two single-threaded encoders side by side beat one two-threaded encoder by ≈ 1.4× on 2 cores (small
    convolutions scale poorly across intra-op threads) and give the same codes: each batch's arithmetic
    is one thread's either way (bit-equal in our measurement; tested to 1e-6)."""
    if not getattr(posterior, "parallel_safe", False):
        return 1
    return max(1, torch.get_num_threads())


MAX_GRID = 2**53  # flat grid indices must stay exact in int64 arithmetic


def _check_factor_sizes(factor_sizes) -> np.ndarray:
    """factor_sizes as a (K,) int64 array of positive sizes whose product fits the index arithmetic."""
    sizes = np.asarray(factor_sizes)
    if sizes.ndim != 1 or len(sizes) == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"factor_sizes must be a 1-D list of integers, got {sizes.dtype} of shape {sizes.shape}")
    if (sizes < 1).any():
        raise ValueError(f"factor_sizes must all be ≥ 1, got {sizes.tolist()}")
    total = 1
    for v in sizes.tolist():  # Python ints: no silent overflow
        total *= v
    if total > MAX_GRID:
        raise ValueError(f"factor_sizes {sizes.tolist()} describe a grid of {total:.3g} points, more than 2^53; check the sizes")
    return sizes.astype(np.int64)


class GridSource:
    """Every image of a deterministic dataset encoded once; codes looked up by factor vector.

    Serves exactly what :class:`RepresentationSource` would — the same factor draws from the same
    generators (a deterministic dataset's rendering consumes no randomness), and the code of each image
    — with a single pass over the grid instead of one encode per metric sample. The grid is encoded in
    index order in batches of ``batch_size``; memory: two (N, D) float64 tables (dSprites, D = 10:
    118 MB); images are rendered per batch, never held together.
    """

    kind = "grid_table"

    def __init__(self, dataset, posterior: Callable, batch_size: int = 1024) -> None:
        if dataset.stochastic:
            raise ValueError(f"{dataset.name} renders stochastically, so its codes cannot be tabulated; render and encode instead")
        self.dataset = dataset
        self.factor_sizes = tuple(dataset.factor_sizes)
        self.factor_names = tuple(dataset.factor_names)
        render = RepresentationSource(dataset, lambda x: posterior(x)[0], posterior, batch_size)
        self.mu, self.logvar, self._factors = render.full_grid(None)  # (N, D), (N, D), (N, K)
        self.images_encoded = render.images_encoded

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.dataset.sample_factors(n, rng)

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.mu[self.dataset.factors_to_index(factors)]

    def full_grid(self, rng: np.random.Generator):
        return self.mu, self.logvar, self._factors


class TableSource:
    """Codes computed elsewhere: rows of (codes, factors). When the rows cover the full factor grid,
    factor vectors are looked up exactly; otherwise only metrics that draw random rows can run."""

    kind = "given_codes"

    def __init__(self, codes: np.ndarray, factors: np.ndarray, factor_sizes, factor_names=None, logvar=None) -> None:
        from .utils import check_codes

        codes, factors = check_codes(codes, factors, name="evaluate-codes")
        sizes = _check_factor_sizes(factor_sizes)
        if factors.shape[1] != len(sizes):
            raise ValueError(f"factors have {factors.shape[1]} columns but factor_sizes has {len(sizes)} entries")
        if (factors < 0).any() or (factors >= sizes).any():
            raise ValueError("factors must be class indices in [0, factor_sizes) for every column")
        if logvar is not None:
            logvar = np.asarray(logvar)
            if logvar.shape != codes.shape:
                raise ValueError(f"logvar has shape {logvar.shape} but codes {codes.shape}; give one log-variance per code "
                                 "value (same rows and columns as codes)")
            if not np.issubdtype(logvar.dtype, np.number) or not np.isfinite(logvar).all():
                raise ValueError("logvar holds NaN, infinite or non-numeric values; give finite log-variances")
        self.codes_table, self.factors_table, self.logvar = codes.astype(np.float64), factors.astype(np.int64), logvar
        self.factor_sizes = tuple(int(s) for s in sizes)
        self.factor_names = tuple(factor_names or (f"factor_{k}" for k in range(len(sizes))))
        self._bases = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
        index = self.factors_table @ self._bases  # (N,) flat grid index of each row
        # Lookup by binary search over the sorted flat indices: memory O(rows), whatever the grid size.
        # Duplicate factor vectors: the last row wins.
        self._order = np.argsort(index, kind="stable")
        self._sorted = index[self._order]
        self.full = len(np.unique(index)) == int(np.prod(sizes))
        self.images_encoded = 0

    def _rows(self, factors: np.ndarray) -> np.ndarray:
        """Row of each factor vector (−1 where the table has none)."""
        q = np.asarray(factors, dtype=np.int64) @ self._bases
        pos = np.searchsorted(self._sorted, q, side="right") - 1
        hit = (pos >= 0) & (self._sorted[np.maximum(pos, 0)] == q)
        return np.where(hit, self._order[np.maximum(pos, 0)], -1)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.full:
            return np.stack([rng.integers(s, size=n) for s in self.factor_sizes], 1)
        return self.factors_table[rng.integers(len(self.factors_table), size=n)]

    def codes(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rows = self._rows(factors)
        if (rows < 0).any():
            raise ValueError("these codes do not cover the full factor grid, so metrics that fix a factor and look "
                             "images up by factor vector (beta_vae, factor_vae) cannot run; provide every combination")
        return self.codes_table[rows]

    def full_grid(self, rng: np.random.Generator):
        if not self.full or self.logvar is None:
            raise ValueError("full-dataset sampled metrics need every grid row and a 'logvar' array in the npz")
        return self.codes_table, np.asarray(self.logvar, np.float64), self.factors_table


def torch_representation(encoder: Callable, device="cpu", parallel_safe: bool = False) -> tuple[Callable, Callable]:
    """(mean-code function, posterior function) from an encoder (module or function) returning (mu, logvar).

    ``parallel_safe``: the encoder keeps no state between calls (the harness's own models in eval mode),
    so on the CPU the grid may be encoded in parallel batches (:func:`encode_workers`). Off for code
    from elsewhere, whose thread safety nobody has checked."""

    @torch.no_grad()
    def posterior(x: torch.Tensor):
        mu, logvar = encoder(x.to(device))
        return mu.float().cpu().numpy(), logvar.float().cpu().numpy()

    posterior.parallel_safe = parallel_safe and torch.device(device).type == "cpu"
    return (lambda x: posterior(x)[0]), posterior
