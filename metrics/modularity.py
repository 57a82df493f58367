"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings with
the F-Statistic Loss", NeurIPS), as disentanglement_lib's ``modularity_explicitness.py``.

Modularity: MI m (D × K) between 20-bin training codes and factors; θ_i = max_j m_ij,
δ_i = (Σ_j m_ij² − θ_i²) / (θ_i² (K − 1)); score 1 − δ_i (0 where θ_i = 0); mean over all codes
(collapsed/noise dims are not excluded, as in the reference).
Explicitness: codes standardised with the training mean/std; per factor a ``LogisticRegression()``
with defaults; one-vs-rest ROC-AUC of ``predict_proba`` on train and test; mean over factors.
Deliberate difference: a constant code dimension (std 0) is left at 0 instead of becoming NaN
(the reference divides by zero there and the classifier then fails).

Protocol: ``docs/metrics.md#modularity-and-explicitness``.
"""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer

from .mig import mutual_info_matrix
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def modularity(mi: np.ndarray) -> float:
    sq = np.square(mi)
    top = np.max(sq, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (np.sum(sq, axis=1) - top) / (top * (sq.shape[1] - 1.0))
    score = 1.0 - delta
    score[top == 0.0] = 0.0
    return float(np.mean(score))


def _explicitness_factor(x_train, y_train, x_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression().fit(x_train, y_train)
    mlb = MultiLabelBinarizer()
    train = roc_auc_score(mlb.fit_transform(y_train[:, None]), clf.predict_proba(x_train))
    test = roc_auc_score(mlb.fit_transform(y_test[:, None]), clf.predict_proba(x_test))
    return float(train), float(test)


def compute_modularity_explicitness(codes, factors, codes_test, factors_test, num_bins: int = 20, n_jobs: int = 1) -> dict[str, float]:
    codes, factors = check_codes(codes, factors, name="modularity_explicitness")
    codes_test, factors_test = check_codes(codes_test, factors_test, name="modularity_explicitness")
    mi = mutual_info_matrix(codes, factors, num_bins)
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_train, x_test = (codes - mean) / std, (codes_test - mean) / std
    out = Parallel(n_jobs=n_jobs)(
        delayed(_explicitness_factor)(x_train, factors[:, j], x_test, factors_test[:, j]) for j in range(factors.shape[1])
    )
    return {
        "modularity_score": modularity(mi),
        "explicitness_score_train": float(np.mean([o[0] for o in out])),
        "explicitness_score_test": float(np.mean([o[1] for o in out])),
    }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_modularity(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_modularity_explicitness(c, f, ct, ft, s["num_bins"], n_jobs=ctx.n_jobs)


SPECS = (
    MetricSpec("modularity_explicitness", "modularity_score", ro(modularity_score=True, explicitness_score_train=True, explicitness_score_test=True), VERSION,
               "Ridgeway & Mozer 2018 as disentanglement_lib modularity_explicitness: mean codes, 20-bin MI, LogisticRegression ROC-AUC",
               ro(num_train=10_000, num_test=5_000, num_bins=20), _run_modularity, quick=ro(num_train=2_000, num_test=1_000), suite=True,
               label="Modularity",
               definition="1 − normalised spread of each code's mutual information beyond its best factor (Ridgeway & Mozer 2018)"),
)
