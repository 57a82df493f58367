"""Boxes over runs of posterior rows, and the k-d order that keeps them small: the bounds the pruned
entropy kernels (:mod:`metrics.entropy_tree`, :mod:`metrics.entropy_hermite`) skip terms with."""

from __future__ import annotations

import numpy as np

LEAF = 32  # rows per leaf


def boxes(mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray, size: int):
    """Per consecutive run of ``size`` rows: (lo, hi, cmax, hmin), each (B, D)."""
    n, d = mu.shape
    b = -(-n // size)
    pad = b * size - n

    def padded(a, fill):
        return np.concatenate([a, np.full((pad, d), fill)]).reshape(b, size, d)

    lo = padded(mu, np.inf).min(1)
    hi = padded(mu, -np.inf).max(1)
    cmax = padded(const, -np.inf).max(1)
    hmin = padded(half_iv, np.inf).min(1)
    return lo, hi, cmax, hmin


def kd_order(mu: np.ndarray, half_iv: np.ndarray, leaf: int = LEAF) -> np.ndarray:
    """A permutation of the rows that keeps nearby posterior means together: split each node at the
    median of its widest dimension (width measured in posterior standard deviations) down to ``leaf``
    rows. Split points are multiples of ``leaf``, so every leaf and group is a subtree."""
    scale = np.sqrt(np.median(half_iv, axis=0))  # ≈ 1 / (√2·σ) per dimension
    order = np.arange(len(mu))
    stack = [(0, len(mu))]
    while stack:
        lo, hi = stack.pop()
        if hi - lo <= leaf:
            continue
        rows = order[lo:hi]
        sub = mu[rows]
        spread = (sub.max(0) - sub.min(0)) * scale
        dim = int(np.argmax(spread))
        half = max(leaf, ((hi - lo) // 2) // leaf * leaf)
        part = np.argpartition(sub[:, dim], half)
        order[lo:hi] = rows[part]
        stack += [(lo, lo + half), (lo + half, hi)]
    return order
