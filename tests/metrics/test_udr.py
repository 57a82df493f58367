"""UDR (Duan et al. 2020) on hand-computed cases and its defining properties."""

import numpy as np
import pytest
from scipy import stats

from metrics.udr import compute_udr, relative_strength, similarity, standardise


def test_relative_strength_by_hand():
    assert relative_strength(np.eye(3)) == 1.0
    # columns: max²/sum = 1/2, 1/2; rows: 1/2, 1/2 → 0.5
    assert relative_strength(np.ones((2, 2))) == pytest.approx(0.5)
    r = np.array([[0.8, 0.2], [0.0, 0.6]])
    cols = (0.64 / 0.8 + 0.36 / 0.8) / 2
    rows = (0.64 / 1.0 + 0.36 / 0.6) / 2
    assert relative_strength(r) == pytest.approx((cols + rows) / 2)
    assert relative_strength(np.zeros((0, 3))) == 0.0


def test_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 2))
    b[:, 0] = np.exp(a[:, 1]) + 0.1 * rng.normal(size=200)
    ours = similarity(a, b, "spearman")
    for i in range(3):
        for j in range(2):
            assert ours[i, j] == pytest.approx(abs(stats.spearmanr(a[:, i], b[:, j]).statistic), abs=1e-12)


def _grid_codes(levels=6, dims=4):
    """Codes on a full factorial grid: different latents are exactly uncorrelated (also in rank)."""
    return np.indices((levels,) * dims).reshape(dims, -1).T.astype(float)


@pytest.mark.parametrize("kind,expected", [("spearman", 1.0), ("lasso", 0.9)])
def test_permuted_sign_flipped_copy(kind, expected):
    """Spearman: 1. Lasso: standardised orthogonal inputs give coefficients 1 − α = 0.9 on the
    matching latents and 0 elsewhere, so each max²/sum is 0.9 (the reference's α = 0.1)."""
    rng = np.random.default_rng(1)
    codes = _grid_codes()
    perm, signs = rng.permutation(4), np.array([1, -1, 1, -1])
    copy = codes[:, perm] * signs * 3.0 + 7.0  # permutation, sign flips, scale, offset
    kl = np.ones(4)
    out = compute_udr([codes, copy, codes[:, ::-1]], [kl, kl[perm], kl[::-1]], kind)
    assert out["udr"] == pytest.approx([expected] * 3, abs=1e-6)


@pytest.mark.parametrize("kind", ["spearman", "lasso"])
def test_independent_or_rotated_codes_score_low(kind):
    rng = np.random.default_rng(2)
    base = rng.normal(size=(2000, 4))
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    runs = [base, base @ q, rng.normal(size=(2000, 4))]
    out = compute_udr(runs, [np.ones(4)] * 3, kind)
    assert max(out["udr"]) < 0.75 and out["pairwise"][0][2] < 0.4


def test_inactive_latents_are_ignored():
    rng = np.random.default_rng(3)
    codes = _grid_codes(8, 3)
    noisy = np.column_stack([codes, rng.normal(size=len(codes))])  # an extra latent with KL ≈ 0: masked
    out = compute_udr([codes, noisy], [np.ones(3), np.array([1, 1, 1, 0.001])])
    assert out["udr"] == pytest.approx([1.0, 1.0]) and out["active"] == [3, 3]
    assert (standardise(noisy, np.array([1, 1, 1, 0.001]))[:, 3] == 0).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least 2 runs"):
        compute_udr([np.zeros((5, 2))], [np.ones(2)])
    with pytest.raises(ValueError, match="same inputs"):
        compute_udr([np.zeros((5, 2)), np.zeros((6, 2))], [np.ones(2)] * 2)
    with pytest.raises(ValueError, match="Unknown UDR correlation"):
        similarity(np.zeros((5, 2)), np.zeros((5, 2)), "pearson")
