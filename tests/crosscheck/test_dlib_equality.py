"""Our metric values equal disentanglement_lib 1.5's on identical inputs.

Tolerance 1e-6 (absolute) everywhere: every comparison feeds both implementations the same codes and
factors (for β-VAE and FactorVAE, the exact codes dlib's own sampling produced, recorded through the
representation function), so the computations are deterministic given the samples. DCI's gradient
boosting breaks split ties with an RNG (numpy's global one in dlib, a seeded RandomState here); on
continuous codes exact ties do not occur, so the fitted trees and the numbers coincide. On codes full
of ties, replaying dlib's global stream through metrics.sklearn_gbt gives dlib's numbers exactly.
"""

import numpy as np
import pytest
from disentanglement_lib.evaluation.metrics import beta_vae as d_beta
from disentanglement_lib.evaluation.metrics import dci as d_dci
from disentanglement_lib.evaluation.metrics import factor_vae as d_fvae
from disentanglement_lib.evaluation.metrics import mig as d_mig
from disentanglement_lib.evaluation.metrics import modularity_explicitness as d_mod
from disentanglement_lib.evaluation.metrics import sap_score as d_sap
from disentanglement_lib.evaluation.metrics import unsupervised_metrics as d_unsup
from disentanglement_lib.evaluation.metrics import utils as d_utils

from metrics import beta_vae, dci, factor_vae, mig, modularity, sap, unsupervised
from metrics.utils import discrete_mutual_info, histogram_discretize

SIZES = (3, 4, 5, 4, 6)
PERM = (2, 0, 4, 1, 3)
TOL = 1e-6


class SyntheticData:
    """The reference's synthetic check (``docs/metrics.md``): full grid, observations = factor classes."""

    num_factors = len(SIZES)
    factors_num_values = list(SIZES)
    observation_shape = [len(SIZES)]

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in SIZES], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        return factors.astype(np.float64)

    def sample_observations(self, num, random_state):
        return self.sample_observations_from_factors(self.sample_factors(num, random_state), random_state)


def synthetic_codes(factors, rng):
    """Dims 0–4: noisy permutation of the factors scaled to [−1, 1]; dim 5 collapsed; dim 6 noise."""
    n = len(factors)
    cols = [2 * factors[:, PERM[i]] / (SIZES[PERM[i]] - 1) - 1 + rng.normal(0, 0.05, n) for i in range(5)]
    cols += [rng.normal(0, 0.01, n), rng.normal(0, 1, n)]
    return np.stack(cols, 1)


class RecordingRep:
    """A deterministic representation (codes depend on the observation only) that records outputs."""

    def __init__(self):
        self.outputs = []
        self.table = synthetic_codes(np.indices(SIZES).reshape(len(SIZES), -1).T, np.random.default_rng(0))
        self.bases = np.concatenate([np.cumprod(SIZES[::-1])[::-1][1:], [1]])

    def __call__(self, obs):
        out = self.table[obs.astype(np.int64) @ self.bases]
        self.outputs.append(out)
        return out


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(1)
    f_train = np.stack([rng.integers(s, size=3000) for s in SIZES], 1)
    f_test = np.stack([rng.integers(s, size=1500) for s in SIZES], 1)
    return synthetic_codes(f_train, rng), f_train, synthetic_codes(f_test, rng), f_test


def test_discretizer_and_mutual_info_equal(samples):
    c, f, _, _ = samples
    ours = histogram_discretize(c, 20)
    theirs = d_utils.make_discretizer(c.T, num_bins=20, discretizer_fn=d_utils._histogram_discretize)
    np.testing.assert_array_equal(ours, theirs.T)
    np.testing.assert_allclose(discrete_mutual_info(ours, f), d_utils.discrete_mutual_info(theirs, f.T), atol=1e-12)


