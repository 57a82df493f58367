"""The metric registry: each entry says what it needs, its defaults and protocol, and how to run it
from an :class:`EvalContext` (which caches codes so metrics share samples and encodes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from benchmark.registry import Registry

from . import beta_vae, dci, elbo_decomposition, factor_vae, mig, mig_sampled, modularity, sap, unsupervised


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    ``higher_is_better`` maps each reported value to its direction; ``primary`` names the headline
    value (leaderboards rank on it). ``defaults`` are disentanglement_lib's study settings (or Chen's
    for the full-dataset metrics); ``protocol`` states what is computed, on which codes.
    """

    name: str
    primary: str
    higher_is_better: Mapping[str, bool]
    version: str
    protocol: str
    defaults: Mapping[str, object]
    run: Callable[["EvalContext", dict, np.random.Generator], dict]
    needs: str = "samples"  # samples | factor_lookup | full_grid | posterior
    quick: Mapping[str, object] = field(default_factory=dict)


class EvalContext:
    """Caches codes for one representation: a shared train/test sample reused by every metric that
    takes random samples (MIG, DCI, SAP, modularity, unsupervised), and the full-grid posterior."""

    def __init__(self, source, seed: int, n_jobs: int = 1) -> None:
        self.source, self.seed, self.n_jobs = source, seed, n_jobs
        self._shared: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._grid = None

    def sample(self, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, factors) of ``n`` random samples for split "train"/"test", drawn once per
        (split, n) from a generator seeded by (seed, split, n) — so a metric's numbers never depend
        on which other metrics ran with it, and metrics with equal budgets share samples and encodes."""
        key = (split, n)
        if key not in self._shared:
            rng = np.random.default_rng([self.seed, {"train": 0, "test": 1}[split], n])
            f = self.source.sample_factors(n, rng)
            self._shared[key] = (self.source.codes(f, rng), f)
        return self._shared[key]

    def full_grid(self):
        if self._grid is None:
            self._grid = self.source.full_grid(np.random.default_rng([self.seed, 2]))
        return self._grid


def _run_beta_vae(ctx, s, rng):
    k = len(ctx.source.factor_sizes)
    feats = []
    for n in (s["num_train"], s["num_eval"]):
        labels, f1, f2 = beta_vae.sample_pairs(k, ctx.source.sample_factors, n, s["batch_size"], rng)
        c1, c2 = ctx.source.codes(f1, rng), ctx.source.codes(f2, rng)
        feats.append((beta_vae.pair_features(c1, c2, s["batch_size"]), labels))
    return beta_vae.compute_beta_vae(feats[0][0], feats[0][1], feats[1][0], feats[1][1], seed=int(rng.integers(2**31)))


def _run_factor_vae(ctx, s, rng):
    k = len(ctx.source.factor_sizes)
    gf = ctx.source.sample_factors(s["num_variance_estimate"], rng)
    global_codes = ctx.source.codes(gf, rng)
    parts = []
    for n in (s["num_train"], s["num_eval"]):
        labels, f = factor_vae.sample_votes_factors(k, ctx.source.sample_factors, n, s["batch_size"], rng)
        parts.append((labels, ctx.source.codes(f, rng)))
    return factor_vae.compute_factor_vae(global_codes, *parts[0], *parts[1], num_factors=k, batch_size=s["batch_size"],
                                         prune_threshold=s["prune_threshold"])


def _run_mig(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    return mig.compute_mig(c, f, s["num_bins"])


def _run_dci(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return dci.compute_dci(c, f, ct, ft, seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)


def _run_dci_fast(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return dci.compute_dci(c, f, ct, ft, seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs, engine="fast")


def _run_sap(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return sap.compute_sap(c, f, ct, ft, continuous_factors=s["continuous_factors"], seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)


def _run_modularity(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return modularity.compute_modularity_explicitness(c, f, ct, ft, s["num_bins"], n_jobs=ctx.n_jobs)


def _run_unsupervised(ctx, s, rng):
    c, _ = ctx.sample("train", s["num_train"])
    return unsupervised.compute_unsupervised(c, s["num_bins"])


def _run_mig_sampled(ctx, s, rng):
    mu, lv, f = ctx.full_grid()
    names = ctx.source.factor_names
    exclude = tuple(names.index(n) for n in s["exclude"] if n in names)
    return mig_sampled.compute_mig_sampled(mu, lv, f, ctx.source.factor_sizes, rng, s["num_samples"], exclude, names)


def _run_elbo(ctx, s, rng):
    mu, lv, _ = ctx.full_grid()
    return elbo_decomposition.compute_elbo_decomposition(mu, lv, rng, s["num_samples"])


def _ro(d=None, **kw):
    return MappingProxyType(dict(d or {}, **kw))


METRICS: Registry = Registry("metric")
for _spec in (
    MetricSpec("beta_vae", "eval_accuracy", _ro(train_accuracy=True, eval_accuracy=True), beta_vae.VERSION,
               "Higgins et al. 2017 as disentanglement_lib compute_beta_vae_sklearn: mean codes, |r1-r2| batch means, LogisticRegression defaults",
               _ro(batch_size=64, num_train=10_000, num_eval=5_000), _run_beta_vae, "factor_lookup",
               _ro(num_train=100, num_eval=50)),
    MetricSpec("factor_vae", "eval_accuracy", _ro(train_accuracy=True, eval_accuracy=True, num_active_dims=True), factor_vae.VERSION,
               "Kim & Mnih 2018 as disentanglement_lib compute_factor_vae: mean codes, prune std<0.05, majority vote; num_active_dims fixed (dlib reports total dims)",
               _ro(batch_size=64, num_train=10_000, num_eval=5_000, num_variance_estimate=10_000, prune_threshold=0.05),
               _run_factor_vae, "factor_lookup", _ro(num_train=100, num_eval=50, num_variance_estimate=1_000)),
    MetricSpec("mig", "discrete_mig", _ro(discrete_mig=True), mig.VERSION,
               "disentanglement_lib discrete MIG: mean codes, 20-bin histograms, all factors, empirical factor entropy",
               _ro(num_train=10_000, num_bins=20), _run_mig, quick=_ro(num_train=2_000)),
    MetricSpec("dci", "disentanglement", _ro(disentanglement=True, completeness=True, informativeness_train=True, informativeness_test=True), dci.VERSION,
               "Eastwood & Williams 2018 as disentanglement_lib dci: mean codes, GradientBoostingClassifier defaults per factor, seeded "
               "RandomState; fitted by metrics.sklearn_gbt (scikit-learn 1.9's fit, bit-equal) or scikit-learn itself",
               _ro(num_train=10_000, num_test=5_000), _run_dci, quick=_ro(num_train=500, num_test=250)),
    MetricSpec("dci_fast", "disentanglement", _ro(disentanglement=True, completeness=True, informativeness_train=True, informativeness_test=True), dci.FAST_VERSION,
               "Eastwood & Williams 2018 as disentanglement_lib dci, fitted by metrics.sklearn_gbt without simulating scikit-learn's "
               "introsort inside runs of equal code values: equal to `dci` except where a sum over such a run rounds differently "
               "and that decides a split",
               _ro(num_train=10_000, num_test=5_000), _run_dci_fast, quick=_ro(num_train=500, num_test=250)),
    MetricSpec("sap", "SAP_score", _ro(SAP_score=True), sap.VERSION,
               "Kumar et al. 2018 as disentanglement_lib sap_score: mean codes, per-column LinearSVC(C=0.01, balanced), discrete factors",
               _ro(num_train=10_000, num_test=5_000, continuous_factors=False), _run_sap, quick=_ro(num_train=2_000, num_test=1_000)),
    MetricSpec("modularity_explicitness", "modularity_score", _ro(modularity_score=True, explicitness_score_train=True, explicitness_score_test=True), modularity.VERSION,
               "Ridgeway & Mozer 2018 as disentanglement_lib modularity_explicitness: mean codes, 20-bin MI, LogisticRegression ROC-AUC",
               _ro(num_train=10_000, num_test=5_000, num_bins=20), _run_modularity, quick=_ro(num_train=2_000, num_test=1_000)),
    MetricSpec("unsupervised", "gaussian_total_correlation", _ro(gaussian_total_correlation=False, gaussian_wasserstein_correlation=False,
               gaussian_wasserstein_correlation_norm=False, mutual_info_score=False), unsupervised.VERSION,
               "disentanglement_lib unsupervised_metrics on mean codes: Gaussian TC, Wasserstein correlation, 20-bin pairwise MI",
               _ro(num_train=10_000, num_bins=20), _run_unsupervised, quick=_ro(num_train=2_000)),
    MetricSpec("mig_sampled", "mig", _ro(mig=True), mig_sampled.VERSION,
               "Chen et al. 2018 full-dataset MIG: one posterior sample per image, entropies vs all N posteriors, normalised by log|V_k|",
               _ro(num_samples=10_000, exclude=("shape",)), _run_mig_sampled, "full_grid", _ro(num_samples=1_000)),
    MetricSpec("elbo_decomposition", "total_correlation", _ro(total_correlation=False, mutual_information=False, dimension_wise_kl=False,
               kl=False, decomposition_residual=False, active_units=True), elbo_decomposition.VERSION,
               "Chen et al. 2018 elbo_decomposition over the full dataset: sampled codes, TC/MI/dim-wise KL, per-latent KL, active units",
               _ro(num_samples=10_000), _run_elbo, "full_grid", _ro(num_samples=1_000)),
):
    METRICS.register(_spec.name, _spec)
