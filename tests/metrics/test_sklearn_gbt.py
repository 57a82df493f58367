"""metrics.sklearn_gbt against scikit-learn itself: equal (==, not approximately) importances and
predictions, on codes with and without equal values, for binary and multi-class factors."""

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.utils._sorting import _py_simultaneous_sort

from metrics import dci, sklearn_gbt
from metrics.sklearn_gbt import _mark_ties, _pairwise_sum, _sort_node, fit_gbt

pytestmark = pytest.mark.skipif(not sklearn_gbt.mirrors_installed_sklearn(),
                                reason=f"the mirror is verified for scikit-learn {sklearn_gbt.VERIFIED_SKLEARN}, not {sklearn.__version__}")


def _codes(rng, n, k, d=6):
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, d))
    x[:, 0] += 0.6 * y
    x[:, 2] += 0.8 * (y % 3)
    return x, y


def _tied(rng, n, k):
    """Codes full of equal values: rounded columns, a binary column, rows copied with other labels,
    exact duplicates (same codes and label) and a constant column."""
    x, y = _codes(rng, n, k)
    x[:, 1] = np.round(x[:, 1] * 2) / 2
    x[:, 3] = y % 2
    x[10:60] = x[60:110]  # same codes, (mostly) different labels
    x[200:220], y[200:220] = x[220:240], y[220:240]  # interchangeable duplicates
    x[:, 5] = 0.25
    return x, y


def _assert_same(x, y, xt, random_state, **kw):
    ref = GradientBoostingClassifier(random_state=np.random.RandomState(random_state), **kw).fit(x, y)
    imp, pred, pred_t = fit_gbt(x, y, xt, random_state=random_state, **kw)
    assert np.array_equal(imp, ref.feature_importances_), np.abs(imp - ref.feature_importances_).max()
    assert np.array_equal(pred, ref.predict(x)) and np.array_equal(pred_t, ref.predict(xt))


@pytest.mark.parametrize("k", [2, 3, 7])
def test_equal_to_scikit_learn_on_continuous_codes(k):
    rng = np.random.default_rng(k)
    x, y = _codes(rng, 900, k)
    xt, _ = _codes(rng, 300, k)
    _assert_same(x, y, xt, random_state=k, n_estimators=100 if k == 3 else 25)


@pytest.mark.parametrize("k", [2, 5])
def test_equal_to_scikit_learn_on_tied_codes(k):
    rng = np.random.default_rng(10 + k)
    x, y = _tied(rng, 800, k)
    xt, _ = _tied(rng, 300, k)
    _assert_same(x, y, xt, random_state=3, n_estimators=60)


def test_equal_on_float32_collisions_and_labels_with_gaps():
    """Codes stored as float32 at a coarse grid collide across otherwise different samples (the
    birthday collisions of real encoder codes); labels need not be 0..K-1."""
    rng = np.random.default_rng(7)
    x, y = _codes(rng, 1200, 4)
    x = (np.round(x * 300) / 300).astype(np.float32)
    _assert_same(x, 10 * y + 3, x[::-1], random_state=11, n_estimators=40)


def test_gap_threshold_added_in_float32():
    """Values 2 float32 ulps apart near 0.7 (1.19e-7) are one value to scikit-learn: its 1e-7 gap is
    a float32 added in float32, though the difference exceeds 1e-7 in float64."""
    rng = np.random.default_rng(8)
    x, y = _codes(rng, 600, 3)
    ulp = np.spacing(np.float32(0.7))
    x = x.astype(np.float32)
    x[:, 0] = np.float32(0.7) + (2 * (y + rng.integers(0, 3, 600))).astype(np.float32) * ulp
    assert np.float64(x[:, 0].max()) - np.float64(x[:, 0].min()) > 1e-7
    _assert_same(x, y, x, random_state=2, n_estimators=30)


def test_shared_random_state_replays_a_stream():
    """Fits drawing one after another from one RandomState (disentanglement_lib: numpy's global one)."""
    rng = np.random.default_rng(5)
    x, y = _tied(rng, 500, 3)
    ref_rs, ours_rs = np.random.RandomState(9), np.random.RandomState(9)
    for labels in (y, (y + 1) % 2):
        ref = GradientBoostingClassifier(random_state=ref_rs, n_estimators=20).fit(x, labels)
        imp, _, _ = fit_gbt(x, labels, random_state=ours_rs, n_estimators=20)
        assert np.array_equal(imp, ref.feature_importances_)


def test_sort_simulation_equals_scikit_learn_introsort():
    """_sort_node (partial introsort) leaves samples exactly where scikit-learn's sort does."""
    rng = np.random.default_rng(0)
    for n in [0, 1, 2, 5, 15, 16, 17, 40, 300, 2000]:
        for kind in ("few values", "continuous", "sorted", "reversed"):
            v = {"few values": rng.integers(0, 6, n), "continuous": rng.normal(size=n),
                 "sorted": np.sort(rng.integers(0, 50, n)), "reversed": np.sort(rng.integers(0, 50, n))[::-1]}[kind]
            v = np.ascontiguousarray(v, dtype=np.float32)
            start = rng.permutation(n).astype(np.intp)  # the node's current order
            ref_v, ref_s = v[start].copy(), start.copy()
            _py_simultaneous_sort(ref_v, ref_s, n, use_three_way_partition=True)
            pf = np.argsort(v, kind="stable")  # the stable sorted order the tree keeps
            harm = np.empty(n + 1, np.int64)
            _mark_ties(v, pf, np.arange(n), 0, n, harm)  # every sample distinct: every tie matters
            samples, fv = start.astype(np.int64), np.empty(n, np.float32)
            _sort_node(v, samples, fv, pf, harm, 0, n)
            assert np.array_equal(samples, ref_s), (n, kind)
            assert np.array_equal(fv, ref_v)


