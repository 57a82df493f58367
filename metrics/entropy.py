"""Monte-Carlo entropies of the aggregate posterior against a whole dataset (Chen et al. 2018).

For samples z^(s) and the posteriors q(z|x_n), n = 1..N (diagonal Gaussians):

    log q(z_j^(s)) = logsumexp_n log q(z_j^(s) | x_n) − log N        (per dimension j)
    log q(z^(s))   = logsumexp_n Σ_j log q(z_j^(s) | x_n) − log N    (joint)

and H = −mean_s. Cost ≈ S·N·D log-densities per call (S = 10,000 against N = 737,280 for dSprites:
7.4·10¹⁰), the largest computation of the metric suite. A compiled kernel (numba, samples in
parallel) streams over the dataset with nothing materialised beyond the inputs: one pass finds each
logsumexp's maximum, a second sums exp(· − max), skipping terms more than ``CUTOFF`` = 50 nats below
it — together < N·e⁻⁵⁰ ≈ 10⁻¹⁶ of the sum for N ≤ 10⁶, i.e. below float64 rounding. Everything is float64.

Protocol: ``docs/metrics.md#mig-chens-full-dataset-protocol``.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

LOG_2PI = math.log(2 * math.pi)
CUTOFF = 50.0
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split of log 2
INV_LN2 = 1.0 / math.log(2.0)
POW2_NEG = 2.0 ** -np.arange(80.0)  # 2^-k for the exponent of exp(x), x ∈ [−CUTOFF − 1, 0]
TAYLOR = 1.0 / np.array([math.factorial(i) for i in range(13)])


@njit(inline="always", fastmath=True)
def _exp_neg(x, pow2_neg, c):
    """exp(x) for x ∈ [−CUTOFF − 1, 0] in arithmetic that vectorises (libm's exp does not): 2^k ·
    e^r with |r| ≤ log(2)/2 and a degree-12 Taylor polynomial (truncation < 2·10⁻¹⁶ relative)."""
    k = math.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = c[12]
    for i in range(11, -1, -1):
        p = p * r + c[i]
    return p * pow2_neg[int(-k)]


@njit(parallel=True, cache=True, fastmath=True)
def _lse_marginal(z, mu_t, const_t, half_iv_t, out, pow2_neg, c):
    """out[s, j] = logsumexp_n log q(z[s, j] | x_n); mu_t, const_t, half_iv_t: (D, N)."""
    n_samples, n_dims = z.shape
    n = mu_t.shape[1]
    for s in prange(n_samples):
        for j in range(n_dims):
            zj = z[s, j]
            m_row, c_row, h_row = mu_t[j], const_t[j], half_iv_t[j]
            top = -np.inf
            for i in range(n):
                d = zj - m_row[i]
                t = c_row[i] - d * d * h_row[i]
                top = max(top, t)
            floor = top - CUTOFF
            acc = 0.0
            for i in range(n):
                d = zj - m_row[i]
                t = c_row[i] - d * d * h_row[i]
                e = _exp_neg(max(t - top, -CUTOFF - 1.0), pow2_neg, c)
                acc += e if t > floor else 0.0
            out[s, j] = top + math.log(acc)


@njit(parallel=True, cache=True, fastmath=True)
def _lse_joint(z, mu, const, half_iv, out, pow2_neg, c):
    """out[s] = logsumexp_n Σ_j log q(z[s, j] | x_n); mu, const, half_iv: (N, D)."""
    n_samples, n_dims = z.shape
    n = mu.shape[0]
    for s in prange(n_samples):
        top = -np.inf
        for i in range(n):
            t = 0.0
            for j in range(n_dims):
                d = z[s, j] - mu[i, j]
                t += const[i, j] - d * d * half_iv[i, j]
            top = max(top, t)
        floor = top - CUTOFF
        acc = 0.0
        for i in range(n):
            t = 0.0
            for j in range(n_dims):
                d = z[s, j] - mu[i, j]
                t += const[i, j] - d * d * half_iv[i, j]
            e = _exp_neg(max(t - top, -CUTOFF - 1.0), pow2_neg, c)
            acc += e if t > floor else 0.0
        out[s] = top + math.log(acc)


def _threads(threads: int | None) -> int:
    """``threads``, or as many as torch is allowed in this process when torch is loaded (a harness
    worker's share), else numba's current setting."""
    if threads is None and "torch" in sys.modules:
        threads = min(get_num_threads(), sys.modules["torch"].get_num_threads())
    return max(1, threads or get_num_threads())


def _entropy_device() -> str | None:
    """Where the torch kernel runs: ``$BENCHMARK_ENTROPY_DEVICE`` (``cpu``: numba, the default without a
    GPU), else CUDA when this process's torch sees one, else None (numba)."""
    import os

    want = os.environ.get("BENCHMARK_ENTROPY_DEVICE")
    if want:
        return None if want == "cpu" else want
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else None


def entropies(samples: np.ndarray, mu: np.ndarray, logvar: np.ndarray, joint: bool = False,
              threads: int | None = None) -> tuple[np.ndarray, float | None]:
    """Marginal entropies H(z_j) (D,) and, if ``joint``, H(z), for samples (S, D) against the
    mixture of the N posteriors (N, D), float64: the values of :func:`entropies_dense`, computed
    with exact pruning and expansions (:mod:`metrics.entropy_tree`) on the CPU, or densely in torch on a
    GPU (:mod:`metrics.entropy_torch`)."""
    from .entropy_tree import entropies_pruned

    device = _entropy_device()
    if device is not None:  # a GPU: the dense kernel in torch, equal to the reference (metrics.entropy_torch)
        from .entropy_torch import entropies_torch

        return entropies_torch(samples, mu, logvar, joint, device=device)
    previous = get_num_threads()
    set_num_threads(_threads(threads))
    try:
        return entropies_pruned(samples, mu, logvar, joint)
    finally:
        set_num_threads(previous)


def entropies_dense(samples: np.ndarray, mu: np.ndarray, logvar: np.ndarray, joint: bool = False,
                    threads: int | None = None) -> tuple[np.ndarray, float | None]:
    """The reference: every one of the S·N·D log-densities evaluated, twice (maximum, then sum).
    Same arguments and values as :func:`entropies`."""
    z = np.ascontiguousarray(samples, dtype=np.float64)
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    const = -0.5 * (LOG_2PI + logvar)  # (N, D)
    half_iv = 0.5 * np.exp(-logvar)
    n_total = len(mu)
    previous = get_num_threads()
    set_num_threads(_threads(threads))
    try:
        lse = np.empty(z.shape)
        _lse_marginal(z, np.ascontiguousarray(mu.T), np.ascontiguousarray(const.T), np.ascontiguousarray(half_iv.T), lse, POW2_NEG, TAYLOR)
        h_marg = -(lse - math.log(n_total)).mean(0)
        h_joint = None
        if joint:
            lse_j = np.empty(len(z))
            _lse_joint(z, mu, np.ascontiguousarray(const), np.ascontiguousarray(half_iv), lse_j, POW2_NEG, TAYLOR)
            h_joint = float(-(lse_j - math.log(n_total)).mean())
    finally:
        set_num_threads(previous)
    return h_marg, h_joint


def sample_posterior(mu: np.ndarray, logvar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One sample z_n ~ q(z|x_n) per row."""
    return mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
