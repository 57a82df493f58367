"""MIG, full-dataset sampled protocol (Chen et al. 2018, "Isolating Sources of Disentanglement in
VAEs", NeurIPS; the authors' ``disentanglement_metrics.py``). Named ``mig_sampled`` — never compare
it with ``mig`` (disentanglement_lib's discrete protocol on mean codes).

1. Encode the **whole** dataset; draw one sample z_n ~ q(z|x_n) per image (sampled, not mean).
2. H(z_j): a random subset of S = 10,000 samples scored against the mixture of **all** N posteriors
   (:mod:`metrics.entropy`, chunked and memory-bounded).
3. H(z_j | v_k): the same estimator within each slice v_k = v (samples and mixture restricted to the
   slice), averaged over the values v.
4. I = H(z_j) − H(z_j | v_k), sorted per factor, clamped ≥ 0; MIG = mean_k (I_(1) − I_(2)) / log|V_k|.
5. Factors may be excluded (Chen excludes dSprites' shape: ``exclude=("shape",)``).

Needs the full factor grid (rows in any order; factors (N, K) give each row's classes).

Protocol: ``docs/metrics.md#mig-chens-full-dataset-protocol``.
"""

from __future__ import annotations

import numpy as np

from .entropy import entropies, sample_posterior
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def _subset(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else rng.choice(n, size=size, replace=False)


def compute_mig_sampled(mu, logvar, factors, factor_sizes, rng: np.random.Generator, num_samples: int = 10_000,
                        exclude: tuple[int, ...] = (), factor_names: tuple[str, ...] | None = None) -> dict:
    mu, factors = check_codes(mu, factors, name="mig_sampled")
    logvar, _ = check_codes(logvar, name="mig_sampled")
    sizes = np.asarray(factor_sizes)
    if len(mu) != int(np.prod(sizes)):
        raise ValueError(f"mig_sampled: needs the full factor grid ({int(np.prod(sizes)):,} rows); got {len(mu):,} — encode the whole dataset")
    z = sample_posterior(mu, logvar, rng)
    idx = _subset(len(z), num_samples, rng)
    h_marg, _ = entropies(z[idx], mu, logvar)
    kept = [k for k in range(len(sizes)) if k not in exclude]
    mi = np.zeros((len(kept), mu.shape[1]))
    for row, k in enumerate(kept):
        h_cond = np.zeros(mu.shape[1])
        for v in range(sizes[k]):
            rows = np.flatnonzero(factors[:, k] == v)
            sub = rows[_subset(len(rows), num_samples, rng)]
            h, _ = entropies(z[sub], mu[rows], logvar[rows])
            h_cond += h / sizes[k]
        mi[row] = h_marg - h_cond
    mi_sorted = np.clip(np.sort(mi, axis=1)[:, ::-1], 0, None)
    normed = mi_sorted / np.log(sizes[kept])[:, None]
    per_factor = normed[:, 0] - normed[:, 1]
    names = factor_names or tuple(str(k) for k in range(len(sizes)))
    return {"mig": float(per_factor.mean()), "per_factor": {names[k]: float(g) for k, g in zip(kept, per_factor)}}


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_mig_sampled(ctx, s, rng):
    mu, lv, f = ctx.full_grid()
    names = ctx.source.factor_names
    exclude = tuple(names.index(n) for n in s["exclude"] if n in names)
    return compute_mig_sampled(mu, lv, f, ctx.source.factor_sizes, rng, s["num_samples"], exclude, names)


SPECS = (
    MetricSpec("mig_sampled", "mig", ro(mig=True), VERSION,
               "Chen et al. 2018 full-dataset MIG: one posterior sample per image, entropies vs all N posteriors, normalised by log|V_k|",
               ro(num_samples=10_000, exclude=("shape",)), _run_mig_sampled, "full_grid", ro(num_samples=1_000), suite=False,
               label="MIG (Chen)",
               definition="the same gap from sampled codes and Chen's full-dataset entropy estimator, over log |factor values| (Chen et al. 2018)"),
)