def test_mig_equal(samples):
    c, f, _, _ = samples
    theirs = d_mig._compute_mig(c.T, f.T)["discrete_mig"]
    assert mig.compute_mig(c, f)["discrete_mig"] == pytest.approx(theirs, abs=TOL)


def test_sap_equal(samples):
    c, f, ct, ft = samples
    theirs = d_sap._compute_sap(c.T, f.T, ct.T, ft.T, continuous_factors=False)["SAP_score"]
    assert sap.compute_sap(c, f, ct, ft)["SAP_score"] == pytest.approx(theirs, abs=TOL)
    theirs_c = d_sap._compute_sap(c.T, f.T, ct.T, ft.T, continuous_factors=True)["SAP_score"]
    assert sap.compute_sap(c, f, ct, ft, continuous_factors=True)["SAP_score"] == pytest.approx(theirs_c, abs=TOL)


def test_dci_equal(samples):
    c, f, ct, ft = samples
    np.random.seed(0)
    theirs = d_dci._compute_dci(c[:1500].T, f[:1500].T, ct[:800].T, ft[:800].T)
    ours = dci.compute_dci(c[:1500], f[:1500], ct[:800], ft[:800], seed=0)
    assert ours["disentanglement"] == pytest.approx(theirs["disentanglement"], abs=TOL)
    assert ours["completeness"] == pytest.approx(theirs["completeness"], abs=TOL)
    assert ours["informativeness_train"] == pytest.approx(theirs["informativeness_train"], abs=TOL)
    assert ours["informativeness_test"] == pytest.approx(theirs["informativeness_test"], abs=TOL)


def test_dci_replays_dlib_exactly_on_tied_codes(samples):
    """Codes with many equal values (the factor classes themselves, plus a rounded and a constant
    column): our compiled fit, drawing from the same global stream as dlib's unseeded trees,
    reproduces dlib's importance matrix and accuracies to the last bit."""
    from metrics.sklearn_gbt import fit_gbt, mirrors_installed_sklearn

    if not mirrors_installed_sklearn():
        pytest.skip("metrics.sklearn_gbt is verified for another scikit-learn release")
    _, f, _, ft = samples
    rng = np.random.default_rng(4)

    def tied(fac):
        return np.column_stack([fac, np.round(fac[:, 0] + rng.normal(0, 0.4, len(fac))), np.full(len(fac), 0.5)]).astype(np.float64)

    c, ct = tied(f[:1200]), tied(ft[:600])
    np.random.seed(123)
    r_theirs, train_theirs, test_theirs = d_dci.compute_importance_gbt(c.T, f[:1200].T, ct.T, ft[:600].T)
    stream = np.random.RandomState(123)
    fits = [fit_gbt(c, f[:1200, j], ct, random_state=stream) for j in range(f.shape[1])]
    r = np.stack([np.abs(imp) for imp, _, _ in fits], axis=1)
    assert np.array_equal(r, r_theirs)
    assert dci.disentanglement(r) == d_dci.disentanglement(r_theirs)
    assert dci.completeness(r) == d_dci.completeness(r_theirs)
    assert np.mean([np.mean(p == f[:1200, j]) for j, (_, p, _) in enumerate(fits)]) == train_theirs
    assert np.mean([np.mean(p == ft[:600, j]) for j, (_, _, p) in enumerate(fits)]) == test_theirs


def test_modularity_explicitness_equal(samples):
    c, f, ct, ft = samples
    ours = modularity.compute_modularity_explicitness(c, f, ct, ft)
    mi = d_utils.discrete_mutual_info(d_utils.make_discretizer(c.T), f.T)
    assert ours["modularity_score"] == pytest.approx(d_mod.modularity(mi), abs=TOL)
    norm, mean, std = d_utils.normalize_data(c.T)
    norm_t, _, _ = d_utils.normalize_data(ct.T, mean, std)
    per = [d_mod.explicitness_per_factor(norm, f[:, j], norm_t, ft[:, j]) for j in range(len(SIZES))]
    assert ours["explicitness_score_train"] == pytest.approx(np.mean([p[0] for p in per]), abs=TOL)
    assert ours["explicitness_score_test"] == pytest.approx(np.mean([p[1] for p in per]), abs=TOL)


