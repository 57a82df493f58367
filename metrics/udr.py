"""Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model Selection for
Variational Disentangled Representation Learning", ICLR), as disentanglement_lib's ``evaluation/udr``.

Idea: runs of one configuration that disentangle agree with each other up to a permutation and sign
flips of their latents; runs that entangle agree only up to an arbitrary rotation. No labels needed:
only the codes of every run on the same inputs (the shared probe codes) and each latent's mean KL.

For an ordered pair of runs (i, j), with codes standardised per latent and latents whose mean KL is
≤ ``kl_threshold`` (0.01 nats) set to zero:

1. a D_i × D_j similarity matrix R between their latents: |Spearman correlation| (``spearman``) or
   |coefficients| of a ``Lasso(alpha=0.1)`` regression of run j's codes on run i's (``lasso``);
2. R restricted to the active latents of both runs;
3. the relative-strength score: for each column, (its largest entry)² / (its sum), averaged over
   columns; the same over rows; the two averaged. One dominant entry per row and column → 1.

A run's UDR is the median of its pair scores over its partners (pairs (j, i), j ≠ i, as the
reference orders them). With no active latent in one of the two runs a pair scores 0 (the reference
raises). Protocol: ``docs/metrics.md#udr``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

VERSION = "1"
KL_THRESHOLD = 0.01
LASSO_ALPHA = 0.1
CORRELATIONS = ("spearman", "lasso")


def relative_strength(r: np.ndarray) -> float:
    """Mean over columns and over rows of max² / sum, averaged (0/0 counts as 0); r is non-negative."""
    if r.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = np.nan_to_num(r.max(0) ** 2 / r.sum(0))
        rows = np.nan_to_num(r.max(1) ** 2 / r.sum(1))
    return float((cols.mean() + rows.mean()) / 2)


def standardise(codes: np.ndarray, kl: np.ndarray, kl_threshold: float = KL_THRESHOLD) -> np.ndarray:
    """Codes with zero mean and unit variance per latent (constant latents stay 0); inactive latents zeroed."""
    codes = np.asarray(codes, dtype=np.float64)
    std = codes.std(0)
    z = (codes - codes.mean(0)) / np.where(std > 0, std, 1.0)
    return z * (np.asarray(kl) > kl_threshold)


def similarity(a: np.ndarray, b: np.ndarray, kind: str = "spearman", seed: int = 0) -> np.ndarray:
    """|similarity| between the latents of two standardised code matrices (N, D_a), (N, D_b) → (D_a, D_b)."""
    if kind == "spearman":
        r = np.zeros((a.shape[1], b.shape[1]))
        ia, ib = np.flatnonzero(a.std(0) > 0), np.flatnonzero(b.std(0) > 0)  # constant columns: no correlation
        if len(ia) and len(ib):  # Spearman = Pearson correlation of the ranks (ties get their average rank)
            ra, rb = (stats.rankdata(x, axis=0) for x in (a[:, ia], b[:, ib]))
            ra, rb = ((x - x.mean(0)) / x.std(0) for x in (ra, rb))
            r[np.ix_(ia, ib)] = np.abs(ra.T @ rb) / len(a)
        return r
    if kind == "lasso":
        from sklearn.linear_model import Lasso

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on degenerate pairs
            model = Lasso(alpha=LASSO_ALPHA, random_state=seed).fit(a, b)
        return np.abs(np.atleast_2d(model.coef_)).T
    raise ValueError(f"Unknown UDR correlation {kind!r}; choose one of {', '.join(CORRELATIONS)}")


def compute_udr(codes: list[np.ndarray], kls: list[np.ndarray], kind: str = "spearman", kl_threshold: float = KL_THRESHOLD,
                seed: int = 0) -> dict:
    """UDR of each of M ≥ 2 runs of one configuration.

    Args:
        codes: M mean-code matrices (N, D_m) of the runs on the same N inputs, rows aligned.
        kls: M vectors (D_m,) of each latent's mean KL to the prior on those inputs.
        kind: ``spearman`` or ``lasso``.

    Returns:
        ``{"udr": [M floats], "pairwise": M × M list (diagonal NaN), "active": [M ints]}``.
    """
    m = len(codes)
    if m < 2 or len(kls) != m:
        raise ValueError(f"UDR needs codes and KLs of at least 2 runs of the same configuration, got {m} and {len(kls)}")
    n = {len(c) for c in codes}
    if len(n) != 1:
        raise ValueError(f"UDR needs the codes of every run on the same inputs; got row counts {sorted(n)}")
    masks = [np.asarray(k) > kl_threshold for k in kls]
    z = [standardise(c, k, kl_threshold) for c, k in zip(codes, kls)]
    pair = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(m):
            if i != j:
                r = similarity(z[i], z[j], kind, seed)
                pair[i, j] = relative_strength(r[masks[i]][:, masks[j]])
    udr = [float(np.median(np.delete(pair[:, i], i))) for i in range(m)]
    return {"udr": udr, "pairwise": pair.tolist(), "active": [int(mk.sum()) for mk in masks]}
