"""Property tables over every registered metric (scikit-learn style)."""

import numpy as np
import pytest

from metrics import METRICS, TableSource, evaluate_source

SIZES = (3, 4, 5, 6)
GRID = np.indices(SIZES).reshape(len(SIZES), -1).T  # full grid, 360 rows
SMALL = {  # small budgets keep the table fast; protocols unchanged
    "beta_vae": dict(num_train=200, num_eval=100, batch_size=32),
    "factor_vae": dict(num_train=200, num_eval=100, num_variance_estimate=1000, batch_size=32),
    "mig": dict(num_train=2000), "dci": dict(num_train=600, num_test=300),
    "dci_fast": dict(num_train=600, num_test=300), "sap": dict(num_train=1000, num_test=500),
    "modularity_explicitness": dict(num_train=1000, num_test=500), "unsupervised": dict(num_train=2000),
    "mig_sampled": dict(num_samples=360, exclude=()), "elbo_decomposition": dict(num_samples=360),
    "irs": dict(num_train=2000), "mcc": dict(num_train=2000, num_test=1000),
    # KSG needs distinct points: a 360-row table sampled with replacement repeats codes, which inflates the MI
    # of unrelated factors (0.35 InfoM at 2,000 draws, 0.93 at 150, 0.99 on 2,000 distinct codes)
    "infomec": dict(num_train=150, num_test=100),
    "downstream_logistic_regression": dict(num_train=(120,), num_test=200),  # lbfgs overhead: ~1 s a fit
    "downstream_boosted_trees": dict(num_train=(60, 300), num_test=200),
    "dci_es": dict(num_train=600, num_test=300, n_estimators=30),
}
# metric → (value key, expected on identity codes, expected on noise codes, tolerance)
PROPERTIES = {
    "beta_vae": ("eval_accuracy", 1.0, 1 / len(SIZES), 0.2),
    "factor_vae": ("eval_accuracy", 1.0, 1 / len(SIZES), 0.25),
    "mig": ("discrete_mig", 0.9, 0.0, 0.1),
    "dci": ("disentanglement", 1.0, 0.0, 0.2),
    "dci_fast": ("disentanglement", 1.0, 0.0, 0.2),
    "sap": ("SAP_score", 0.4, 0.0, 0.4),
    "modularity_explicitness": ("explicitness_score_test", 1.0, 0.5, 0.1),
    "unsupervised": ("gaussian_total_correlation", 0.0, 0.0, 0.05),
    "mig_sampled": ("mig", 0.9, 0.0, 0.1),
    "elbo_decomposition": ("total_correlation", 0.0, 0.0, 0.3),
    "irs": ("IRS", 0.9, 0.2, 0.1),  # noise codes: 1 − (0.99-quantile deviation / max deviation) ≈ 0.2, not 0
    "mcc": ("mcc", 1.0, 0.0, 0.1),
    # InfoM is scale-free (max/sum of each latent's NMIs): noise latents with NMI ≈ 0 still concentrate by chance,
    # ≈ 0.3 here — read it next to InfoE (≈ 0 on noise), as the docs say
    "infomec": ("infom", 0.93, 0.3, 0.15),
    # noise codes: chance (the mean over factors of 1 / size = 0.2375) for the linear probe; the trees memorise,
    # and 300 draws with replacement from the 360-row table put 1 − (1 − 1/360)^300 = 57 % of the test rows in
    # the training sample: 0.57 + 0.43 · 0.2375 ≈ 0.67 (chance on distinct codes: tests/metrics/test_new_metrics.py)
    "downstream_logistic_regression": ("mean_test_accuracy", 1.0, 0.24, 0.1),
    "downstream_boosted_trees": ("mean_test_accuracy", 1.0, 0.67, 0.1),
    # E reads the shape of the loss–capacity curve, not its height: noise codes here still improve with depth
    # (the forests memorise the rows the test sample shares with the training sample)
    "dci_es": ("explicitness", 0.98, 0.8, 0.1),
}
# A flat loss–capacity curve scores E = 1 whatever its loss (the metric's documented trap): constant codes are
# checked on DCI-ES's informativeness here and on E itself in tests/metrics/test_new_metrics.py
CONSTANT_KEY = {"dci_es": "informativeness"}
PERMUTATION_INVARIANT = set(PROPERTIES)  # every metric
FACTOR_METRICS = [m for m in PROPERTIES if m not in ("unsupervised", "elbo_decomposition")]


def test_every_registered_metric_is_in_the_tables():
    assert set(METRICS.names()) == set(PROPERTIES) == set(SMALL)


def _source(codes, logvar=None):
    lv = np.full(codes.shape, np.log(0.05**2)) if logvar is None else logvar
    return TableSource(codes, GRID, SIZES, logvar=lv)


def _identity(rng):
    return GRID / (np.asarray(SIZES) - 1) + rng.normal(0, 0.02, GRID.shape)


def _run(name, codes, seed=0, logvar=None):
    r = evaluate_source(_source(codes, logvar), [name], seed=seed, overrides={name: SMALL[name]})[name]
    return r


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_identity_and_noise_codes(name):
    key, ident, noise, tol = PROPERTIES[name]
    rng = np.random.default_rng(0)
    assert _run(name, _identity(rng))["values"][key] == pytest.approx(ident, abs=tol)
    assert _run(name, rng.normal(size=(len(GRID), 4)), logvar=np.zeros((len(GRID), 4)))["values"][key] == pytest.approx(noise, abs=tol)


