"""Chen et al.'s aggregate-posterior entropies, pruned exactly: the same terms as the dense kernel of
:mod:`metrics.entropy`, found without evaluating the ones that cannot count.

A term log q(z | x_n) enters a logsumexp only if it lies within ``CUTOFF`` = 50 nats of the maximum
(the dense kernel's rule: the rest sum to < N·e⁻⁵⁰ of it). Each term is bounded from above on a box
of posteriors: for rows n in a box with means in [lo_d, hi_d], constants ≤ c_d and inverse variances
≥ h_d,

    Σ_d log q(z_d | x_n)  ≤  Σ_d ( c_d − dist(z_d, [lo_d, hi_d])² · h_d ).

The posteriors are ordered so that boxes are small — sorted by the mean for one dimension (marginal
entropies), or a k-d order over the means (joint entropy) — and cut into leaves of 32 rows and groups
of 32 leaves. Per sample, the exact maximum is found first — by branch and bound for the joint
entropy, over the range of rows whose boxes can reach it for a marginal one — and then every group and
leaf whose bound lies below maximum − CUTOFF is skipped when the terms are summed. Skipped rows are exactly rows the dense kernel
drops, so the results agree with it to float64 rounding (the summation order differs; tested ≤ 1e-12).

Marginal entropies go first to the expansion of :mod:`metrics.entropy_hermite`, which serves boxes of
nearby samples from one set of Taylor coefficients each under a checked error bound (collapsed and wide
latents, where pruning skips little, included); only the samples it leaves — isolated ones, in the
tails — are summed directly here.

The joint entropy of codes with little information, where every box reaches the cut-off, goes to the
dense matrix-product kernel of :mod:`metrics.entropy_gemm` instead (chosen from a pilot's leaf count).

Protocol: ``docs/metrics.md#mig-chens-full-dataset-protocol``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .entropy import CUTOFF, LOG_2PI, POW2_NEG, TAYLOR, _exp_neg
from .entropy_boxes import boxes as _boxes, kd_order
from .entropy_gemm import lse_joint_gemm
from .entropy_hermite import lse_hermite

from .entropy_boxes import LEAF  # rows per leaf
GROUP = 32  # leaves per group
PILOT = 64  # samples through the tree before choosing it or the dense kernel for the joint entropy
DENSE_ABOVE = 0.1  # fraction of leaves summed above which the dense kernel is faster (≈ 10× per term, measured)


@njit(inline="always", fastmath=True)
def _bound(z, s, lo, hi, cmax, hmin, b):
    """Upper bound of Σ_d log q(z[s, d] | x_n) over the rows of box b (boxes are (B, D))."""
    t = 0.0
    for d in range(z.shape[1]):
        x = z[s, d]
        gap = lo[b, d] - x if x < lo[b, d] else (x - hi[b, d] if x > hi[b, d] else 0.0)
        t += cmax[b, d] - gap * gap * hmin[b, d]
    return t


@njit(inline="always", fastmath=True)
def _leaf_terms(z, s, mu_t, const_t, half_iv_t, start, stop, buf):
    """buf[: stop − start] = Σ_d log q(z[s, d] | x_i) for rows start..stop (layouts (D, N))."""
    m = stop - start
    for k in range(m):
        buf[k] = 0.0
    for d in range(z.shape[1]):
        x = z[s, d]
        mu_d, c_d, h_d = mu_t[d, start:stop], const_t[d, start:stop], half_iv_t[d, start:stop]
        for k in range(m):
            diff = x - mu_d[k]
            buf[k] += c_d[k] - diff * diff * h_d[k]


@njit(parallel=True, cache=True, fastmath=True)
def _lse_tree(z, mu_t, const_t, half_iv_t, leaf_box, group_box, leaf, group, out, visits, pow2_neg, c):
    """out[s] = logsumexp_n Σ_d log q(z[s, d] | x_n) over rows in box order; boxes are (lo, hi, cmax, hmin).

    Pass 1 finds the exact maximum by branch and bound (groups in decreasing order of their bound,
    stopping when no bound can beat the best term so far); pass 2 sums the leaves whose bound reaches
    the cut-off below it (``visits[s]``: how many)."""
    n = mu_t.shape[1]
    l_lo, l_hi, l_cmax, l_hmin = leaf_box
    g_lo, g_hi, g_cmax, g_hmin = group_box
    n_groups = g_lo.shape[0]
    n_leaves = l_lo.shape[0]
    for s in prange(z.shape[0]):
        buf = np.empty(leaf)
        g_ub = np.empty(n_groups)
        for g in range(n_groups):
            g_ub[g] = _bound(z, s, g_lo, g_hi, g_cmax, g_hmin, g)
        top = -np.inf
        for g in np.argsort(-g_ub):
            if g_ub[g] <= top:
                break
            for b in range(g * group, min(n_leaves, (g + 1) * group)):
                if _bound(z, s, l_lo, l_hi, l_cmax, l_hmin, b) <= top:
                    continue
                start, stop = b * leaf, min(n, (b + 1) * leaf)
                _leaf_terms(z, s, mu_t, const_t, half_iv_t, start, stop, buf)
                for k in range(stop - start):
                    top = max(top, buf[k])
        floor = top - CUTOFF
        acc = 0.0
        for g in range(n_groups):
            if g_ub[g] < floor:
                continue
            for b in range(g * group, min(n_leaves, (g + 1) * group)):
                if _bound(z, s, l_lo, l_hi, l_cmax, l_hmin, b) < floor:
                    continue
                visits[s] += 1
                start, stop = b * leaf, min(n, (b + 1) * leaf)
                _leaf_terms(z, s, mu_t, const_t, half_iv_t, start, stop, buf)
                for k in range(stop - start):
                    t = buf[k]
                    e = _exp_neg(max(t - top, -CUTOFF - 1.0), pow2_neg, c)
                    acc += e if t > floor else 0.0
        out[s] = top + math.log(acc)


@njit(parallel=True, cache=True, fastmath=True)
def _lse_sorted(z, mu, const, half_iv, leaf_box, group_box, leaf, group, out, pow2_neg, c):
    """One dimension, rows sorted by mean: out[s] = logsumexp_n log q(z[s] | x_n). The rows that can
    reach the cut-off lie between the first and the last kept leaf; that range is summed densely."""
    n = mu.shape[0]
    l_lo, l_hi, l_cmax, l_hmin = leaf_box
    g_lo, g_hi, g_cmax, g_hmin = group_box
    n_groups = g_lo.shape[0]
    n_leaves = l_lo.shape[0]
    for s in prange(z.shape[0]):
        x = z[s]
        # L: the exact maximum over the rows nearest in mean (a sorted-order neighbourhood of x).
        pos = np.searchsorted(mu, x)
        low = -np.inf
        for i in range(max(0, pos - leaf), min(n, pos + leaf)):
            diff = x - mu[i]
            low = max(low, const[i] - diff * diff * half_iv[i])
        keep = low - CUTOFF
        first, last = n_leaves, -1
        for g in range(n_groups):
            gap = g_lo[g, 0] - x if x < g_lo[g, 0] else (x - g_hi[g, 0] if x > g_hi[g, 0] else 0.0)
            if g_cmax[g, 0] - gap * gap * g_hmin[g, 0] < keep:
                continue
            for b in range(g * group, min(n_leaves, (g + 1) * group)):
                gap = l_lo[b, 0] - x if x < l_lo[b, 0] else (x - l_hi[b, 0] if x > l_hi[b, 0] else 0.0)
                if l_cmax[b, 0] - gap * gap * l_hmin[b, 0] >= keep:
                    first, last = min(first, b), max(last, b)
        start, stop = first * leaf, min(n, (last + 1) * leaf)
        m, cc, h = mu[start:stop], const[start:stop], half_iv[start:stop]  # slices: the loops vectorise
        top = low
        for i in range(m.shape[0]):
            diff = x - m[i]
            top = max(top, cc[i] - diff * diff * h[i])
        floor = top - CUTOFF
        acc = 0.0
        for i in range(m.shape[0]):
            diff = x - m[i]
            t = cc[i] - diff * diff * h[i]
            e = _exp_neg(max(t - top, -CUTOFF - 1.0), pow2_neg, c)
            acc += e if t > floor else 0.0
        out[s] = top + math.log(acc)


def _lse_joint(z: np.ndarray, mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray) -> np.ndarray:
    """logsumexp over rows of Σ_d log q(z_d | x_n) for each sample (rows in k-d order).

    The first ``PILOT`` samples go through the pruned tree, counting the leaves it must sum. Where it
    sums more than ``DENSE_ABOVE`` of them on average (codes with little information, whose posteriors
    all overlap), pruning cannot pay and the remaining samples go to the dense matrix-product kernel of
    :mod:`metrics.entropy_gemm` (equal to the reference to ≈ 1e-10), else through the tree. The choice
    depends on the codes only, so it is the same on every run."""
    order = kd_order(mu, half_iv)
    mu, const, half_iv = (a[order] for a in (mu, const, half_iv))
    z = np.ascontiguousarray(z)
    pilot = min(PILOT, len(z))
    out = np.empty(len(z))
    visits = _tree(z[:pilot], mu, const, half_iv, out[:pilot])
    if len(z) > pilot:
        if visits.mean() > DENSE_ABOVE * -(-len(mu) // LEAF):
            out[pilot:] = lse_joint_gemm(z[pilot:], mu, const, half_iv)[0]
        else:
            _tree(np.ascontiguousarray(z[pilot:]), mu, const, half_iv, out[pilot:])
    return out


def _tree(z: np.ndarray, mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The pruned tree over rows already in k-d order: fills ``out`` (S,), returns the leaves summed per sample."""
    leaf_box = _boxes(mu, const, half_iv, LEAF)
    group_box = _boxes(mu, const, half_iv, LEAF * GROUP)
    visits = np.zeros(len(z), dtype=np.int64)
    res = np.empty(len(z))
    _lse_tree(z, *(np.ascontiguousarray(a.T) for a in (mu, const, half_iv)), leaf_box, group_box,
              LEAF, GROUP, res, visits, POW2_NEG, TAYLOR)
    out[:] = res
    return visits


