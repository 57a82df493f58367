"""Mutual Information Gap, disentanglement_lib's discrete protocol (``discrete_mig``).

Chen et al. 2018 ("Isolating Sources of Disentanglement in VAEs") define MIG; this is the estimator
of Locatello et al. 2019 (disentanglement_lib ``mig.py``): 10,000 **mean** codes, each code dimension
discretised into 20 equal-width bins over its empirical range (factors are not discretised), plug-in
MI ``m[i, j]`` between code i and factor j, and

    discrete_mig = mean_j (m_(1),j − m_(2),j) / H_j

with H_j the empirical entropy of factor j in the sample. All factors are used (dSprites' shape
included). Not comparable with :mod:`metrics.mig_sampled` (Chen's full-dataset sampled protocol).

Protocol: ``docs/metrics.md#mig-discrete``.
"""

from __future__ import annotations

import numpy as np

from .spec import MetricSpec, ro
from .utils import check_codes, discrete_entropy, discrete_mutual_info, histogram_discretize

VERSION = "1"


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """(D, K) plug-in MI between 20-bin-discretised codes and factor classes."""
    return discrete_mutual_info(histogram_discretize(codes, num_bins), factors)


def compute_mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """codes (N, D), factors (N, K) → {"discrete_mig": float in [0, 1]}."""
    codes, factors = check_codes(codes, factors, name="mig")
    if codes.shape[1] < 2:
        raise ValueError("mig: needs at least 2 latent dimensions to form a gap")
    m = mutual_info_matrix(codes, factors, num_bins)
    entropy = discrete_entropy(factors)
    top = np.sort(m, axis=0)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(entropy > 0, (top[0] - top[1]) / entropy, 0.0)
    return {"discrete_mig": float(np.mean(gaps))}


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_mig(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    return compute_mig(c, f, s["num_bins"])


SPECS = (
    MetricSpec("mig", "discrete_mig", ro(discrete_mig=True), VERSION,
               "disentanglement_lib discrete MIG: mean codes, 20-bin histograms, all factors, empirical factor entropy",
               ro(num_train=10_000, num_bins=20), _run_mig, quick=ro(num_train=2_000), suite=True,
               label="MIG (dlib)",
               definition="mean over factors of the gap between the two largest code–factor mutual informations of 20-bin mean codes, over the factor entropy (disentanglement_lib)"),
)
