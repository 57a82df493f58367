"""Training you can look at: a run's logged terms over steps (loss, reconstruction, KL and its objective's
own terms, e.g. FactorVAE's discriminator TC or the annealed model's capacity), and each configuration's
seeds overlaid, from the runs' training logs alone."""

from __future__ import annotations

import math
from pathlib import Path

from .plots import family_colour, plt, save_figure

NOT_TERMS = {"step", "images_per_s", "kl_per_latent"}  # throughput and the per-latent vector are not curves here
FIRST = ("loss", "reconstruction", "kl")  # the terms every model logs, in this order; the objective's own follow


def training_terms(log: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """{term: (steps, values)} of every finite scalar a training log records, the common terms first."""
    names = sorted({k for r in log for k, v in r.items() if k not in NOT_TERMS and isinstance(v, (int, float))},
                   key=lambda k: (FIRST.index(k) if k in FIRST else len(FIRST), k))
    out = {}
    for name in names:
        pts = [(r["step"], float(r[name])) for r in log if isinstance(r.get(name), (int, float)) and math.isfinite(r[name])]
        if pts:
            out[name] = ([s for s, _ in pts], [v for _, v in pts])
    return out


def term_label(name: str) -> str:
    """How a logged term is named in a figure ("kl" → "KL", "tc_discriminator" → "tc discriminator")."""
    return {"kl": "KL"}.get(name, name.replace("_", " "))


def _axis(ax, name: str, values) -> None:
    if name in ("loss", "reconstruction") and min(values) > 0:  # falls by 10× early on: a log scale shows the end too
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.tick_params(which="both", labelsize=7)


def run_curves_plot(log: list[dict], path: str | Path, title: str) -> Path | None:
    """One panel per logged term of one run's training log (None when it has no step)."""
    terms = training_terms(log)
    if not terms:
        return None
    cols = min(3, len(terms))
    rows = math.ceil(len(terms) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 0.5 + 2.4 * rows), squeeze=False)
    for ax, (name, (steps, values)) in zip(axes.flat, terms.items()):
        ax.plot(steps, values, color="#1f77b4", lw=1.2)
        _axis(ax, name, values)
        ax.set_title(term_label(name), fontsize=9)
    for ax in list(axes.flat)[len(terms):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("training step", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def configuration_curves_plot(groups: list[tuple[str, str, list[list[dict]]]], path: str | Path,
                              terms: tuple[str, ...] = ("reconstruction", "kl")) -> Path | None:
    """Reconstruction and KL over steps, one panel per configuration ``(family, label, its runs' training
    logs)``, one line per seed: the seed-to-seed spread of training itself (None when no run has a log)."""
    logs = [(fam, label, [training_terms(log) for log in run_logs]) for fam, label, run_logs in groups]
    logs = [(fam, label, [t for t in runs if t]) for fam, label, runs in logs]
    logs = [g for g in logs if g[2]]
    if not logs:
        return None
    fig, axes = plt.subplots(len(logs), len(terms), figsize=(4.2 * len(terms), 0.4 + 2.0 * len(logs)), squeeze=False)
    for row, (fam, label, runs) in zip(axes, logs):
        for ax, name in zip(row, terms):
            shown = [t[name] for t in runs if name in t]
            for steps, values in shown:
                ax.plot(steps, values, color=family_colour(fam), lw=1, alpha=0.75)
            if shown:
                _axis(ax, name, [v for _, vs in shown for v in vs])
            ax.set_ylabel(term_label(name) + " (nats)", fontsize=8)
        row[0].set_title(f"{label}: {len(runs)} seed(s)", fontsize=9, loc="left")
    for ax in axes[-1]:
        ax.set_xlabel("training step", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, Path(path))
