"""metrics.gbt (the trees of ``dci_fast``) against scikit-learn's GradientBoostingClassifier."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from metrics import dci
from metrics.gbt import fit_gbt


def _problem(rng, n, k, d=8):
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, d))
    x[:, 0] += 0.6 * y
    if d > 2:
        x[:, 2] += 0.8 * (y % 3)
    return x, y


@pytest.mark.parametrize("k", [2, 3, 7])
def test_first_stage_equals_scikit_learn(k):
    """With no ties (continuous codes, large nodes) a one-stage fit is scikit-learn's to rounding."""
    rng = np.random.default_rng(k)
    x, y = _problem(rng, 1500, k)
    xt, _ = _problem(rng, 700, k)
    ref = GradientBoostingClassifier(n_estimators=1, max_depth=2, random_state=0).fit(x, y)
    imp, pred, pred_t = fit_gbt(x, y, xt, n_estimators=1, max_depth=2)
    np.testing.assert_allclose(imp, ref.feature_importances_, rtol=1e-9, atol=1e-12)
    assert np.array_equal(pred, ref.predict(x)) and np.array_equal(pred_t, ref.predict(xt))


def test_one_feature_binary_equals_scikit_learn_over_all_stages():
    rng = np.random.default_rng(0)
    x, y = _problem(rng, 1200, 2, d=1)
    ref = GradientBoostingClassifier(random_state=0).fit(x, y)
    _, pred, pred_t = fit_gbt(x, y, x[::-1])
    assert np.array_equal(pred, ref.predict(x)) and np.array_equal(pred_t, ref.predict(x[::-1]))


def test_dci_fast_within_scikit_learn_seed_spread():
    """Full boosting: the scores differ from scikit-learn's only as its fits differ across seeds."""
    rng = np.random.default_rng(1)
    f = np.stack([rng.integers(0, s, 1200) for s in (3, 6, 10)], axis=1)
    z = np.column_stack([f[:, 0] + 0.3 * rng.normal(size=1200), f[:, 1] / 2 + 0.2 * f[:, 2] / 10 + 0.2 * rng.normal(size=1200),
                         np.cos(f[:, 2]) + 0.2 * rng.normal(size=1200), 0.01 * rng.normal(size=(1200, 3))])
    tr, te = slice(0, 800), slice(800, None)
    ref = [dci.compute_dci(z[tr], f[tr], z[te], f[te], seed=s) for s in range(3)]
    ours = [dci.compute_dci(z[tr], f[tr], z[te], f[te], seed=s, fast=True) for s in range(3)]
    for key in ref[0]:
        r, o = np.array([v[key] for v in ref]), np.array([v[key] for v in ours])
        spread = max(np.ptp(r), np.ptp(o), 0.005)
        assert abs(r.mean() - o.mean()) <= 2 * spread, (key, r, o)


def test_seeded_and_validated():
    rng = np.random.default_rng(2)
    x, y = _problem(rng, 400, 4)
    a, b = fit_gbt(x, y, seed=3), fit_gbt(x, y, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_gbt(x, np.zeros(400, int))
