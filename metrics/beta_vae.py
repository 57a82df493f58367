"""β-VAE score (Higgins et al. 2017, ICLR), as disentanglement_lib's ``compute_beta_vae_sklearn``.

Each training point: k ~ U{0..K−1}; two batches of 64 factor vectors drawn independently with
factors2[:, k] = factors1[:, k]; feature = batch mean of |r(x1) − r(x2)| (D-vector), label k.
A ``LogisticRegression`` with library defaults (lbfgs, multinomial, unnormalised features) is fit on
``num_train`` points; ``train_accuracy`` on them, ``eval_accuracy`` on ``num_eval`` fresh points.
Study defaults: batch 64, num_train 10,000, num_eval 5,000. Saturates; classifier untuned (dlib #28).

Protocol: ``docs/metrics.md#β-vae-score``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"


def sample_pairs(num_factors: int, factor_sample, num_points: int, batch_size: int, rng: np.random.Generator):
    """Factor vectors for ``num_points`` points: labels (P,), factors1, factors2 (P·B, K)."""
    labels = np.empty(num_points, dtype=np.int64)
    f1, f2 = [], []
    for i in range(num_points):
        k = int(rng.integers(num_factors))
        a, b = factor_sample(batch_size, rng), factor_sample(batch_size, rng)
        b[:, k] = a[:, k]
        labels[i] = k
        f1.append(a)
        f2.append(b)
    return labels, np.concatenate(f1), np.concatenate(f2)


def pair_features(codes1: np.ndarray, codes2: np.ndarray, batch_size: int) -> np.ndarray:
    """(P·B, D) codes of both batches → (P, D) features = batch mean |r1 − r2|."""
    d = np.abs(codes1 - codes2).reshape(-1, batch_size, codes1.shape[1])
    return d.mean(axis=1)


def compute_beta_vae(train_x, train_y, eval_x, eval_y, seed: int = 0) -> dict[str, float]:
    """The pure core: features (P, D) and labels (P,) → train/eval accuracy of the linear classifier."""
    train_x, _ = check_codes(train_x, name="beta_vae")
    eval_x, _ = check_codes(eval_x, name="beta_vae")
    if len(np.unique(train_y)) < 2:
        raise ValueError("beta_vae: training points cover a single factor; raise num_train")
    model = LogisticRegression(random_state=np.random.RandomState(seed))
    with warnings.catch_warnings():  # library defaults (100 lbfgs iterations) as in the reference
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, train_y)
    return {
        "train_accuracy": float(np.mean(model.predict(train_x) == train_y)),
        "eval_accuracy": float(model.score(eval_x, eval_y)),
    }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_beta_vae(ctx, s, rng):
    k = len(ctx.source.factor_sizes)
    feats = []
    for n in (s["num_train"], s["num_eval"]):
        labels, f1, f2 = sample_pairs(k, ctx.source.sample_factors, n, s["batch_size"], rng)
        c1, c2 = ctx.source.codes(f1, rng), ctx.source.codes(f2, rng)
        feats.append((pair_features(c1, c2, s["batch_size"]), labels))
    return compute_beta_vae(feats[0][0], feats[0][1], feats[1][0], feats[1][1], seed=int(rng.integers(2**31)))


SPECS = (
    MetricSpec("beta_vae", "eval_accuracy", ro(train_accuracy=True, eval_accuracy=True), VERSION,
               "Higgins et al. 2017 as disentanglement_lib compute_beta_vae_sklearn: mean codes, |r1-r2| batch means, LogisticRegression defaults",
               ro(batch_size=64, num_train=10_000, num_eval=5_000), _run_beta_vae, "factor_lookup",
               ro(num_train=100, num_eval=50), suite=True,
               own_images=lambda s: 2 * s["batch_size"] * (s["num_train"] + s["num_eval"]),
               label="β-VAE score",
               definition="accuracy of a linear classifier naming the factor held fixed in a pair of batches, from the mean |difference| of their codes (Higgins et al. 2017)"),
)
