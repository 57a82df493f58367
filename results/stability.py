"""Seed stability (Locatello et al. 2019: seeds move scores as much as hyper-parameters do).

All functions are pure over a long-format table of runs: one row per run with ``family``,
``hparams`` (a configuration label within the family), ``seed`` and metric values.

- :func:`seed_spread` — per configuration: mean, std over seeds, n, percentile-bootstrap CI of the mean
  (NaN below ``MIN_SEEDS`` seeds);
- :func:`variance_decomposition` — nested sums of squares: the share of a metric's variance between
  families, between hyper-parameters within a family, and between seeds within a configuration;
- :func:`rank_correlation` — Spearman correlation between metrics across runs;
- :func:`rank_flip_probability` — for two configurations, the probability that their order by mean
  swaps when seeds are resampled with replacement (bootstrap), averaged over all pairs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .formatting import MIN_SEEDS


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return (float(values.mean()), float(values.mean())) if len(values) else (np.nan, np.nan)
    means = values[rng.integers(len(values), size=(n_boot, len(values)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def seed_spread(df: pd.DataFrame, metric: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for (fam, hp), g in df.groupby(["family", "hparams"], sort=True):
        v = g[metric].dropna().to_numpy()
        lo, hi = bootstrap_ci(v, rng)  # drawn for every group, as before: the other groups' intervals are unchanged
        if len(v) < MIN_SEEDS:
            lo = hi = np.nan  # from two seeds the "CI" is their min–max: nothing is bounded
        rows.append({"family": fam, "hparams": hp, "n": len(v), "mean": v.mean() if len(v) else np.nan,
                     "std": v.std(ddof=1) if len(v) > 1 else np.nan, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def variance_decomposition(df: pd.DataFrame, metric: str) -> dict[str, float]:
    """Shares of the total sum of squares: family, hyper-parameter (within family), seed (within config)."""
    d = df[["family", "hparams", metric]].dropna()
    y = d[metric].to_numpy(dtype=float)
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return {"family": 0.0, "hyperparameter": 0.0, "seed": 0.0}
    fam_mean = d.groupby("family")[metric].transform("mean").to_numpy()
    cfg_mean = d.groupby(["family", "hparams"])[metric].transform("mean").to_numpy()
    ss_family = float(((fam_mean - y.mean()) ** 2).sum())
    ss_hparam = float(((cfg_mean - fam_mean) ** 2).sum())
    ss_seed = float(((y - cfg_mean) ** 2).sum())
    return {"family": ss_family / total, "hyperparameter": ss_hparam / total, "seed": ss_seed / total}


def rank_correlation(df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    sub = df[metrics].astype(float)
    rho = np.eye(len(metrics))
    for i, j in itertools.combinations(range(len(metrics)), 2):
        pair = sub[[metrics[i], metrics[j]]].dropna()
        constant = pair.nunique().min() < 2
        r = spearmanr(pair.iloc[:, 0], pair.iloc[:, 1]).statistic if len(pair) > 2 and not constant else np.nan
        rho[i, j] = rho[j, i] = r
    return pd.DataFrame(rho, index=metrics, columns=metrics)


def rank_flip_probability(df: pd.DataFrame, metric: str, n_boot: int = 1000, seed: int = 0) -> float:
    """Mean over configuration pairs of P(bootstrap order ≠ observed order); ties count half."""
    rng = np.random.default_rng(seed)
    groups = [g[metric].dropna().to_numpy(dtype=float) for _, g in df.groupby(["family", "hparams"], sort=True)]
    groups = [g for g in groups if len(g)]
    probs = []
    for a, b in itertools.combinations(groups, 2):
        observed = np.sign(a.mean() - b.mean())
        ma = a[rng.integers(len(a), size=(n_boot, len(a)))].mean(1)
        mb = b[rng.integers(len(b), size=(n_boot, len(b)))].mean(1)
        s = np.sign(ma - mb)
        probs.append(float(np.mean(np.where(s == 0, 0.5, s != observed))) if observed != 0 else 0.5)
    return float(np.mean(probs)) if probs else float("nan")


def runs_table(records: list[dict]) -> tuple[pd.DataFrame, list[str]]:
    """Long-format table from result records: family, hparams, seed, reconstruction, primary metrics."""
    from .records import family_label, metric_columns

    cols = metric_columns(records)
    rows = []
    for r in records:
        fam, hp = family_label(r)
        row = {"family": fam, "hparams": hp, "seed": r["cell"]["config"]["seed"], "reconstruction": r["training"].get("reconstruction")}
        for name, key, _ in cols:
            if name in r["metrics"]:
                value = r["metrics"][name]["values"][key]
                row[f"{name}.{key}"] = np.nan if value is None else value
        rows.append(row)
    return pd.DataFrame(rows), [f"{n}.{k}" for n, k, _ in cols]
