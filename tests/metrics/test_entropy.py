"""metrics.entropy's kernels: the dense one against a logsumexp over the full (S, N, D) tensor, and
the pruned one (the default) against the dense one, kept as the reference."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from metrics.entropy import CUTOFF, POW2_NEG, TAYLOR, _exp_neg, entropies, entropies_dense, sample_posterior
from metrics.entropy_hermite import CRAMER, MAGNITUDE, MIN_BOX, ORDER, R_STEP, TAIL, TOLERANCE, lse_hermite
from metrics.entropy_boxes import LEAF, kd_order
from metrics.entropy_boxes import boxes as _boxes


def _dense(z, mu, logvar):
    ll = -0.5 * (math.log(2 * math.pi) + logvar[None] + (z[:, None] - mu[None]) ** 2 / np.exp(logvar[None]))  # (S, N, D)
    n = len(mu)
    return -(logsumexp(ll, axis=1) - math.log(n)).mean(0), float(-(logsumexp(ll.sum(2), axis=1) - math.log(n)).mean())


def test_entropies_equal_dense_logsumexp():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(1500, 6))
    logvar = np.log(rng.uniform(1e-4, 0.05, size=(1500, 6)))  # sharp posteriors: most terms below the cutoff
    logvar[:, 4:] = 0.0  # collapsed dimensions: every term counts
    mu[:, 4:] *= 0.01
    z = mu[:300] + np.exp(0.5 * logvar[:300]) * rng.normal(size=(300, 6))
    h, hj = entropies_dense(z, mu, logvar, joint=True)
    h_ref, hj_ref = _dense(z, mu, logvar)
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=1e-12)
    assert abs(hj - hj_ref) < 1e-12
    h1, _ = entropies_dense(z, mu, logvar, threads=1)
    assert np.array_equal(h1, h)  # samples are independent: threads do not change a bit


def test_polynomial_exp_matches_libm():
    x = np.concatenate([-np.linspace(0, CUTOFF + 1, 100_001), [-1e-300, -0.5 * math.log(2)]])
    ours = np.array([_exp_neg.py_func(v, POW2_NEG, TAYLOR) for v in x[::97]])
    np.testing.assert_allclose(ours, np.exp(x[::97]), rtol=4e-16, atol=0)


def _codes(rng, n, active, collapsed, weak, sigma=0.05, grid=None):
    """Posteriors like a trained encoder's: active dims (narrow, spread means), collapsed dims (≈ N(0, 1)),
    weakly used dims (wide posteriors, small spread). ``grid`` gives active means on a lattice."""
    d = active + collapsed + weak
    mu, logvar = np.zeros((n, d)), np.zeros((n, d))
    mu[:, :active] = rng.uniform(-2, 2, (n, active)) if grid is None else grid
    logvar[:, :active] = 2 * np.log(sigma) + rng.normal(0, 0.3, (n, active))
    mu[:, active:active + collapsed] = rng.normal(0, 0.01, (n, collapsed))
    logvar[:, active:active + collapsed] = rng.normal(0, 0.01, (n, collapsed))
    mu[:, active + collapsed:] = rng.normal(0, 0.5, (n, weak))
    logvar[:, active + collapsed:] = np.log(0.25) + rng.normal(0, 0.1, (n, weak))
    return mu, logvar


@pytest.mark.parametrize("shape", ["tiny", "shapes3d_like", "dsprites_like"])
def test_pruned_entropies_equal_dense(shape):
    """Pruned (series + boxes) vs dense: 1e-9 relative at most (rounding only: the same terms count)."""
    rng = np.random.default_rng(1)
    if shape == "tiny":  # the tiny dataset's grid: 384 rows, 4 factors on a lattice
        g = np.stack(np.meshgrid(*[np.linspace(-1.5, 1.5, k) for k in (3, 2, 8, 8)], indexing="ij"), -1).reshape(-1, 4)
        mu, logvar = _codes(rng, 384, 4, 4, 2, grid=g)
    elif shape == "shapes3d_like":  # RGB-style grid, 6 factors, mostly active
        mu, logvar = _codes(rng, 6000, 6, 2, 2, sigma=0.08)
    else:
        mu, logvar = _codes(rng, 20_000, 5, 3, 2)
    z = sample_posterior(mu, logvar, rng)[rng.choice(len(mu), 300, replace=False)]
    h, hj = entropies(z, mu, logvar, joint=True)
    h_ref, hj_ref = entropies_dense(z, mu, logvar, joint=True)
    np.testing.assert_allclose(h, h_ref, rtol=1e-9, atol=0)
    assert abs(hj - hj_ref) <= 1e-9 * abs(hj_ref)


def _sorted_dim(mu, logvar, dim):
    order = np.argsort(mu[:, dim], kind="stable")
    m, lv = mu[order, dim], logvar[order, dim]
    const, half_iv = -0.5 * (math.log(2 * math.pi) + lv), 0.5 * np.exp(-lv)
    leaf_box = tuple(np.ascontiguousarray(a[:, 0]) for a in _boxes(m[:, None], const[:, None], half_iv[:, None], LEAF))
    return m, const, half_iv, leaf_box


@pytest.mark.parametrize("dim, kind", [(0, "active"), (1, "collapsed"), (2, "weak"), (3, "mixed widths")])
def test_expansion_equals_logsumexp_and_covers_most_samples(dim, kind):
    rng = np.random.default_rng(2)
    mu, logvar = _codes(rng, 5000, 1, 1, 1)
    mu = np.c_[mu, rng.uniform(-3, 3, 5000)]  # widths varying 6× across rows, as in trained encoders
    logvar = np.c_[logvar, 2 * np.log(rng.uniform(0.02, 0.12, 5000))]
    z = sample_posterior(mu, logvar, rng)[:2000, dim]
    m, const, half_iv, leaf_box = _sorted_dim(mu, logvar, dim)
    values, used = lse_hermite(z, m, const, half_iv, leaf_box, LEAF)
    assert used.mean() > 0.9, used.mean()
    assert np.isnan(values[~used]).all()
    ref = logsumexp(const[None] - (z[:, None] - m[None]) ** 2 * half_iv[None], axis=1)
    np.testing.assert_allclose(values[used], ref[used], rtol=0, atol=TOLERANCE)


def test_expansion_leaves_isolated_samples_to_the_direct_sum():
    rng = np.random.default_rng(4)
    mu, logvar = _codes(rng, 2000, 1, 0, 0)
    m, const, half_iv, leaf_box = _sorted_dim(mu, logvar, 0)
    z = np.r_[np.linspace(-1, 1, MIN_BOX - 1), [7.0]]  # too few per box at this width, one far in the tail
    _, used = lse_hermite(z, m, const, half_iv, leaf_box, LEAF)
    assert not used.any()


def test_expansion_handles_tied_samples():
    rng = np.random.default_rng(5)
    mu, logvar = _codes(rng, 3000, 1, 0, 0)
    m, const, half_iv, leaf_box = _sorted_dim(mu, logvar, 0)
    z = np.r_[np.full(500, 0.3), rng.uniform(-1, 1, 200)]
    values, used = lse_hermite(z, m, const, half_iv, leaf_box, LEAF)
    ref = logsumexp(const[None] - (z[:, None] - m[None]) ** 2 * half_iv[None], axis=1)
    assert used[:500].all()
    np.testing.assert_allclose(values[used], ref[used], rtol=0, atol=TOLERANCE)


def test_cramer_bound_holds_for_every_taylor_coefficient():
    """The bound the expansion's error checks rest on: the y^k coefficient of e^{−h(d + y)²} is at most
    CRAMER·e^{−h d²/2}·(2h)^{k/2}/√k! in magnitude (Cramér's inequality for Hermite polynomials)."""
    from numpy.polynomial.hermite import hermval
    for t in np.linspace(-12, 12, 97):
        for k in range(0, 60):
            e = np.zeros(k + 1)
            e[k] = 1.0
            coef = abs(hermval(t, e)) * math.exp(-t * t) / math.factorial(k)  # with h = 1: the y^k coefficient
            assert coef <= CRAMER * math.exp(-t * t / 2) * 2 ** (k / 2) / math.sqrt(math.factorial(k)) * (1 + 1e-12)


def test_tail_tables_bound_from_above():
    r = np.array([0.3, 1.0, 1.7, 3.2])
    k = np.arange(ORDER + 400)
    terms = np.exp(k[None] * np.log(r[:, None]) - 0.5 * np.array([math.lgamma(v + 1) for v in k])[None])
    j = np.ceil(r / R_STEP).astype(int)
    assert (TAIL[j] >= CRAMER * terms[:, ORDER + 1:].sum(1)).all()
    assert (MAGNITUDE[j] >= CRAMER * terms[:, :ORDER + 1].sum(1)).all()
    assert TAIL[int(1.0 / R_STEP)] < 1e-16  # r ≈ 1: the series is exact to rounding


def test_kd_order_is_a_permutation_with_compact_leaves():
    rng = np.random.default_rng(3)
    mu, logvar = _codes(rng, 4096, 3, 2, 0)
    order = kd_order(mu, 0.5 * np.exp(-logvar))
    assert np.array_equal(np.sort(order), np.arange(len(mu)))
    leaves = mu[order, :3].reshape(-1, 32, 3)
    assert (leaves.max(1) - leaves.min(1)).mean() < 0.5 * (mu[:, :3].max(0) - mu[:, :3].min(0)).mean()


@pytest.mark.parametrize("kind", ["active", "collapsed", "near_collapsed", "tiny_variance", "mixed"])
def test_torch_dense_kernel_equals_the_numba_dense_reference(kind):
    """The GPU path's kernel (metrics.entropy_torch), run on the CPU through the same torch code."""
    from metrics.entropy import entropies_dense
    from metrics.entropy_torch import entropies_torch

    g = np.random.default_rng(7)
    n, s, d = 3000, 200, 6
    mu = g.normal(size=(n, d))
    logvar = np.full((n, d), -4.0)
    if kind == "collapsed":
        mu, logvar = g.normal(size=(n, d)) * 1e-3, g.normal(size=(n, d)) * 1e-3
    elif kind == "near_collapsed":
        mu, logvar = mu * 0.05, np.full((n, d), -0.05)
    elif kind == "tiny_variance":
        logvar = np.full((n, d), -18.0)
    elif kind == "mixed":
        mu[:, 3:] *= 1e-3
        logvar[:, 3:] = 0.0
    z = mu[g.integers(0, n, s)] + np.exp(0.5 * logvar[:s]) * g.normal(size=(s, d))
    want_m, want_j = entropies_dense(z, mu, logvar, joint=True)
    got_m, got_j = entropies_torch(z, mu, logvar, joint=True, sample_block=64, posterior_block=512)
    np.testing.assert_allclose(got_m, want_m, rtol=0, atol=1e-9)
    assert abs(got_j - want_j) < 1e-9
