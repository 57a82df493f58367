"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising", ICML), as disentanglement_lib's
``compute_factor_vae``.

1. Global variance of each code over ``num_variance_estimate`` = 10,000 samples (ddof = 1).
2. Prune: active dims have std ≥ 0.05 (``prune_dims.threshold``, on the unnormalised code).
3. Vote: k ~ U{0..K−1}; 64 factor vectors with factor k fixed to the first row's value; d =
   argmin over active dims of local variance / global variance; votes[k, d] += 1.
4. Majority-vote classifier (argmax over factors per dim) from ``num_train`` = 10,000 training votes;
   accuracy on them and on ``num_eval`` = 5,000 evaluation votes.

Deliberate fix of a reference bug: ``num_active_dims`` is the number of active dimensions
(dlib reports ``len`` of the boolean mask, i.e. the total number of dimensions).

Protocol: ``docs/metrics.md#factorvae-score``.
"""

from __future__ import annotations

import numpy as np

from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def sample_votes_factors(num_factors: int, factor_sample, num_points: int, batch_size: int, rng: np.random.Generator):
    """labels (P,) and factor vectors (P·B, K) with factor k fixed within each batch of B."""
    labels = np.empty(num_points, dtype=np.int64)
    out = []
    for i in range(num_points):
        k = int(rng.integers(num_factors))
        f = factor_sample(batch_size, rng)
        f[:, k] = f[0, k]
        labels[i] = k
        out.append(f)
    return labels, np.concatenate(out)


def compute_factor_vae(global_codes, train_labels, train_codes, eval_labels, eval_codes, num_factors: int,
                       batch_size: int = 64, prune_threshold: float = 0.05) -> dict[str, float]:
    """The pure core. global_codes (V, D); train/eval codes (P·B, D) in batches of ``batch_size``."""
    global_codes, _ = check_codes(global_codes, name="factor_vae")
    check_codes(train_codes, name="factor_vae")
    check_codes(eval_codes, name="factor_vae")
    global_var = np.var(global_codes, axis=0, ddof=1)
    active = np.sqrt(global_var) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    d = global_codes.shape[1]

    def votes(labels, codes):
        local = np.var(codes.reshape(-1, batch_size, d), axis=1, ddof=1)  # (P, D)
        argmin = np.argmin(local[:, active] / global_var[active], axis=1)  # index into the active subset
        v = np.zeros((num_factors, d))
        np.add.at(v, (labels, argmin), 1)
        return v

    train_votes, eval_votes = votes(train_labels, train_codes), votes(eval_labels, eval_codes)
    classifier = np.argmax(train_votes, axis=0)
    cols = np.arange(d)
    return {
        "train_accuracy": float(train_votes[classifier, cols].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, cols].sum() / eval_votes.sum()),
        "num_active_dims": int(active.sum()),
    }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_factor_vae(ctx, s, rng):
    k = len(ctx.source.factor_sizes)
    gf = ctx.source.sample_factors(s["num_variance_estimate"], rng)
    global_codes = ctx.source.codes(gf, rng)
    parts = []
    for n in (s["num_train"], s["num_eval"]):
        labels, f = sample_votes_factors(k, ctx.source.sample_factors, n, s["batch_size"], rng)
        parts.append((labels, ctx.source.codes(f, rng)))
    return compute_factor_vae(global_codes, *parts[0], *parts[1], num_factors=k, batch_size=s["batch_size"],
                              prune_threshold=s["prune_threshold"])


SPECS = (
    MetricSpec("factor_vae", "eval_accuracy", ro(train_accuracy=True, eval_accuracy=True, num_active_dims=True), VERSION,
               "Kim & Mnih 2018 as disentanglement_lib compute_factor_vae: mean codes, prune std<0.05, majority vote; num_active_dims fixed (dlib reports total dims)",
               ro(batch_size=64, num_train=10_000, num_eval=5_000, num_variance_estimate=10_000, prune_threshold=0.05),
               _run_factor_vae, "factor_lookup", ro(num_train=100, num_eval=50, num_variance_estimate=1_000), suite=True,
               own_images=lambda s: s["num_variance_estimate"] + s["batch_size"] * (s["num_train"] + s["num_eval"]),
               label="FactorVAE score",
               definition="majority-vote accuracy naming the fixed factor from the code dimension of least normalised variance (Kim & Mnih 2018)"),
)
