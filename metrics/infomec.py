"""InfoMEC: InfoM (modularity), InfoE (explicitness), InfoC (compactness) — Hsu, Dorrell, Whittington,
Wu & Finn 2023, "Disentanglement via Latent Quantization", NeurIPS — in common information units.

On mean codes z (N, L) and discrete factors s (N, K):

- Active latents: range > (largest range) / 20; the others are dropped.
- NMI[i, j] = I(s_i; z_j) / H(s_i), I from the KSG k-nearest-neighbour estimator (scikit-learn's
  ``mutual_info_classif``, n_neighbors 10) on each standardised latent, H(s_i) the plug-in entropy.
- InfoM = (mean_j max_i NMI_ij / Σ_i NMI_ij − 1/K) / (1 − 1/K) over active latents;
- InfoC = (mean_i max_j NMI_ij / Σ_j NMI_ij − 1/L) / (1 − 1/L) over factors, L = active latents;
- InfoE = mean_i (H_null,i − H_pred,i) / H_null,i: log-losses of a multinomial logistic regression
  (no penalty, balanced class weights, lbfgs, 100 iterations) from the standardised active latents to
  s_i, against the same model on all-zero features.

Deviations from the authors' code, each on purpose: (1) the KSG estimator's jitter is **seeded** (theirs
is unseeded, so their numbers are not repeatable); (2) InfoE is **held out** by default — fitted on the
training sample, scored on the test sample (theirs fits and scores on the same samples; ``in_sample=True``
gives that variant); (3) ``multi_class="multinomial"`` is not passed (removed in scikit-learn 1.7; lbfgs is
multinomial anyway); (4) a latent or factor whose NMIs sum to 0 is left out of InfoM / InfoC (theirs
gives NaN); with one active latent InfoC is 1 by definition; with none, all three are 0.
Protocol: ``docs/metrics.md#infomec``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, mutual_info_score

from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"
RANGE_FRACTION = 1 / 20


def active_latents(codes: np.ndarray) -> np.ndarray:
    """Mask of latents whose range exceeds 1/20 of the largest range (L,)."""
    ranges = codes.max(0) - codes.min(0)
    return ranges > ranges.max() * RANGE_FRACTION if ranges.max() > 0 else np.zeros(codes.shape[1], bool)


def _standardise(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    sd = ref.std(0)
    return (x - ref.mean(0)) / np.where(sd > 0, sd, 1)


def nmi_matrix(codes: np.ndarray, factors: np.ndarray, n_neighbors: int = 10, seed: int = 0) -> np.ndarray:
    """(K, L) normalised mutual information of each factor with each (standardised) latent, KSG, seeded."""
    z = _standardise(codes, codes)
    out = np.zeros((factors.shape[1], codes.shape[1]))
    for i in range(factors.shape[1]):
        h = mutual_info_score(factors[:, i], factors[:, i])
        if h > 0:
            out[i] = mutual_info_classif(z, factors[:, i], n_neighbors=n_neighbors, random_state=seed) / h
    return out


def _normalised_concentration(m: np.ndarray, n_alternatives: int) -> float:
    """(mean over rows of max / sum − 1/n) / (1 − 1/n), rows whose sum is 0 left out."""
    sums = m.sum(1)
    keep = sums > 0
    if not keep.any():
        return 0.0
    if n_alternatives <= 1:
        return 1.0
    ratio = float(np.mean(m[keep].max(1) / sums[keep]))
    return (ratio - 1 / n_alternatives) / (1 - 1 / n_alternatives)


def _logistic_loss(x, y, xt, yt) -> float:
    classes = np.unique(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=np.inf, class_weight="balanced", solver="lbfgs", max_iter=100).fit(x, y)
    return float(log_loss(yt, clf.predict_proba(xt), labels=classes))


def info_e(codes, factors, codes_test, factors_test) -> float:
    """Mean normalised predictive information of the latents about each factor (log-loss vs the null model)."""
    x, xt = _standardise(codes, codes), _standardise(codes_test, codes)
    scores = []
    for i in range(factors.shape[1]):
        y, yt = factors[:, i], factors_test[:, i]
        if len(np.unique(y)) < 2:
            continue
        keep = np.isin(yt, np.unique(y))  # classes never seen in training cannot be scored
        null = _logistic_loss(np.zeros((len(y), 1)), y, np.zeros((int(keep.sum()), 1)), yt[keep])
        pred = _logistic_loss(x, y, xt[keep], yt[keep])
        scores.append((null - pred) / null if null > 0 else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def compute_infomec(codes, factors, codes_test=None, factors_test=None, n_neighbors: int = 10, seed: int = 0,
                    in_sample: bool = False) -> dict[str, float]:
    codes, factors = check_codes(codes, factors, min_samples=n_neighbors + 2, name="infomec")
    if in_sample or codes_test is None:
        codes_test, factors_test = codes, factors
    else:
        codes_test, factors_test = check_codes(codes_test, factors_test, min_samples=2, name="infomec")
    mask = active_latents(codes)
    n_active = int(mask.sum())
    if n_active == 0:
        return {"infom": 0.0, "infoe": 0.0, "infoc": 0.0, "active_latents": 0}
    nmi = nmi_matrix(codes[:, mask].astype(np.float64), factors, n_neighbors, seed)  # (K, L_active)
    return {"infom": _normalised_concentration(nmi.T, factors.shape[1]),
            "infoe": info_e(codes[:, mask].astype(np.float64), factors, codes_test[:, mask].astype(np.float64), factors_test),
            "infoc": _normalised_concentration(nmi, n_active), "active_latents": n_active}


def _run_infomec(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_infomec(c, f, ct, ft, s["n_neighbors"], seed=int(rng.integers(2**31)), in_sample=s["in_sample"])


SPECS = (
    MetricSpec("infomec", "infom", ro(infom=True, infoe=True, infoc=True, active_latents=True), VERSION,
               "Hsu et al. 2023: NMI from a seeded KSG estimator (n_neighbors 10) on standardised mean codes, active latents "
               "by range > max/20; InfoE from multinomial logistic log-loss vs a null model, held out (in_sample=True: the authors')",
               ro(num_train=10_000, num_test=5_000, n_neighbors=10, in_sample=False), _run_infomec,
               quick=ro(num_train=2_000, num_test=1_000), label="InfoM",
               definition="InfoMEC modularity: how much each latent's information concentrates on one factor (Hsu et al. 2023)"),
)
