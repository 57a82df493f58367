"""The seed-stability analysis of a study, from stored records: tables (markdown) and plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.io import atomic_write_text
from core.layout import EVAL_SEEDS

from .formatting import TOO_FEW, fixed, markdown_table
from .ordering import ordering_section
from .plots import rank_correlation_heatmap, seed_spread_plot
from .stability import rank_correlation, rank_flip_probability, seed_spread, variance_decomposition


def eval_seed_table(records: list[dict]) -> pd.DataFrame | None:
    """Evaluation-seed stability: std of each metric over evaluation seeds of the same trained model
    (``eval_seeds.json`` in run folders), next to the std over training seeds."""
    rows = []
    for r in records:
        p = Path(r["_path"]).parent / EVAL_SEEDS
        if not p.exists():
            continue
        by_seed = json.loads(p.read_text())
        metrics = sorted({k for v in by_seed.values() for k in v})
        for m in metrics:
            vals = [v[m] for v in by_seed.values() if m in v]
            rows.append({"run": r["cell_index"], "metric": m, "n_eval_seeds": len(vals), "std_over_eval_seeds": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0})
    if not rows:
        return None
    return pd.DataFrame(rows).groupby("metric").agg(runs=("run", "nunique"), n_eval_seeds=("n_eval_seeds", "max"),
                                                     mean_std_over_eval_seeds=("std_over_eval_seeds", "mean")).reset_index()


VARIANCE_HEADERS = ("metric", "family", "hyper-parameter", "seed", "rank-flip probability")


def has_seed_replicates(df: pd.DataFrame) -> bool:
    """True when some configuration has ≥ 2 seeds: without that, no share of variance can be put on seeds."""
    return bool((df.groupby(["family", "hparams"]).size() >= 2).any())


NO_REPLICATES = ("Every configuration has a single seed, so the variance cannot be split between configurations "
                 "and seeds (and rank flips cannot be estimated): run ≥ 2 seeds per configuration.")


def variance_rows(df: pd.DataFrame, metrics: list[str]) -> list[tuple[str, ...]]:
    """Formatted rows of the variance-share table (reconstruction first), as ``VARIANCE_HEADERS``
    ([] without seed replicates)."""
    if not has_seed_replicates(df):
        return []
    rows = []
    for m in ["reconstruction"] + metrics:
        v = variance_decomposition(df, m)
        rows.append((m, fixed(v["family"], 2), fixed(v["hyperparameter"], 2), fixed(v["seed"], 2), fixed(rank_flip_probability(df, m))))
    return rows


def build_stability(study_dir: str | Path, study: str, data=None) -> list[Path]:
    """``stability.md`` and its figures; ``data``: the study's :class:`results.study_data.StudyData`, loaded
    here when not given."""
    from .study_data import load_study

    d = Path(study_dir)
    data = data or load_study(d)
    records = data.records
    if not records:
        raise ValueError(f"no complete records in {d}; run the study first")
    df, metrics = data.runs
    lines = [f"# Seed stability — study `{study}` ({len(records)} runs)", ""]
    lines += ["## Share of each metric's variance explained by family, hyper-parameter and seed", ""]
    lines += markdown_table(VARIANCE_HEADERS, variance_rows(df, metrics)) if has_seed_replicates(df) else [NO_REPLICATES]
    lines += ["", "Rank-flip probability: for two configurations, the chance their order by mean swaps when seeds are "
              "resampled (bootstrap), averaged over all pairs; 0.5 means seeds decide the ranking.", ""]
    lines += ["## Per configuration: mean, std over seeds, 95 % bootstrap CI of the mean", ""]
    for m in metrics:
        s = seed_spread(df, m)
        lines += [f"### {m}", ""]
        lines += markdown_table(("family", "hyper-parameters", "n", "mean", "std", "95 % CI"),
                                [(r["family"], r["hparams"] or "—", r["n"], fixed(r["mean"]), fixed(r["std"]),
                                  f"[{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else TOO_FEW)
                                 for _, r in s.iterrows()])
        lines.append("")
    lines += ordering_section(records)
    rho = rank_correlation(df, metrics + ["reconstruction"])
    lines += ["## Spearman rank correlation between metrics across runs", ""]
    lines += markdown_table(["", *rho.columns], [(name, *(fixed(v, 2) for v in row)) for name, row in rho.iterrows()])
    lines.append("")
    ev = eval_seed_table(records)
    if ev is not None:
        lines += ["## Evaluation-seed stability (same trained model, several metric seeds)", ""]
        lines += markdown_table(("metric", "runs", "eval seeds", "mean std over eval seeds"),
                                [(r["metric"], r["runs"], r["n_eval_seeds"], fixed(r["mean_std_over_eval_seeds"], 4))
                                 for _, r in ev.iterrows()])
        lines.append("")
    out = [atomic_write_text(d / "stability.md", "\n".join(lines) + "\n")]
    out.append(rank_correlation_heatmap(rho, d / "rank_correlation.png"))
    out.append(seed_spread_plot(df, metrics, d / "seed_spread.png"))
    return out
