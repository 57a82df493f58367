"""Exact aggregate-posterior log-densities for collapsed dimensions, by power series.

Where every posterior of a dimension is nearly the same Gaussian (a latent the model does not use),
all N terms of Chen's logsumexp count and no pruning can skip any; but then every log q(x | x_n) is
nearly the same quadratic in x, and the sum over n becomes a polynomial in x whose coefficients are
computed once. See :func:`lse_series`. Protocol: ``docs/metrics.md#mig-chens-full-dataset-protocol``.
"""

from __future__ import annotations

import numpy as np

SERIES_ORDER = 18  # terms kept of each exponential series
SERIES_RADIUS = 0.75  # largest |δB·(x − x0)| and |δC·(x − x0)²| a series is used for
# Remainder of each truncated series, relative: R^(K+1) e^(2R) / (K+1)! < 2e-19; its terms' condition
# number e^(2R) per series keeps the rounding of the sums below 1e-12 relative.


def _powers(v: np.ndarray, order: int, first: np.ndarray | None = None) -> np.ndarray:
    """(K+1, N): first · v^k / k! for k = 0..K (rows contiguous)."""
    out = np.empty((order + 1, len(v)))
    out[0] = 1.0 if first is None else first
    for k in range(1, order + 1):
        np.multiply(out[k - 1], v, out=out[k])
        out[k] *= 1.0 / k
    return out


def _series_coefficients(weight: np.ndarray, db: np.ndarray, dc: np.ndarray, order: int, block: int = 65_536) -> np.ndarray:
    """coef[p] = Σ_n weight_n Σ_{b + 2c = p; b, c ≤ K} db_n^b dc_n^c / (b! c!), p = 0..3K.

    The double sum over (b, c) of every row is one rank-1 update, so the sum over rows is a matrix
    product M = (weight·DB)·DCᵀ of (K+1, N) power tables (BLAS), taken in blocks of rows; then
    coef[p] sums the anti-diagonal b + 2c = p of M."""
    m = np.zeros((order + 1, order + 1))
    for i in range(0, len(db), block):
        rows = slice(i, i + block)
        m += _powers(db[rows], order, weight[rows]) @ _powers(dc[rows], order).T
    coef = np.zeros(3 * order + 1)
    for c in range(order + 1):
        coef[2 * c:2 * c + order + 1] += m[:, c]
    return coef


def lse_series(x: np.ndarray, mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """logsumexp_n log q(x_s | x_n) for the samples where all N log-densities are nearly the same
    quadratic in x — a collapsed dimension, where pruning can skip nothing.

    Around a centre x0 (the integer nearest x), log q(x | x_n) = A_n + B_n·y + C·y² with y = x − x0
    (A = log q(x0 | x_n), B = −2h(x0 − μ), C = −h). With B̄, C̄ the means and δB, δC the deviations,

        Σ_n q(x | x_n) = e^{B̄y + C̄y²} · Σ_n e^{A_n} e^{δB_n y} e^{δC_n y²},

    and the two exponentials are power series in y, truncated where their remainder is < 2e-19
    relative: the sum is a polynomial in y whose coefficients are computed once per centre (O(N·K²)),
    then O(K) per sample instead of O(N). Samples too far from every centre for the truncation bound
    (|δB|·|y| or |δC|·y² above ``SERIES_RADIUS``) are left to the pruned kernel.
    Returns (values, mask of the samples it applies to).
    """
    out = np.full(len(x), np.nan)
    done = np.zeros(len(x), dtype=bool)
    dh = half_iv - half_iv.mean()
    dhm = half_iv * mu - (half_iv * mu).mean()
    dh_max, dhm_max = np.abs(dh).max(), np.abs(dhm).max()  # δC = −δh: its bound is dh_max too
    # Centres on a grid of step ``step``: |y| ≤ step / 2 must keep |δB|·|y| and |δC|·y² within the radius,
    # with |δB(x0)| ≤ 2|x0|·max|δh| + 2·max|δ(hμ)|.
    reach = np.abs(x).max() if len(x) else 0.0
    b_max = 2 * reach * dh_max + 2 * dhm_max
    step = min(1.0, 2 * SERIES_RADIUS / max(b_max, 1e-300), 2 * np.sqrt(SERIES_RADIUS / max(dh_max, 1e-300)))
    centres = np.rint(x / step) * step
    unique = np.unique(centres)
    if len(unique) * 10 > len(x):  # one centre costs about as much as a few samples' direct sums: leave it to those
        return out, done
    dc = -dh
    for x0 in unique:
        pick = centres == x0
        y = x[pick] - x0
        b = -2.0 * half_iv * (x0 - mu)
        db = b - b.mean()
        ok = (np.abs(db).max() * np.abs(y) <= SERIES_RADIUS) & (dh_max * y * y <= SERIES_RADIUS)
        if not ok.any():
            continue
        a = const - half_iv * (x0 - mu) ** 2  # log q(x0 | x_n)
        a_top = a.max()
        coef = _series_coefficients(np.exp(a - a_top), db, dc, SERIES_ORDER)
        ys = y[ok]
        poly = np.zeros_like(ys)
        for p in range(len(coef) - 1, -1, -1):  # Horner
            poly = poly * ys + coef[p]
        idx = np.flatnonzero(pick)[ok]
        out[idx] = a_top + b.mean() * ys - half_iv.mean() * ys * ys + np.log(poly)
        done[idx] = True
    return out, done
