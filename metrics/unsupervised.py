"""disentanglement_lib's unsupervised scores (Locatello et al. 2019; ``docs/metrics.md``): no factors.

With Σ = cov(codes) (D × D, 10,000 mean codes):
- ``gaussian_total_correlation`` = 0.5 (Σ_i log Σ_ii − log det Σ) = KL(N(0, Σ) ‖ N(0, diag Σ));
- ``gaussian_wasserstein_correlation`` = 2 tr Σ − 2 tr sqrtm(Σ ∘ diag(Σ)[:, None]) (``_norm``: / tr Σ);
- ``mutual_info_score`` = Σ of pairwise plug-in MI of 20-bin codes, diagonal zeroed, / (D² − D).
All three are lower for more factorised codes (``higher_is_better = False``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from .spec import MetricSpec, ro
from .utils import check_codes, discrete_mutual_info, histogram_discretize

VERSION = "1"


def gaussian_total_correlation(cov: np.ndarray) -> float:
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    return float(2 * np.trace(cov) - 2 * np.real(np.trace(root)))


def compute_unsupervised(codes, num_bins: int = 20) -> dict[str, float]:
    codes, _ = check_codes(codes, name="unsupervised")
    d = codes.shape[1]
    if d < 2:
        raise ValueError("unsupervised: needs at least 2 latent dimensions")
    cov = np.cov(codes.T)
    binned = histogram_discretize(codes, num_bins)
    mi = discrete_mutual_info(binned, binned)
    np.fill_diagonal(mi, 0)
    flat = int(np.sum(np.diag(cov) == 0))
    if flat:  # dlib's formulas give NaN here (log 0 − log 0, 0 / 0): kept, said once instead of numpy's three warnings
        warnings.warn(f"unsupervised: {flat} of {d} code dimensions are constant (a collapsed code): Gaussian TC"
                      + (" and the normalised Wasserstein correlation are" if flat == d else " is")
                      + " undefined (stored as null), as in disentanglement_lib", stacklevel=2)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        if flat:  # Σ is singular by construction: scipy's "Matrix is singular" adds nothing to the note above
            warnings.filterwarnings("ignore", message="Matrix is singular")
        wc = gaussian_wasserstein_correlation(cov)
        return {
            "gaussian_total_correlation": gaussian_total_correlation(cov),
            "gaussian_wasserstein_correlation": wc,
            "gaussian_wasserstein_correlation_norm": float(wc / np.trace(cov)),
            "mutual_info_score": float(np.sum(mi) / (d * d - d)),
        }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_unsupervised(ctx, s, rng):
    c, _ = ctx.sample("train", s["num_train"])
    return compute_unsupervised(c, s["num_bins"])


SPECS = (
    MetricSpec("unsupervised", "gaussian_total_correlation", ro(gaussian_total_correlation=False, gaussian_wasserstein_correlation=False,
               gaussian_wasserstein_correlation_norm=False, mutual_info_score=False), VERSION,
               "disentanglement_lib unsupervised_metrics on mean codes: Gaussian TC, Wasserstein correlation, 20-bin pairwise MI",
               ro(num_train=10_000, num_bins=20), _run_unsupervised, quick=ro(num_train=2_000), suite=True, supervised=False,
               label="Gaussian TC",
               definition="total correlation of a Gaussian fitted to the mean codes; lower = less dependence between latents (no factors used)"),
)
