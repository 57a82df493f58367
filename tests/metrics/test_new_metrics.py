"""IRS, MCC, InfoMEC, DCI-ES and the downstream task beyond the property table: constant codes, the authors' formulas on a hand
case, the in-sample InfoE variant, seeded repeatability, one-line errors."""

import numpy as np
import pytest

from metrics.dci_es import compute_dci_es, loss_capacity_explicitness, probe_curve
from metrics.downstream import compute_downstream
from metrics.infomec import _normalised_concentration, active_latents, compute_infomec
from metrics.irs import compute_irs
from metrics.mcc import compute_mcc, matched_mean

SIZES = (3, 4, 5, 6)


@pytest.fixture
def data():
    g = np.random.default_rng(0)
    f = np.stack([g.integers(0, s, 3000) for s in SIZES], 1)
    return f / (np.asarray(SIZES) - 1) + g.normal(0, 0.02, f.shape), f


def test_constant_codes_score_zero(data):
    _, f = data
    z = np.zeros((len(f), 6))
    assert compute_irs(z, f) == {"IRS": 0.0, "num_active_dims": 0.0, "num_active_latents": 0}
    assert compute_mcc(z, f, z, f)["mcc"] == 0.0
    assert compute_infomec(z, f, z, f) == {"infom": 0.0, "infoe": 0.0, "infoc": 0.0, "active_latents": 0}
    majority = np.mean([np.bincount(f[:, j]).max() / len(f) for j in range(f.shape[1])])
    for predictor in ("logistic_regression", "boosted_trees"):
        r = compute_downstream([(z[:100], f[:100]), (z[:1000], f[:1000])], z[1000:], f[1000:], predictor)
        assert r["mean_test_accuracy"] <= majority + 0.02  # at best the majority class
    es = compute_dci_es(z[:600], f[:600], z[600:900], f[600:900], n_estimators=10)
    # the documented trap: the curve is flat, so E = 1; the best probe only reaches the majority class
    assert es["explicitness"] == 1.0 and es["informativeness"] == pytest.approx(majority, abs=0.05)


def test_explicitness_formula_on_hand_curves():
    x = np.array([1, 2, 4, 8])
    # a loss falling in a straight line from the baseline 1 to 0 across the capacity range: E = 0
    assert loss_capacity_explicitness(x, 1 - (x - 1) / 7, 1.0) == pytest.approx(0.0)
    assert loss_capacity_explicitness(x, [0.2, 0.2, 0.2, 0.2], 1.0) == 1.0  # flat: 1 whatever the loss
    # running best [0.6, 0.2, 0.2, 0.1] (the rise at capacity 4 is ignored), above y* = 0.1: [0.5, 0.1, 0.1, 0];
    # AULCC = 1·(0.5+0.1)/2 + 2·(0.1+0.1)/2 + 4·(0.1+0)/2 = 0.7
    assert loss_capacity_explicitness(x, [0.6, 0.2, 0.9, 0.1], 0.8) == pytest.approx(1 - 2 * 0.7 / (7 * 0.8))


def test_truncated_forests_equal_the_fitted_ones_where_they_must(data):
    """The depth-d forest read off one full forest: equal to scikit-learn's own forest at full depth and at
    depth 1 (the root's feature draw is the same), and within forest-seed noise of max_depth=d refits between."""
    from sklearn.ensemble import RandomForestClassifier

    z, f = data
    x, y, xt, yt = z[:1500], f[:1500, 3], z[1500:], f[1500:, 3]
    full = RandomForestClassifier(n_estimators=15, random_state=4).fit(x, y)
    deepest = max(t.get_depth() for t in full.estimators_)
    stump = RandomForestClassifier(n_estimators=15, max_depth=1, random_state=4).fit(x, y)
    losses, imps = probe_curve(x, y, xt, yt, depths=(1, 2, deepest), n_estimators=15, seed=4)
    assert losses[0] == 1 - np.mean(stump.predict(xt) == yt) and losses[-1] == 1 - np.mean(full.predict(xt) == yt)
    np.testing.assert_allclose(imps[0], stump.feature_importances_, atol=1e-12)
    np.testing.assert_allclose(imps[-1], full.feature_importances_, atol=1e-12)
    noisy = np.column_stack([z[:, :1] + np.random.default_rng(7).normal(0, 0.3, (len(z), 1)), z[:, 1:]])
    a = np.mean([probe_curve(noisy[:1500], f[:1500, 0], noisy[1500:], f[1500:, 0], n_estimators=15, seed=s)[0]
                 for s in range(3)], axis=0)
    b = np.mean([probe_curve(noisy[:1500], f[:1500, 0], noisy[1500:], f[1500:, 0], n_estimators=15, seed=s, engine="refit")[0]
                 for s in range(3)], axis=0)
    np.testing.assert_allclose(a, b, atol=0.03)


