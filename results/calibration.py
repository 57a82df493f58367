"""Budget vs separation: do the model families of a study come apart beyond their seed spread, and
from which training budget on?

Runs of a study with ``snapshot_steps`` are scored at every snapshot (``record["snapshots"]``); the
snapshot at step k of a constant-learning-rate run is exactly a k-step run (see ``benchmark.reference_studies.cpu``).

Two families are *separated* on a metric at a budget when their seed ranges do not overlap: every
seed of one scores above every seed of the other. With three seeds this is a strict test — a 1-in-20
event for two families whose runs are exchangeable (3!·3!/6! = 1/20) — so it is the criterion the
README reports; mean ± std is given beside it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from core.io import atomic_write_text
from metrics.registry import suite_names

from .formatting import MISSING, markdown_table, over_seeds
from .records import family_label, hparam_items

SUPERVISED = suite_names(supervised_only=True)


def _config_label(rec: dict) -> str:
    fam, hp = family_label(rec)
    return f"{fam} ({hp})" if hp else fam


def budget_table(records: list[dict]) -> pd.DataFrame:
    """Long table: configuration, family, seed, step, metric, value — snapshots plus the final scores."""
    rows = []
    for r in records:
        label, family = _config_label(r), family_label(r)[0]
        seed, steps = r["cell"]["config"]["seed"], r["cell"]["config"]["steps"]
        scored = {(snap["step"], m): v for snap in r.get("snapshots", []) for m, v in snap["metrics"].items()}
        for name, m in r["metrics"].items():  # final scores of metrics not snapshotted
            if name in SUPERVISED and m["values"][m["primary"]] is not None:
                scored.setdefault((steps, f"{name}.{m['primary']}"), m["values"][m["primary"]])
        rows += [{"config": label, "family": family, "seed": seed, "step": step, "metric": key, "value": v}
                 for (step, key), v in scored.items()]
    return pd.DataFrame(rows, columns=["config", "family", "seed", "step", "metric", "value"])


def separated_pairs(values: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """Pairs (higher, lower) of configurations whose seed ranges do not overlap."""
    out = []
    for a, b in itertools.combinations(sorted(values), 2):
        va, vb = values[a], values[b]
        if len(va) < 2 or len(vb) < 2:
            continue
        if va.min() > vb.max():
            out.append((a, b))
        elif vb.min() > va.max():
            out.append((b, a))
    return out


def separation_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per (step, metric): mean ± std per configuration and the separated pairs."""
    rows = []
    configs = sorted(df["config"].unique())
    for (step, metric), g in df.groupby(["step", "metric"], sort=True):
        values = {c: g.loc[g["config"] == c, "value"].to_numpy(float) for c in configs}
        values = {c: v for c, v in values.items() if len(v)}
        pairs = separated_pairs(values)
        row = {"step": int(step), "metric": metric, "n_pairs": len(values) * (len(values) - 1) // 2, "separated": pairs}
        for c, v in values.items():
            row[c] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else None, len(v))
        rows.append(row)
    return pd.DataFrame(rows)


def pair_names(records: list[dict]) -> dict[str, str]:
    """Configuration label → its name in the separated-pairs column: the family alone where the records
    hold one configuration of it, else the family with the hyper-parameters that tell its configurations
    apart ("annealed (gamma=10)" and "annealed (gamma=1000)", not "annealed > annealed")."""
    configs = {_config_label(r): (family_label(r)[0], hparam_items(r)) for r in records}
    names = {}
    for label, (fam, hp) in configs.items():
        siblings = [h for f, h in configs.values() if f == fam]
        if len(siblings) == 1:
            names[label] = fam
            continue
        differ = [k for k in sorted({k for h in siblings for k in h}) if len({h.get(k) for h in siblings}) > 1]
        names[label] = f"{fam} ({', '.join(f'{k}={hp.get(k, MISSING)}' for k in differ)})" if differ else label
    return names


def render_markdown(summary: pd.DataFrame, study: str, names: dict[str, str] | None = None) -> str:
    """The calibration page; ``names`` (from :func:`pair_names`) shortens the separated pairs."""
    configs = [c for c in summary.columns if c not in ("step", "metric", "n_pairs", "separated")]
    short = {c: (names or {}).get(c, c) for c in configs}
    lines = [f"# Budget vs separation — study `{study}`", "",
             "Each cell: mean ± std over seeds (a configuration with one seed: its value, marked n=1, and no pair "
             "with it counts as separated). *Separated*: pairs of configurations whose seed ranges do not "
             "overlap (every seed of the first above every seed of the second).", ""]
    rows = []
    for _, r in summary.iterrows():
        cells = [over_seeds(*r[c]) if isinstance(r[c], tuple) else MISSING for c in configs]
        pairs = ", ".join(f"{short[a]} > {short[b]}" for a, b in r["separated"]) or "none"
        rows.append((f"{r['step']:,}", r["metric"], *cells, f"{len(r['separated'])}/{r['n_pairs']}: {pairs}"))
    lines += markdown_table(("steps", "metric", *configs, "separated pairs"), rows)
    lines += ["", "## Smallest budget at which every pair of configurations is separated", ""]
    by_step = summary.groupby("step")
    found = None
    for step, g in by_step:
        full = [r["metric"] for _, r in g.iterrows() if r["n_pairs"] and len(r["separated"]) == r["n_pairs"]]
        lines.append(f"- {step:,} steps: all pairs separated on {len(full)} metric(s){': ' + ', '.join(full) if full else ''}")
        if found is None and len(full) >= 2:
            found = step
    lines += ["", f"**{'Smallest budget with every pair separated on ≥ 2 supervised metrics: ' + format(found, ',') + ' steps' if found else 'No budget in this study separates every pair of configurations on two supervised metrics.'}**", ""]
    return "\n".join(lines)


LINE_STYLES = ("-o", "--s", ":^", "-.v")


def budget_curve_plot(df: pd.DataFrame, path: str | Path) -> Path:
    """Metric vs training step per configuration: seed mean (line) and each seed (dots)."""
    from .plots import family_colour, plt, save_figure

    metrics = sorted(df.loc[df.groupby("metric")["step"].transform("nunique") > 1, "metric"].unique()) or sorted(df["metric"].unique())
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        g = df[df["metric"] == metric]
        nth: dict[str, int] = {}  # configurations of one family share its colour and differ by line style
        for (config, family), gc in g.groupby(["config", "family"], sort=True):
            colour = family_colour(family)
            nth[family] = nth.get(family, -1) + 1
            style = LINE_STYLES[nth[family] % len(LINE_STYLES)]
            mean = gc.groupby("step")["value"].mean()
            ax.plot(mean.index, mean.to_numpy(), style, ms=3, color=colour, label=config)
            ax.scatter(gc["step"], gc["value"], s=10, alpha=0.4, color=colour)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("training step (batch 64)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return save_figure(fig, Path(path))


def build_calibration(study_dir: str | Path, study: str, data=None) -> list[Path]:
    """``calibration.md`` and ``budget_curves.png`` in the study folder; nothing when no run kept snapshots.
    ``data``: the study's :class:`results.study_data.StudyData`, loaded here when not given."""
    from .study_data import load_study

    d = Path(study_dir)
    records = [r for r in (data or load_study(d)).records if r.get("snapshots")]
    if not records:
        return []
    df = budget_table(records)
    md = atomic_write_text(d / "calibration.md", render_markdown(separation_summary(df), study, pair_names(records)))
    return [md, budget_curve_plot(df, d / "budget_curves.png")]
