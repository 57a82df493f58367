"""SAP score (Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from
Unlabeled Observations", ICLR), as disentanglement_lib's ``sap_score.py`` with
``continuous_factors=False`` (the study setting).

S[i, j] = test accuracy of ``LinearSVC(C=0.01, class_weight="balanced")`` fitted on the single code
column i to predict factor j (10,000 train / 5,000 test); SAP = mean_j (top-1 − top-2 of column j).
A 1-D linear one-vs-rest classifier cannot separate many ordinal classes, so perfect codes do not
score 1 (0.647 on the reference's synthetic check). The continuous branch
(cov² / (var·var), 0 for var ≤ 1e−12) is available with ``continuous_factors=True``.

Protocol: ``docs/metrics.md#sap``.
"""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def _svc_column(x, y, xt, yt, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LinearSVC(C=0.01, class_weight="balanced", random_state=np.random.RandomState(seed))
        clf.fit(x[:, None], y)
    return float(np.mean(clf.predict(xt[:, None]) == yt))


def score_matrix(codes, factors, codes_test, factors_test, continuous_factors=False, seed=0, n_jobs=1) -> np.ndarray:
    d, k = codes.shape[1], factors.shape[1]
    if continuous_factors:
        s = np.zeros((d, k))
        for i in range(d):
            for j in range(k):
                c = np.cov(codes[:, i], factors[:, j], ddof=1)
                s[i, j] = c[0, 1] ** 2 / (c[0, 0] * c[1, 1]) if c[0, 0] > 1e-12 else 0.0
        return s
    jobs = [(i, j) for i in range(d) for j in range(k)]
    vals = Parallel(n_jobs=n_jobs)(
        delayed(_svc_column)(codes[:, i], factors[:, j], codes_test[:, i], factors_test[:, j], seed) for i, j in jobs
    )
    return np.array(vals).reshape(d, k)


def compute_sap(codes, factors, codes_test, factors_test, continuous_factors: bool = False, seed: int = 0, n_jobs: int = 1) -> dict[str, float]:
    codes, factors = check_codes(codes, factors, name="sap")
    codes_test, factors_test = check_codes(codes_test, factors_test, name="sap")
    if codes.shape[1] < 2:
        raise ValueError("sap: needs at least 2 latent dimensions to form a gap")
    s = np.sort(score_matrix(codes, factors, codes_test, factors_test, continuous_factors, seed, n_jobs), axis=0)
    return {"SAP_score": float(np.mean(s[-1] - s[-2]))}


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_sap(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_sap(c, f, ct, ft, continuous_factors=s["continuous_factors"], seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)


SPECS = (
    MetricSpec("sap", "SAP_score", ro(SAP_score=True), VERSION,
               "Kumar et al. 2018 as disentanglement_lib sap_score: mean codes, per-column LinearSVC(C=0.01, balanced), discrete factors",
               ro(num_train=10_000, num_test=5_000, continuous_factors=False), _run_sap, quick=ro(num_train=2_000, num_test=1_000), suite=True,
               label="SAP",
               definition="mean over factors of the gap between the two best single-code linear classifiers' accuracies (Kumar et al. 2018)"),
)