def test_downstream_keys_seeding_and_single_class_factors(data):
    z, f = data
    sets = [(z[:10], f[:10]), (z[:200], f[:200])]
    a = compute_downstream(sets, z[2000:], f[2000:], "boosted_trees", seed=5)
    assert a == compute_downstream(sets, z[2000:], f[2000:], "boosted_trees", seed=5)
    assert {"10:mean_test_accuracy", "200:min_train_accuracy", "200:test_accuracy_factor_3"} <= a.keys()
    assert a["mean_test_accuracy"] == a["200:mean_test_accuracy"] > 0.9
    noise = np.random.default_rng(6).normal(size=z.shape)
    chance = np.mean(1 / np.asarray(SIZES))
    for predictor in ("logistic_regression", "boosted_trees"):
        r = compute_downstream([(noise[:1000], f[:1000])], noise[1000:], f[1000:], predictor)
        assert r["mean_test_accuracy"] == pytest.approx(chance, abs=0.04)
    one = f.copy()
    one[:10, 0] = 0  # factor 0 takes one value in the 10-point sample: predicted as that class
    r = compute_downstream([(z[:10], one[:10])], z[2000:], f[2000:], "logistic_regression")
    assert r["single_class_fits"] == 1 and r["10:test_accuracy_factor_0"] == pytest.approx(np.mean(f[2000:, 0] == 0))


def test_infomec_hand_case():
    # K = 2 factors, L = 3 latents; the authors' normalisations written out
    nmi = np.array([[0.8, 0.2, 0.0], [0.0, 0.1, 0.3]])
    infom = (np.mean([0.8 / 0.8, 0.2 / 0.3, 0.3 / 0.3]) - 1 / 2) / (1 - 1 / 2)
    infoc = (np.mean([0.8 / 1.0, 0.3 / 0.4]) - 1 / 3) / (1 - 1 / 3)
    assert _normalised_concentration(nmi.T, 2) == pytest.approx(infom)
    assert _normalised_concentration(nmi, 3) == pytest.approx(infoc)
    z = np.column_stack([np.linspace(0, 1, 100), np.linspace(0, 0.04, 100), np.linspace(0, 0.06, 100)])
    assert active_latents(z).tolist() == [True, False, True]  # range > max range / 20


def test_infomec_is_seeded_and_has_the_in_sample_variant(data):
    z, f = data
    a = compute_infomec(z[:2000], f[:2000], z[2000:], f[2000:], seed=3)
    assert a == compute_infomec(z[:2000], f[:2000], z[2000:], f[2000:], seed=3)
    assert a["infom"] > 0.95 and a["infoc"] > 0.95 and a["infoe"] > 0.95
    ins = compute_infomec(z[:2000], f[:2000], in_sample=True)
    assert ins["infom"] == a["infom"] and ins["infoe"] >= a["infoe"] - 1e-3


def test_mcc_matches_rectangular_and_is_permutation_invariant(data):
    z, f = data
    wide = np.column_stack([z, np.random.default_rng(1).normal(size=(len(z), 3))])
    perm = wide[:, np.random.default_rng(2).permutation(wide.shape[1])]
    a, b = compute_mcc(wide, f, wide, f), compute_mcc(perm, f, perm, f)
    assert a == pytest.approx(b) and a["mcc"] > 0.99
    assert matched_mean(np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.7]])) == pytest.approx((0.9 + 0.7) / 2)  # more factors than latents


@pytest.mark.parametrize("fn", [lambda z, f: compute_irs(z, f), lambda z, f: compute_mcc(z, f, z, f), lambda z, f: compute_infomec(z, f),
                                lambda z, f: compute_downstream([(z, f)], z, f, "logistic_regression"),
                                lambda z, f: compute_dci_es(z, f, z, f, n_estimators=5)])
def test_bad_codes_are_one_line_errors(fn, data):
    z, f = data
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError) as exc:
        fn(bad, f)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError):
        fn(z[:1], f[:1])
