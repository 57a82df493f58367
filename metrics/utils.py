"""Shared pieces of the metrics, as disentanglement_lib defines them (``docs/metrics.md``).

Conventions: ``codes`` are (N, D) float arrays, ``factors`` (N, K) integer class indices — rows are
samples (disentanglement_lib passes the transposes; the numbers are the same).
"""

from __future__ import annotations

import numpy as np


def check_codes(codes: np.ndarray, factors: np.ndarray | None = None, min_samples: int = 2, name: str = "metric") -> tuple[np.ndarray, np.ndarray | None]:
    """Validate inputs; raise a one-line ValueError naming the problem and the fix."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name}: codes must be a 2-D array (N samples, D latents); got shape {codes.shape}")
    if not np.issubdtype(codes.dtype, np.number):
        raise ValueError(f"{name}: codes must be numeric; got dtype {codes.dtype}")
    if not np.isfinite(codes).all():
        bad = int((~np.isfinite(codes)).any(1).sum())
        raise ValueError(f"{name}: codes contain NaN or inf in {bad} rows; check the encoder (diverged training?)")
    if len(codes) < min_samples:
        raise ValueError(f"{name}: needs at least {min_samples} samples; got {len(codes)} — raise num_train/num_eval")
    if factors is not None:
        factors = np.asarray(factors)
        if factors.ndim != 2 or len(factors) != len(codes):
            raise ValueError(f"{name}: factors must be (N, K) with N = {len(codes)} rows like codes; got {factors.shape}")
        if not np.issubdtype(factors.dtype, np.integer):
            raise ValueError(f"{name}: factors must be integer class indices; got dtype {factors.dtype}")
    return codes, factors


def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """dlib's ``histogram_discretizer``: per dimension, ``digitize(x, histogram(x, bins)[1][:-1])``
    — equal-width bins over that dimension's empirical min–max; ids 1..num_bins. (N, D) → (N, D) int."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram(codes[:, d], num_bins)[1]
        out[:, d] = np.digitize(codes[:, d], edges[:-1])
    return out


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MI (nats) between every column of ``a`` (N, D) and of ``b`` (N, K), both discrete labels:
    equal to ``sklearn.metrics.mutual_info_score`` pairwise, computed from joint counts."""
    n = len(a)
    a_ids = [np.unique(a[:, i], return_inverse=True)[1] for i in range(a.shape[1])]
    b_ids = [np.unique(b[:, j], return_inverse=True)[1] for j in range(b.shape[1])]
    out = np.zeros((a.shape[1], b.shape[1]))
    for i, ai in enumerate(a_ids):
        na = ai.max() + 1
        pa = np.bincount(ai, minlength=na) / n
        for j, bj in enumerate(b_ids):
            nb = bj.max() + 1
            joint = np.bincount(ai * nb + bj, minlength=na * nb).reshape(na, nb) / n
            pb = np.bincount(bj, minlength=nb) / n
            nz = joint > 0
            outer = np.outer(pa, pb)
            out[i, j] = max(0.0, float(np.sum(joint[nz] * (np.log(joint[nz]) - np.log(outer[nz])))))
    return out


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Empirical entropy (nats) of each column of (N, K) labels (= mutual_info_score(y, y))."""
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        p = np.unique(labels[:, j], return_counts=True)[1] / len(labels)
        out[j] = float(-np.sum(p * np.log(p)))
    return out