# 48 values in pairs, ordered so that median-of-3 pivots keep peeling two elements: the introsort
# exhausts its depth limit (2·floor(log2 48) = 10) and heapsorts a part holding ties.
INTROSORT_KILLER = [4, 2, 0, 23, 8, 13, 19, 2, 3, 20, 14, 1, 5, 21, 20, 7, 18, 12, 8, 11, 13, 9, 17, 15, 9, 1, 16, 10,
                    12, 4, 6, 22, 3, 7, 11, 23, 15, 14, 18, 10, 0, 19, 16, 17, 6, 21, 22, 5]


def test_sort_simulation_through_the_heapsort_fallback():
    v = np.asarray(INTROSORT_KILLER, dtype=np.float32)
    n = len(v)
    ref_v, ref_s = v.copy(), np.arange(n, dtype=np.intp)
    _py_simultaneous_sort(ref_v, ref_s, n, use_three_way_partition=True)
    pf = np.argsort(v, kind="stable")
    harm = np.empty(n + 1, np.int64)
    assert _mark_ties(v, pf, np.arange(n), 0, n, harm)
    samples, fv = np.arange(n, dtype=np.int64), np.empty(n, np.float32)
    _sort_node(v, samples, fv, pf, harm, 0, n)
    assert np.array_equal(samples, ref_s) and np.array_equal(fv, ref_v)
    assert not np.array_equal(samples, pf)  # the sort's own tie order, not the stable one


def test_pairwise_sum_equals_numpy():
    rng = np.random.default_rng(1)
    for n in [0, 1, 7, 8, 9, 127, 128, 129, 255, 1000, 4097, 10_001]:
        a = rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, size=n)
        assert _pairwise_sum(a, 0, n) == np.sum(a), n


def test_dci_engines_agree():
    rng = np.random.default_rng(3)
    f = np.stack([rng.integers(0, s, 700) for s in (3, 6)], axis=1)
    z = np.column_stack([f[:, 0] + 0.3 * rng.normal(size=700), f[:, 1] / 2 + 0.2 * rng.normal(size=700), rng.normal(size=700)])
    args = (z[:500], f[:500], z[500:], f[500:])
    assert dci.compute_dci(*args, seed=4, engine="mirror") == dci.compute_dci(*args, seed=4, engine="sklearn")
    fast = dci.compute_dci(*args, seed=4, engine="fast")
    assert fast == pytest.approx(dci.compute_dci(*args, seed=4, engine="mirror"), abs=1e-3)
    with pytest.raises(ValueError, match="unknown DCI engine"):
        dci.compute_dci(*args, engine="xgboost")


def test_other_scikit_learn_releases_fall_back(monkeypatch):
    monkeypatch.setattr(sklearn, "__version__", "1.10.0")
    assert dci.default_engine() == "sklearn"
    with pytest.raises(RuntimeError, match="mirrors scikit-learn 1.9"):
        fit_gbt(np.zeros((4, 1)), [0, 1, 0, 1])


def test_validated():
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_gbt(np.random.default_rng(0).normal(size=(50, 3)), np.zeros(50, int))


@pytest.mark.slow
def test_equal_on_encoder_codes_of_rendered_dsprites():
    """Real float32 encoder codes (an untrained conv encoder) of rendered dSprites, every factor:
    birthday collisions, symmetric sprites rendering alike under different labels, repeated samples."""
    import torch

    from datasets import get_dataset
    from models import build_model

    torch.manual_seed(0)
    ds = get_dataset("dsprites")
    f = ds.sample_factors(1500, np.random.default_rng(0))
    with torch.no_grad():
        codes = build_model("conv", 1, 10).eval().encode(ds.observations(f))[0].numpy()
    for j in range(f.shape[1]):
        _assert_same(codes[:1000], f[:1000, j], codes[1000:], random_state=j)


@pytest.mark.slow  # 22 s; the mirror's equality to scikit-learn stays in the default run
def test_dci_values_do_not_depend_on_the_workers():
    """Per-factor fits in 1 or 2 worker processes: the same importances and accuracies, bit for bit."""
    rng = np.random.default_rng(7)
    factors = rng.integers(0, [3, 5, 4], size=(400, 3))
    codes = np.round(factors @ rng.normal(size=(3, 4)) + rng.normal(0, 0.3, (400, 4)), 2)  # ties included
    args = (codes[:300], factors[:300], codes[300:], factors[300:])
    one = dci.importance_matrix(*args, seed=3, n_jobs=1)
    two = dci.importance_matrix(*args, seed=3, n_jobs=2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("k", [2, 5])
def test_trees_grown_in_parallel_threads_are_the_same_fit(k):
    """A stage's trees in 2 threads: importances and predictions identical to the serial fit, ties included."""
    rng = np.random.default_rng(11)
    y = rng.integers(0, k, 600)
    x = np.round(y[:, None] * rng.normal(size=(1, 4)) + rng.normal(0, 0.5, (600, 4)), 1)  # many ties
    serial = fit_gbt(x[:400], y[:400], x[400:], random_state=5, n_estimators=20)
    parallel = fit_gbt(x[:400], y[:400], x[400:], random_state=5, n_estimators=20, threads=2)
    for a, b in zip(serial, parallel):
        assert np.array_equal(a, b)
