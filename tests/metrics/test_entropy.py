"""metrics.entropy's kernels: the dense one against a logsumexp over the full (S, N, D) tensor, and
the pruned one (the default) against the dense one, kept as the reference."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from metrics.entropy import CUTOFF, POW2_NEG, TAYLOR, _exp_neg, entropies, entropies_dense, sample_posterior
from metrics.entropy_series import SERIES_RADIUS, lse_series
from metrics.entropy_tree import kd_order


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


def test_series_covers_collapsed_dims_and_refuses_others():
    rng = np.random.default_rng(2)
    mu, logvar = _codes(rng, 5000, 1, 1, 1)
    const, half_iv = -0.5 * (math.log(2 * math.pi) + logvar), 0.5 * np.exp(-logvar)
    x = rng.normal(size=400)
    for dim, coverage in ((0, lambda c: c < 0.1), (1, lambda c: c > 0.9), (2, lambda c: True)):
        values, used = lse_series(x, mu[:, dim], const[:, dim], half_iv[:, dim])
        assert coverage(used.mean()), (dim, used.mean())
        ref = logsumexp(const[None, :, dim] - (x[:, None] - mu[None, :, dim]) ** 2 * half_iv[None, :, dim], axis=1)
        np.testing.assert_allclose(values[used], ref[used], rtol=1e-13)
    assert SERIES_RADIUS <= 0.75


def test_kd_order_is_a_permutation_with_compact_leaves():
    rng = np.random.default_rng(3)
    mu, logvar = _codes(rng, 4096, 3, 2, 0)
    order = kd_order(mu, 0.5 * np.exp(-logvar))
    assert np.array_equal(np.sort(order), np.arange(len(mu)))
    leaves = mu[order, :3].reshape(-1, 32, 3)
    assert (leaves.max(1) - leaves.min(1)).mean() < 0.5 * (mu[:, :3].max(0) - mu[:, :3].min(0)).mean()
