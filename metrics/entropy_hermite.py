"""Exact aggregate-posterior log-densities of one dimension, by Taylor expansion around boxes of samples.

For a sample x near a centre x0 (y = x − x0), each mixture term is a Gaussian in y:

    e^{c_n − h_n (x − μ_n)²} = e^{c_n − t_n²} Σ_k (−1)^k H_k(t_n) / k! · (√h_n y)^k,   t_n = √h_n (x0 − μ_n)

(H_k the Hermite polynomials; h = 1/(2σ²)). Summed over the rows n, F(x) = Σ_k A_k y^k with
coefficients A_k computed once per box of nearby samples — O(N·P) per box instead of O(N) per sample,
by the three-term recurrence b_{k+1} = (B b_k − 2h b_{k−1}) / (k + 1), B = −2h(x0 − μ).

Exactness is checked, not assumed. By Cramér's inequality (|H_k(t)| e^{−t²/2} ≤ 1.0865·2^{k/2}·√k!),
the k-th term of row n is at most 1.0865·e^{c_n − t_n²/2}·r_n^k/√k! with r_n = √(2h_n)·|y|, so the
truncation after ``ORDER`` terms and the rounding of the sums are bounded per box:

    E = Σ_n e^{c_n − t_n²/2} T(r_n),   M = Σ_n e^{c_n − t_n²/2} S(r_n)

(T the series' tail, S its sum of magnitudes, both tabulated upwards in r). A box is used only if
E + ``ROUNDING``·M ≤ ``TOLERANCE``·F_low, where F_low ≤ F on the whole box is the largest term's
minimum over it: every sample then has F to 1e-12 relative, so its log to 1e-12 absolute. A box that
fails is halved; samples left without a box go to the pruned kernel. Rows more than ``CUTOFF`` nats
below F_low are left out exactly as the dense kernel drops them.

Protocol: ``docs/metrics.md#mig-chens-full-dataset-protocol``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .entropy import CUTOFF, TAYLOR, _exp_neg

ORDER = 40  # terms y^0 … y^ORDER kept
TOLERANCE = 1e-11  # bound on the relative error of F(x) a box must meet
EPS = 1.12e-16  # float64 unit round-off, with margin
CHUNK, BLOCK = 64, 4096  # rows summed per vector reduction, rows per partial sum
MIN_BOX = 8  # fewer samples than this: cheaper to sum directly
MAX_HALVINGS = 16  # a box still failing after this many halvings leaves its first sample to the direct sum
CRAMER = 1.0865
R_STEP = 1.0 / 64  # table step of T and S in r
R_MAX = 6.0
POW2_ALL = 2.0 ** -np.arange(1100.0)  # 2^-k down to the subnormals: _exp_neg on [−745, 0]


def _tables(order: int = ORDER) -> tuple[np.ndarray, np.ndarray]:
    """T(r) = CRAMER·Σ_{k>order} r^k/√k! and S(r) = CRAMER·Σ_{k≤order} r^k/√k! on r = i·R_STEP, each
    taken at the upper end of its step (so a lookup at ceil(r / R_STEP) bounds from above)."""
    r = np.arange(0, R_MAX + 2 * R_STEP, R_STEP)[:, None]
    k = np.arange(order + 400)[None]
    log_terms = k * np.log(np.maximum(r, 1e-300)) - 0.5 * np.array([math.lgamma(v + 1) for v in k[0]])[None]
    log_terms[0, 0] = 0.0  # r = 0: only the k = 0 term, 1
    terms = np.exp(log_terms)
    terms[0, 1:] = 0.0
    return CRAMER * terms[:, order + 1:].sum(1), CRAMER * terms[:, :order + 1].sum(1)


TAIL, MAGNITUDE = _tables()


@njit(inline="always", fastmath=True)
def _window(x0, rad, mu, const, half_iv, l_lo, l_hi, l_cmax, l_hmin, leaf):
    """Rows [start, stop) (sorted by mean) that can come within CUTOFF of the largest term anywhere in
    [x0 − rad, x0 + rad], and f_low: a lower bound of that largest term on the whole interval."""
    n = mu.shape[0]
    pos = np.searchsorted(mu, x0)
    f_low = -np.inf
    for i in range(max(0, pos - leaf), min(n, pos + leaf)):
        d = abs(x0 - mu[i]) + rad
        f_low = max(f_low, const[i] - d * d * half_iv[i])
    keep = f_low - CUTOFF
    first, last = l_lo.shape[0], -1
    for b in range(l_lo.shape[0]):
        gap = max(0.0, max(l_lo[b] - (x0 + rad), (x0 - rad) - l_hi[b]))
        if l_cmax[b] - gap * gap * l_hmin[b] >= keep:
            first, last = min(first, b), max(last, b)
    return first * leaf, min(n, (last + 1) * leaf), f_low


@njit(cache=True, fastmath=True)
def _plan_boxes(xs, width, mu, const, half_iv, l_lo, l_hi, l_cmax, l_hmin, leaf, tail, mag, pow2, c):
    """Greedy boxes over the sorted samples xs: (first sample, end sample, window start, window stop)
    per box whose bound holds; a box that fails is halved until it holds, or is too small (or halved
    ``MAX_HALVINGS`` times: ties)."""
    n_s = xs.shape[0]
    boxes = np.empty((n_s // MIN_BOX + 1, 4), dtype=np.int64)
    n_box = 0
    a = 0
    while a < n_s:
        w = width
        placed = False
        for _ in range(MAX_HALVINGS):
            b = a
            while b < n_s and xs[b] <= xs[a] + w:
                b += 1
            if b - a < MIN_BOX:
                break
            x0, rad = 0.5 * (xs[a] + xs[b - 1]), 0.5 * (xs[b - 1] - xs[a])
            start, stop, _ = _window(x0, rad, mu, const, half_iv, l_lo, l_hi, l_cmax, l_hmin, leaf)
            shift = -np.inf
            for i in range(start, stop):
                d = x0 - mu[i]
                shift = max(shift, const[i] - 0.5 * half_iv[i] * d * d)
            # rounding of the chunk, block and total sums, the recurrence and Horner's rule
            rounding = (CHUNK + BLOCK // CHUNK + (stop - start) // BLOCK + 4 * ORDER + 8) * EPS
            err, low = 0.0, 0.0
            for i in range(start, stop):
                d = x0 - mu[i]
                r = math.sqrt(2.0 * half_iv[i]) * rad
                j = min(int(math.ceil(r / R_STEP)), tail.shape[0] - 1)
                wb = _exp_neg(max(const[i] - 0.5 * half_iv[i] * d * d - shift, -745.0), pow2, c)
                err += np.inf if r > R_MAX else wb * (tail[j] + rounding * mag[j])
                far = abs(d) + rad  # the row's term is smallest at the box's far end
                low += _exp_neg(max(const[i] - half_iv[i] * far * far - shift, -745.0), pow2, c)
            if err <= TOLERANCE * low:  # low ≤ F(x) / e^shift everywhere in the box
                boxes[n_box] = (a, b, start, stop)
                n_box += 1
                placed = True
                break
            w *= 0.5
        if placed:
            a = boxes[n_box - 1, 1]
        else:
            a += 1  # this sample goes to the direct sum
    return boxes[:n_box]


@njit(parallel=True, cache=True, fastmath=True)
def _eval_boxes(xs, boxes, mu, const, half_iv, out, pow2, c):
    """out[i] = logsumexp_n log q(xs[i] | x_n) for the samples of every box, from its expansion."""
    for q in prange(boxes.shape[0]):
        a, b, start, stop = boxes[q]
        x0 = 0.5 * (xs[a] + xs[b - 1])  # as planned
        shift = -np.inf
        for i in range(start, stop):
            d = x0 - mu[i]
            shift = max(shift, const[i] - half_iv[i] * d * d)
        coef, part = np.zeros(ORDER + 1), np.zeros(ORDER + 1)
        w, big_b, cur, prev, two_h = np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK)
        for lo in range(start, stop, CHUNK):
            m = min(CHUNK, stop - lo)
            for k in range(m):  # b_0 = 1, b_1 = B = −2h(x0 − μ)
                d = x0 - mu[lo + k]
                w[k] = _exp_neg(max(const[lo + k] - half_iv[lo + k] * d * d - shift, -745.0), pow2, c)
                two_h[k] = 2.0 * half_iv[lo + k]
                big_b[k] = -two_h[k] * d
                cur[k] = big_b[k]
                prev[k] = 1.0
            s0, s1 = 0.0, 0.0
            for k in range(m):
                s0 += w[k]
                s1 += w[k] * cur[k]
            part[0] += s0
            part[1] += s1
            for p in range(1, ORDER):  # b_{p+1} = (B b_p − 2h b_{p−1}) / (p + 1)
                inv = 1.0 / (p + 1)
                acc = 0.0
                for k in range(m):
                    nxt = (big_b[k] * cur[k] - two_h[k] * prev[k]) * inv
                    prev[k] = cur[k]
                    cur[k] = nxt
                    acc += w[k] * nxt
                part[p + 1] += acc
            if (lo - start + CHUNK) % BLOCK == 0 or lo + CHUNK >= stop:
                coef += part
                part[:] = 0.0
        for i in range(a, b):
            y = xs[i] - x0
            poly = coef[ORDER]
            for p in range(ORDER - 1, -1, -1):
                poly = poly * y + coef[p]
            out[i] = shift + math.log(poly)


def lse_hermite(x: np.ndarray, mu: np.ndarray, const: np.ndarray, half_iv: np.ndarray,
                leaf_box: tuple, leaf: int) -> tuple[np.ndarray, np.ndarray]:
    """logsumexp_n log q(x_s | x_n) (rows sorted by mean; ``leaf_box`` their per-leaf (lo, hi, cmax,
    hmin), each (B,)) for the samples the expansion covers within its error bound. Returns (values,
    mask of the samples covered); the rest are NaN."""
    order = np.argsort(x, kind="stable")
    xs = np.ascontiguousarray(x[order])
    width = 2.0 / math.sqrt(2.0 * np.quantile(half_iv, 0.9))  # r ≈ 1 at a typical narrow row
    boxes = _plan_boxes(xs, width, mu, const, half_iv, *leaf_box, leaf, TAIL, MAGNITUDE, POW2_ALL, TAYLOR)
    vals = np.full(len(xs), np.nan)
    _eval_boxes(xs, boxes, mu, const, half_iv, vals, POW2_ALL, TAYLOR)
    out = np.full(len(x), np.nan)
    out[order] = vals
    return out, ~np.isnan(out)
