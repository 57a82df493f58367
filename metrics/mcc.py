"""Mean correlation coefficient (MCC) and linear R², the identifiability metrics of causal representation
learning (e.g. Hyvärinen & Morioka 2016; Zimmermann et al. 2021, "Contrastive Learning Inverts the Data
Generating Process", ICML).

On mean codes z (N, D) and factors g (N, K): the K × D matrix of |Pearson| (and |Spearman|) correlations;
factors are matched to distinct latents by an optimal rectangular assignment
(``scipy.optimize.linear_sum_assignment`` on −|corr|, which works for D ≥ K and D < K alike — the
square-only Hungarian of reference code does not); MCC = mean |corr| of the matched pairs over
min(K, D) pairs. A constant latent or factor correlates 0. ``linear_r2``: a least-squares map codes →
standardised factors fitted on a training sample, R² on a held-out one, averaged over factors.
Factors are class indices here, so MCC is a rank/ordinal proxy for discrete factors (shape!).
Protocol: ``docs/metrics.md#mcc``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def abs_correlation(factors: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """|Pearson correlation| (K, D) of each factor column with each code column; 0 where either is constant."""
    f = factors - factors.mean(0)
    c = codes - codes.mean(0)
    fs, cs = np.sqrt((f**2).sum(0)), np.sqrt((c**2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (f.T @ c) / np.outer(fs, cs)
    return np.nan_to_num(np.abs(corr), nan=0.0, posinf=0.0)


def matched_mean(corr: np.ndarray) -> float:
    """Mean of |corr| over the optimal one-to-one matching of rows (factors) to columns (latents)."""
    rows, cols = linear_sum_assignment(-corr)
    return float(corr[rows, cols].mean())


def linear_r2(codes, factors, codes_test, factors_test) -> float:
    """Mean over factors of the held-out R² of a least-squares affine map codes → factor."""
    x = np.column_stack([codes, np.ones(len(codes))])
    xt = np.column_stack([codes_test, np.ones(len(codes_test))])
    w, *_ = np.linalg.lstsq(x, factors, rcond=None)
    resid = ((factors_test - xt @ w) ** 2).sum(0)
    total = ((factors_test - factors_test.mean(0)) ** 2).sum(0)
    return float(np.mean(np.where(total > 0, 1 - resid / np.where(total > 0, total, 1), 0.0)))


def compute_mcc(codes, factors, codes_test, factors_test) -> dict[str, float]:
    codes, factors = check_codes(codes, factors, min_samples=3, name="mcc")
    codes_test, factors_test = check_codes(codes_test, factors_test, min_samples=3, name="mcc")
    f, ft = factors.astype(np.float64), factors_test.astype(np.float64)
    pearson = abs_correlation(f, codes.astype(np.float64))
    spearman = abs_correlation(rankdata(f, axis=0), rankdata(codes, axis=0))
    return {"mcc": matched_mean(pearson), "mcc_spearman": matched_mean(spearman),
            "linear_r2": linear_r2(codes.astype(np.float64), f, codes_test.astype(np.float64), ft)}


def _run_mcc(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_mcc(c, f, ct, ft)


SPECS = (
    MetricSpec("mcc", "mcc", ro(mcc=True, mcc_spearman=True, linear_r2=True), VERSION,
               "mean |Pearson| (and |Spearman|) correlation of factors with latents after optimal rectangular matching "
               "(linear_sum_assignment), mean codes; linear R² of codes → factors, fitted on train, scored on test",
               ro(num_train=10_000, num_test=5_000), _run_mcc, quick=ro(num_train=2_000, num_test=1_000),
               label="MCC", definition="mean absolute correlation of each factor with its own matched latent (identifiability)"),
)
