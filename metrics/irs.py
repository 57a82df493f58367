"""Interventional Robustness Score (Suter, Miladinović, Schölkopf & Bauer 2019, "Robustly Disentangled
Causal Mechanisms: Validating Deep Representations for Interventional Robustness", ICML), as
disentanglement_lib's ``irs.py`` computes it.

On N mean codes and their factors (factors histogram-discretised into 20 bins, as dlib does): drop
latents of zero variance; for each factor i and each of its values v, the ``diff_quantile`` quantile of
|z − E[z | g_i = v]| over the samples with g_i = v, averaged over v → D[j, i]; normalised by each
latent's largest deviation from its mean, IRS[j, i] = 1 − D[j, i] / max_dev_j. A latent's score is its
best factor's; IRS = mean over latents weighted by max_dev (plain mean when every max_dev is 0).

``num_active_dims`` reproduces dlib's quirk: dlib returns ``np.sum(active_mus)`` — the **sum of the active
codes' values**, not a count — and we report that number under that name for equality (the count is
``num_active_latents``). Protocol: ``docs/metrics.md#irs``.
"""

from __future__ import annotations

import numpy as np

from .spec import MetricSpec, ro
from .utils import check_codes, histogram_discretize

VERSION = "1"


def irs_matrix(factors: np.ndarray, codes: np.ndarray, diff_quantile: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """(IRS matrix (D, K), max deviation per latent (D,)) of codes (N, D) against discrete factors (N, K)."""
    max_dev = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)  # (D,)
    dev = np.zeros((codes.shape[1], factors.shape[1]))  # (D, K)
    for i in range(factors.shape[1]):
        values = np.unique(factors[:, i])
        for v in values:
            group = codes[factors[:, i] == v]
            dev[:, i] += np.percentile(np.abs(group - group.mean(axis=0)), q=diff_quantile * 100, axis=0)
        dev[:, i] /= len(values)
    return 1.0 - dev / max_dev[:, None], max_dev


def compute_irs(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20) -> dict[str, float]:
    codes, factors = check_codes(codes, factors, min_samples=2, name="irs")
    if not 0 < diff_quantile <= 1:
        raise ValueError(f"irs: diff_quantile must lie in (0, 1], got {diff_quantile} (dlib: 0.99; the paper: 1.0)")
    active = codes[:, codes.var(axis=0) > 0]  # (N, D_active)
    if not active.any():
        return {"IRS": 0.0, "num_active_dims": float(np.sum(active)), "num_active_latents": 0}
    matrix, max_dev = irs_matrix(histogram_discretize(factors.astype(np.float64), num_bins), active, diff_quantile)
    per_latent = matrix.max(axis=1)
    score = np.average(per_latent, weights=max_dev) if max_dev.sum() > 0 else per_latent.mean()
    return {"IRS": float(score), "num_active_dims": float(np.sum(active)), "num_active_latents": int(active.shape[1])}


def _run_irs(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    return compute_irs(c, f, s["diff_quantile"])


SPECS = (
    MetricSpec("irs", "IRS", ro(IRS=True, num_active_dims=True, num_active_latents=True), VERSION,
               "Suter et al. 2019 as disentanglement_lib compute_irs: mean codes, factors histogram-discretised (20 bins), "
               "0.99 quantile of within-value deviations, max-deviation-weighted mean; num_active_dims is dlib's sum of "
               "active code values (its quirk), num_active_latents the count",
               ro(num_train=10_000, batch_size=16, diff_quantile=0.99), _run_irs, quick=ro(num_train=2_000),
               label="IRS", definition="interventional robustness: how little a latent moves when other factors change (Suter et al. 2019)"),
)
