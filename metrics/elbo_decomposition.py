"""ELBO (KL) decomposition over the whole dataset (Chen et al. 2018, §3 and the authors'
``elbo_decomposition.py``), plus per-latent KL and active units.

With one posterior sample per image and the chunked entropy estimator of :mod:`metrics.entropy`
(S = 10,000 samples against all N posteriors):

    TC = Σ_j H(z_j) − H(z)            index-code MI = H(z) − Σ_j E[−log q(z_j|x)]
    dimension-wise KL = Σ_j (E[−log p(z_j)] − H(z_j))
    KL = Σ_j (E[−log p(z_j)] − E[−log q(z_j|x)])  (analytic, averaged over the dataset)

so MI + TC + dimension-wise KL = KL; ``decomposition_residual`` reports the difference (float error
only). Active units: latents whose posterior mean has variance > 1e−2 over the dataset.

Protocol: ``docs/metrics.md#elbo-decomposition``.
"""

from __future__ import annotations

import math

import numpy as np

from .entropy import entropies, sample_posterior
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def compute_elbo_decomposition(mu, logvar, rng: np.random.Generator, num_samples: int = 10_000,
                               active_threshold: float = 1e-2) -> dict:
    mu, _ = check_codes(mu, name="elbo_decomposition")
    logvar, _ = check_codes(logvar, name="elbo_decomposition")
    z = sample_posterior(mu, logvar, rng)
    idx = np.arange(len(z)) if len(z) <= num_samples else rng.choice(len(z), num_samples, replace=False)
    h_marg, h_joint = entropies(z[idx], mu, logvar, joint=True)
    neg_log_qzx = (0.5 * (math.log(2 * math.pi) + logvar + 1)).mean(0)  # E[−log q(z_j|x)] (D,)
    neg_log_pz = (0.5 * (math.log(2 * math.pi) + mu**2 + np.exp(logvar))).mean(0)  # E[−log p(z_j)] (D,)
    kl_per_latent = neg_log_pz - neg_log_qzx
    tc = float(h_marg.sum() - h_joint)
    mi = float(h_joint - neg_log_qzx.sum())
    dwkl = float((neg_log_pz - h_marg).sum())
    kl = float(kl_per_latent.sum())
    return {
        "total_correlation": tc,
        "mutual_information": mi,
        "dimension_wise_kl": dwkl,
        "kl": kl,
        "decomposition_residual": kl - (mi + tc + dwkl),
        "kl_per_latent": [float(v) for v in kl_per_latent],
        "active_units": int((mu.var(axis=0) > active_threshold).sum()),
    }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_elbo(ctx, s, rng):
    mu, lv, _ = ctx.full_grid()
    return compute_elbo_decomposition(mu, lv, rng, s["num_samples"])


SPECS = (
    MetricSpec("elbo_decomposition", "total_correlation", ro(total_correlation=False, mutual_information=False, dimension_wise_kl=False,
               kl=False, decomposition_residual=False, active_units=True), VERSION,
               "Chen et al. 2018 elbo_decomposition over the full dataset: sampled codes, TC/MI/dim-wise KL, per-latent KL, active units",
               ro(num_samples=10_000), _run_elbo, "full_grid", ro(num_samples=1_000), suite=False,
               label="TC (Chen)",
               definition="total correlation of the aggregate posterior, Chen's full-dataset estimate from sampled codes; lower is better"),
)