@pytest.mark.parametrize("name", sorted(PERMUTATION_INVARIANT))
def test_permutation_invariance(name):
    key = PROPERTIES[name][0]
    codes = _identity(np.random.default_rng(1))
    perm = [2, 0, 3, 1]
    a = _run(name, codes)["values"][key]
    b = _run(name, codes[:, perm])["values"][key]
    # classifiers and Monte-Carlo estimators see permuted columns in another order: sampling noise only
    tol = {"dci": 0.05, "dci_fast": 0.05, "beta_vae": 0.05, "factor_vae": 0.05, "sap": 0.05, "mig_sampled": 0.05, "elbo_decomposition": 0.15,
           "infomec": 1e-3,
           "downstream_boosted_trees": 0.05, "downstream_logistic_regression": 0.05, "dci_es": 0.05}.get(name, 1e-9)  # infomec: the KSG jitter is drawn in column order
    assert a == pytest.approx(b, abs=tol)


@pytest.mark.parametrize("name", sorted(FACTOR_METRICS))
def test_range_and_constant_codes(name):
    key = PROPERTIES[name][0]
    r = _run(name, _identity(np.random.default_rng(2)))
    for k, v in r["values"].items():
        if isinstance(v, float) and k not in ("num_active_dims",):
            assert -1e-9 <= v <= 1 + 1e-9, (k, v)
    const = np.zeros((len(GRID), 4))
    v = _run(name, const, logvar=np.zeros((len(GRID), 4)))["values"][CONSTANT_KEY.get(name, key)]
    assert v <= 0.5, f"{name} on constant codes gave {v}"


@pytest.mark.parametrize("name", ["mig", "mig_sampled", "sap"])
def test_duplicated_latent_is_penalised(name):
    key = PROPERTIES[name][0]
    codes = _identity(np.random.default_rng(3))
    dup = np.concatenate([codes, codes[:, :1] + np.random.default_rng(4).normal(0, 0.02, (len(GRID), 1))], 1)
    # one of the four factors loses its gap: the score drops by about a quarter of its value
    assert _run(name, dup)["values"][key] < _run(name, codes)["values"][key] - 0.05


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_nan_codes_raise_clear_error(name):
    codes = _identity(np.random.default_rng(5))
    codes[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        _run(name, codes)


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_deterministic_for_a_seed_and_records_protocol(name):
    codes = _identity(np.random.default_rng(6))
    a, b = _run(name, codes, seed=3), _run(name, codes, seed=3)
    assert a["values"] == b["values"]
    assert a["protocol"] and a["version"] and a["settings"] and a["primary"] in a["values"]


def test_factor_lookup_metrics_refuse_partial_grids():
    codes = _identity(np.random.default_rng(7))[:300]
    src = TableSource(codes, GRID[:300], SIZES)
    with pytest.raises(ValueError, match="full factor grid"):
        evaluate_source(src, ["beta_vae"], overrides={"beta_vae": SMALL["beta_vae"]})


def test_bad_shapes_and_too_few_samples():
    from metrics.mig import compute_mig

    with pytest.raises(ValueError, match="2-D"):
        compute_mig(np.zeros(5), np.zeros((5, 1), int))
    with pytest.raises(ValueError, match="at least 2 samples"):
        compute_mig(np.zeros((1, 3)), np.zeros((1, 1), int))
    with pytest.raises(ValueError, match="integer class indices"):
        compute_mig(np.zeros((4, 3)), np.zeros((4, 1)))


def test_elbo_decomposition_sums_to_kl():
    rng = np.random.default_rng(8)
    mu = rng.normal(size=(500, 3))
    lv = rng.normal(-1, 0.3, size=(500, 3))
    from metrics.elbo_decomposition import compute_elbo_decomposition

    r = compute_elbo_decomposition(mu, lv, rng, num_samples=500)
    assert abs(r["decomposition_residual"]) < 1e-9
    assert r["kl"] == pytest.approx(sum(r["kl_per_latent"]))
    assert r["active_units"] == 3


def test_values_do_not_depend_on_which_other_metrics_ran():
    codes = _identity(np.random.default_rng(9))
    alone = evaluate_source(_source(codes), ["dci"], seed=1, overrides={"dci": SMALL["dci"]})["dci"]["values"]
    together = evaluate_source(_source(codes), ["mig", "dci"], seed=1, overrides={"dci": SMALL["dci"], "mig": SMALL["mig"]})["dci"]["values"]
    assert alone == together


def test_progress_names_each_metric_with_its_value_and_leaves_the_scores_unchanged(monkeypatch):
    import io

    from metrics.evaluate import progress_stream

    codes = _identity(np.random.default_rng(0))
    names = ["mig", "sap"]
    stream = io.StringIO()
    with_bar = evaluate_source(_source(codes), names, overrides=SMALL, progress=stream)
    plain = evaluate_source(_source(codes), names, overrides=SMALL)
    assert {n: r["values"] for n, r in with_bar.items()} == {n: r["values"] for n, r in plain.items()}
    text = stream.getvalue()
    assert "running: mig" in text and "running: sap" in text
    assert f"  mig: discrete_mig {with_bar['mig']['values']['discrete_mig']:.4f} (" in text
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal: progress=True prints nothing
    assert progress_stream(True) is None and progress_stream(False) is None and progress_stream(stream) is stream
