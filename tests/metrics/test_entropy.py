"""metrics.entropy's compiled kernel against a dense logsumexp over the full (S, N, D) tensor."""

import math

import numpy as np
from scipy.special import logsumexp

from metrics.entropy import CUTOFF, _exp_neg, POW2_NEG, TAYLOR, entropies


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
    h, hj = entropies(z, mu, logvar, joint=True)
    h_ref, hj_ref = _dense(z, mu, logvar)
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=1e-12)
    assert abs(hj - hj_ref) < 1e-12
    h1, _ = entropies(z, mu, logvar, threads=1)
    assert np.array_equal(h1, h)  # samples are independent: threads do not change a bit


def test_polynomial_exp_matches_libm():
    x = np.concatenate([-np.linspace(0, CUTOFF + 1, 100_001), [-1e-300, -0.5 * math.log(2)]])
    ours = np.array([_exp_neg.py_func(v, POW2_NEG, TAYLOR) for v in x[::97]])
    np.testing.assert_allclose(ours, np.exp(x[::97]), rtol=4e-16, atol=0)