def test_unsupervised_equal(samples):
    c, _, _, _ = samples
    ours = unsupervised.compute_unsupervised(c)
    cov = np.cov(c.T)
    assert ours["gaussian_total_correlation"] == pytest.approx(d_unsup.gaussian_total_correlation(cov), abs=TOL)
    assert ours["gaussian_wasserstein_correlation"] == pytest.approx(d_unsup.gaussian_wasserstein_correlation(cov), abs=TOL)
    binned = d_utils.make_discretizer(c.T)
    m = d_utils.discrete_mutual_info(binned, binned)
    np.fill_diagonal(m, 0)
    assert ours["mutual_info_score"] == pytest.approx(m.sum() / (7 * 7 - 7), abs=TOL)


def test_beta_vae_equal_on_dlib_samples():
    rep = RecordingRep()
    theirs = d_beta.compute_beta_vae_sklearn(SyntheticData(), rep, np.random.RandomState(0), None, 64, 400, 200)
    codes = rep.outputs  # r1, r2 per point, train then eval
    feats = [np.mean(np.abs(codes[2 * i] - codes[2 * i + 1]), axis=0) for i in range(600)]
    # labels: replay dlib's draws (randint(K), then 2×64 factor vectors per point)
    rs, labels = np.random.RandomState(0), []
    for _ in range(600):
        labels.append(rs.randint(len(SIZES)))
        SyntheticData().sample_factors(64, rs), SyntheticData().sample_factors(64, rs)
    feats, labels = np.array(feats), np.array(labels)
    ours = beta_vae.compute_beta_vae(feats[:400], labels[:400], feats[400:], labels[400:])
    assert ours["train_accuracy"] == pytest.approx(theirs["train_accuracy"], abs=TOL)
    assert ours["eval_accuracy"] == pytest.approx(theirs["eval_accuracy"], abs=TOL)


def test_factor_vae_equal_on_dlib_samples_and_active_dims_fixed():
    rep = RecordingRep()
    theirs = d_fvae.compute_factor_vae(SyntheticData(), rep, np.random.RandomState(0), None, 64, 400, 200, 2000)
    outs = rep.outputs
    global_codes = np.concatenate(outs[: len(outs) - 600])  # variance estimate batches come first
    batches = outs[len(outs) - 600 :]
    rs = np.random.RandomState(0)
    SyntheticData().sample_factors(2000, rs)
    labels = []
    for _ in range(600):
        labels.append(rs.randint(len(SIZES)))
        SyntheticData().sample_factors(64, rs)
    labels = np.array(labels)
    ours = factor_vae.compute_factor_vae(global_codes, labels[:400], np.concatenate(batches[:400]), labels[400:],
                                         np.concatenate(batches[400:]), num_factors=len(SIZES))
    assert ours["train_accuracy"] == pytest.approx(theirs["train_accuracy"], abs=TOL)
    assert ours["eval_accuracy"] == pytest.approx(theirs["eval_accuracy"], abs=TOL)
    assert theirs["num_active_dims"] == 7  # the reference bug: total dims
    assert ours["num_active_dims"] == 6  # the collapsed dim is pruned