def _lse_marginal(x: np.ndarray, mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray) -> np.ndarray:
    """logsumexp_n log q(x_s | x_n) for one dimension: x (S,), mu/const/half_iv (N,). Rows sorted by
    mean; samples in boxes go to the expansion of :mod:`metrics.entropy_hermite`, the rest to the
    pruned direct sum."""
    order = np.argsort(mu, kind="stable")
    mu, const, half_iv = (np.ascontiguousarray(a[order]) for a in (mu, const, half_iv))
    cols = [a[:, None] for a in (mu, const, half_iv)]
    leaf_box, group_box = _boxes(*cols, LEAF), _boxes(*cols, LEAF * GROUP)
    out, done = lse_hermite(x, mu, const, half_iv, tuple(np.ascontiguousarray(a[:, 0]) for a in leaf_box), LEAF)
    if not done.all():
        rest = np.ascontiguousarray(x[~done])
        direct = np.empty(len(rest))
        _lse_sorted(rest, mu, const, half_iv, leaf_box, group_box, LEAF, GROUP, direct, POW2_NEG, TAYLOR)
        out[~done] = direct
    return out


def entropies_pruned(samples: np.ndarray, mu: np.ndarray, logvar: np.ndarray, joint: bool = False) -> tuple[np.ndarray, float | None]:
    """Marginal entropies H(z_j) (D,) and, if ``joint``, H(z): the values of the dense kernel
    (:func:`metrics.entropy.entropies_dense`), computed with exact pruning. Threads: numba's setting."""
    z = np.asarray(samples, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    const = -0.5 * (LOG_2PI + logvar)  # (N, D)
    half_iv = 0.5 * np.exp(-logvar)
    log_n = math.log(len(mu))
    h_marg = np.empty(mu.shape[1])
    for j in range(mu.shape[1]):
        h_marg[j] = -(_lse_marginal(z[:, j], mu[:, j], const[:, j], half_iv[:, j]) - log_n).mean()
    h_joint = None
    if joint:
        h_joint = float(-(_lse_joint(z, mu, const, half_iv) - log_n).mean())
    return h_marg, h_joint
