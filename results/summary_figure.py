"""The study at a glance: every configuration on every metric, one small panel per metric (the report's first
figure)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from .leaderboard import metric_label
from .plots import family_colour, plt, save_figure


def summary_plot(rows: list[dict], cols, path: str | Path) -> Path:
    """The study at a glance: one panel per metric, one horizontal bar per configuration in the leaderboard's
    order (mean over seeds, error bar = std, kept inside [0, 1] for scores in that range; "n/a" where a
    configuration has no value), arrow in the title for the better direction; configurations are named once
    per row of panels."""
    n = max(1, len(cols))
    ncols = min(4, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 + 2.9 * ncols, 0.8 + (0.9 + 0.22 * len(rows)) * nrows),
                             squeeze=False, sharey=True)
    # Long settings (the annealed model's three) wrap at their commas rather than run off the figure's edge.
    labels = [textwrap.fill(r["family"] + (f" ({r['hparams']})" if r["hparams"] else ""), 32, break_long_words=False)
              for r in rows]
    y = np.arange(len(rows))
    for ax, (name, key, hib) in zip(axes.flat, cols):
        vals = [r[f"{name}.{key}"] for r in rows]
        means = np.array([v[0] if v else np.nan for v in vals])
        sds = np.array([v[1] if v and v[2] > 1 else 0.0 for v in vals])
        lo, hi = means - sds, means + sds
        if np.nanmin(means, initial=0.0) >= 0 and np.nanmax(means, initial=0.0) <= 1 and name != "unsupervised":
            lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        ax.barh(y, np.nan_to_num(means), color=[family_colour(r["family"]) for r in rows], alpha=0.85)
        ax.errorbar(means, y, xerr=[means - lo, hi - means], fmt="none", ecolor="black", capsize=2, lw=0.8)
        for i in np.flatnonzero(~np.isfinite(means)):
            ax.text(0, i, " n/a", va="center", fontsize=6, color="#555")
        ax.set_title(f"{metric_label(name, key)} {'↑' if hib else '↓'}", fontsize=9)
        ax.set_yticks(y, labels, fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))  # 0.000 0.025 … 0.200 runs its ticks together
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].invert_yaxis()  # shared: the leaderboard's first row on top
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    fig.suptitle("Every configuration on every metric: mean over seeds ± std (bars coloured by family)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))