def test_irs_equals_dlib_on_identical_codes():
    """dlib's compute_irs draws its own 10,000 samples; fed the same codes (a recording representation
    function over the synthetic data) the numbers are deterministic: equal to 1e-12, num_active_dims
    included (dlib's sum of active code values)."""
    from disentanglement_lib.evaluation.metrics import irs as d_irs

    from metrics import irs

    class Sampled(SyntheticData):  # dlib 1.5's generate_batch_factor_code calls sample()
        def sample(self, num, random_state):
            f = self.sample_factors(num, random_state)
            return f, self.sample_observations_from_factors(f, random_state)

    data, rng = Sampled(), np.random.default_rng(0)
    seen = []

    def rep(x):
        codes = synthetic_codes(x.astype(int), rng)
        seen.append((codes, x.astype(int)))
        return codes

    want = d_irs.compute_irs(data, rep, np.random.RandomState(0), num_train=2000, batch_size=16)
    codes = np.concatenate([c for c, _ in seen])
    factors = np.concatenate([f for _, f in seen])
    got = irs.compute_irs(codes, factors)
    assert got["IRS"] == pytest.approx(want["IRS"], abs=1e-12)
    assert got["num_active_dims"] == pytest.approx(want["num_active_dims"], rel=1e-12)


def _recorded_downstream(predictor_name, num_train, num_test):
    """dlib 1.5's compute_downstream_task on the synthetic data, with every (codes, factors) batch it drew."""
    from disentanglement_lib.evaluation.metrics import downstream_task as d_down
    from disentanglement_lib.evaluation.metrics import utils as d_utils_mod

    class Sampled(SyntheticData):
        def sample(self, num, random_state):
            f = self.sample_factors(num, random_state)
            return f, self.sample_observations_from_factors(f, random_state)

    rng, seen = np.random.default_rng(3), []

    def rep(x):
        codes = synthetic_codes(x.astype(int), rng)
        seen.append((codes, x.astype(int)))
        return codes

    import gin

    gin.bind_parameter("predictor.predictor_fn", getattr(d_utils_mod, predictor_name))
    want = d_down.compute_downstream_task(Sampled(), rep, np.random.RandomState(0), num_train=num_train, num_test=num_test)
    codes, factors = np.concatenate([c for c, _ in seen]), np.concatenate([f for _, f in seen])
    splits, at = [], 0
    for n in num_train:  # dlib draws train then test for each size
        splits.append(((codes[at:at + n], factors[at:at + n]), (codes[at + n:at + n + num_test], factors[at + n:at + n + num_test])))
        at += n + num_test
    return want, splits


def test_downstream_logistic_regression_equals_dlib():
    """Same training and test codes → the same scikit-learn fits (LogisticRegressionCV is deterministic):
    every dlib value, per-factor accuracies included, equal to 1e-12."""
    from metrics import downstream

    want, splits = _recorded_downstream("logistic_regression_cv", [10, 100, 400], 300)
    got = {}
    for (c, f), (ct, ft) in splits:
        train, test, single = downstream.factor_accuracies(c, f, ct, ft, "logistic_regression")
        assert single == 0
        got.update(downstream.size_scores(len(c), train, test))
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-12), k


def test_downstream_boosted_trees_replays_dlib_exactly():
    """dlib's unseeded trees draw from numpy's global stream, one fit per factor and size in order; our
    fit (metrics.sklearn_gbt) drawing from the same stream gives dlib's values exactly — ties included,
    which the 10-point training sets are full of."""
    from metrics import downstream
    from metrics.sklearn_gbt import mirrors_installed_sklearn

    if not mirrors_installed_sklearn():
        pytest.skip("metrics.sklearn_gbt is verified for another scikit-learn release")
    np.random.seed(11)
    want, splits = _recorded_downstream("gradient_boosting_classifier", [10, 100, 400], 300)
    stream, got = np.random.RandomState(11), {}
    for (c, f), (ct, ft) in splits:
        fits = [downstream.fit_predict(c, f[:, j], ct, "boosted_trees", seed=stream) for j in range(f.shape[1])]
        train = np.array([np.mean(p == f[:, j]) for j, (p, _) in enumerate(fits)])
        test = np.array([np.mean(p == ft[:, j]) for j, (_, p) in enumerate(fits)])
        got.update(downstream.size_scores(len(c), train, test))
    assert got == want
