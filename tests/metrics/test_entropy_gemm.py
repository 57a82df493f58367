"""metrics.entropy_gemm: the joint logsumexp as a blocked matrix product, against the dense reference
(metrics.entropy.entropies_dense), on the codes it must serve and the ones its rounding guard exists for."""

import math

import numpy as np
import pytest

from metrics import entropy_tree
from metrics.entropy import LOG_2PI, entropies, entropies_dense
from metrics.entropy_gemm import lse_joint_gemm


def _codes(kind: str, rng, n: int, d: int = 6):
    """(mu, logvar) (n, d): the cases of the rounding guard and of the dispatcher."""
    if kind == "active":  # informative, narrow posteriors
        return rng.normal(size=(n, d)) * 2, np.full((n, d), -6.0) + rng.normal(0, 0.2, (n, d))
    if kind == "collapsed":  # every posterior ≈ the prior
        return rng.normal(0, 1e-3, (n, d)), rng.normal(0, 1e-3, (n, d))
    if kind == "near_collapsed":  # a 200-step model: wide posteriors, means barely spread
        return rng.normal(0, 0.1, (n, d)), np.full((n, d), -0.2)
    if kind == "tiny_variance":  # σ² ≈ 1e-8: the expanded form cancels catastrophically
        return rng.normal(size=(n, d)) * 30 + 5.0, np.full((n, d), -18.0)
    if kind == "mixed":  # two sharp informative latents beside wide unused ones
        mu = np.concatenate([rng.normal(size=(n, 2)) * 3, rng.normal(0, 0.05, (n, d - 2))], 1)
        return mu, np.concatenate([np.full((n, 2), -14.0), np.full((n, d - 2), -0.05)], 1)
    raise ValueError(kind)


def _joint(z, mu, logvar):
    const, half_iv = -0.5 * (LOG_2PI + logvar), 0.5 * np.exp(-logvar)
    lse, recomputed = lse_joint_gemm(z, mu, const, half_iv, sample_block=64, posterior_block=256)
    return float(-(lse - math.log(len(mu))).mean()), recomputed


@pytest.mark.parametrize("kind", ["active", "collapsed", "near_collapsed", "tiny_variance", "mixed"])
def test_gemm_joint_entropy_equals_dense_reference(kind):
    rng = np.random.default_rng(3)
    mu, logvar = _codes(kind, rng, 3000)
    z = (mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape))[:400]
    _, ref = entropies_dense(z, mu, logvar, joint=True)
    got, recomputed = _joint(z, mu, logvar)
    assert abs(got - ref) <= 1e-9 * max(1.0, abs(ref))
    if kind in ("tiny_variance", "mixed"):
        assert recomputed > 0  # the guard fired: those blocks went through the direct form


def test_guard_is_what_keeps_tiny_variances_exact():
    """Without the guard (tol = ∞) the expanded form is visibly wrong on σ² ≈ 1e-8: the guard is needed."""
    rng = np.random.default_rng(4)
    mu, logvar = _codes("tiny_variance", rng, 2000)
    z = (mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape))[:200]
    const, half_iv = -0.5 * (LOG_2PI + logvar), 0.5 * np.exp(-logvar)
    _, ref = entropies_dense(z, mu, logvar, joint=True)
    unguarded = -(lse_joint_gemm(z, mu, const, half_iv, tol=math.inf)[0] - math.log(len(mu))).mean()
    assert abs(unguarded - ref) > 1e-7


def test_threads_do_not_change_a_bit():
    rng = np.random.default_rng(5)
    mu, logvar = _codes("near_collapsed", rng, 2000)
    z = mu[:300] + rng.standard_normal((300, mu.shape[1]))
    const, half_iv = -0.5 * (LOG_2PI + logvar), 0.5 * np.exp(-logvar)
    one = lse_joint_gemm(z, mu, const, half_iv, sample_block=64, threads=1)[0]
    two = lse_joint_gemm(z, mu, const, half_iv, sample_block=64, threads=2)[0]
    assert np.array_equal(one, two)


@pytest.mark.parametrize("kind,dense", [("near_collapsed", True), ("active", False)])
def test_dispatcher_sends_overlapping_codes_to_the_dense_kernel(kind, dense, monkeypatch):
    """entropies() picks the matrix-product kernel where pruning cannot pay, and equals the reference either way."""
    calls = []
    real = entropy_tree.lse_joint_gemm
    monkeypatch.setattr(entropy_tree, "lse_joint_gemm", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setenv("BENCHMARK_ENTROPY_DEVICE", "cpu")
    rng = np.random.default_rng(6)
    mu, logvar = _codes(kind, rng, 4000, d=4)
    z = (mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape))[:500]
    h, hj = entropies(z, mu, logvar, joint=True)
    h_ref, hj_ref = entropies_dense(z, mu, logvar, joint=True)
    assert bool(calls) is dense
    assert abs(hj - hj_ref) <= 1e-9 * max(1.0, abs(hj_ref))
    np.testing.assert_allclose(h, h_ref, rtol=1e-9, atol=0)
