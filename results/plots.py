"""Headless matplotlib plots from stored records: the reconstruction/disentanglement trade-off and
per-latent KL over training."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.io import atomic_write  # noqa: E402

from .formatting import fixed  # noqa: E402
from .leaderboard import metric_label  # noqa: E402
from .records import family_label, hparam_items, metric_columns  # noqa: E402

FAMILY_COLOURS = {"vae": "#444444", "betavae": "#1f77b4", "annealed": "#2ca02c", "tcvae": "#d62728",
                  "factorvae": "#ff7f0e", "dipvae1": "#9467bd", "dipvae2": "#e377c2"}
OTHER_COLOURS = ("#8c564b", "#17becf", "#bcbd22", "#7f7f7f")


def family_colour(family: str) -> str:
    """A family's colour in every figure: fixed for disentanglement_lib's six families, else chosen by the
    name's checksum (the same colour in every study and run, whatever families are present); device suffixes
    share the family's."""
    import zlib

    base = family.split(" [")[0]
    return FAMILY_COLOURS.get(base) or OTHER_COLOURS[zlib.crc32(base.encode()) % len(OTHER_COLOURS)]


def save_figure(fig, path: Path) -> Path:
    """Every figure's one way to disk: a 110-dpi PNG written atomically (temp file + rename) with no
    software-version metadata, so the same records give the same bytes; the figure is closed."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None}))
    plt.close(fig)
    return path


def is_sweep(settings: list[dict]) -> bool:
    """Whether a family's configurations form one sweep: the same hyper-parameters, all but one fixed (β-VAE over
    β is; β-TCVAE at β = 6 and at (α, β, γ) = (1, 6, 4) is not — a line through them would suggest a trend)."""
    if len(settings) < 2 or len({tuple(sorted(s)) for s in settings}) != 1:
        return False
    return sum(len({s[k] for s in settings}) > 1 for k in settings[0]) == 1


def tradeoff_plot(records: list[dict], path: str | Path) -> Path:
    """Reconstruction (x, nats per image, lower is better) vs each primary metric, one point per run,
    coloured by family, a line through each family's sweep (seed means, sorted by reconstruction; only where
    the configurations vary one hyper-parameter, :func:`is_sweep`)."""
    cols = [c for c in metric_columns(records) if c[0] != "unsupervised"] or metric_columns(records)
    n = len(cols)
    ncols = min(4, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax, (name, key, hib) in zip(axes.flat, cols):
        by_family: dict[str, dict[str, list]] = {}
        hps: dict[tuple[str, str], dict] = {}
        for r in records:
            if name not in r["metrics"] or "reconstruction" not in r.get("training", {}) or r["metrics"][name]["values"][key] is None:
                continue
            fam, hp = family_label(r)
            hps[(fam, hp)] = hparam_items(r)
            x, y = r["training"]["reconstruction"], r["metrics"][name]["values"][key]
            ax.scatter(x, y, s=18, color=family_colour(fam), alpha=0.55, edgecolors="none")
            by_family.setdefault(fam, {}).setdefault(hp, []).append((x, y))
        for fam, sweeps in sorted(by_family.items()):
            pts = sorted((sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v)) for v in sweeps.values())
            style = "-o" if is_sweep([hps[(fam, hp)] for hp in sweeps]) else "o"  # joined only along one hyper-parameter
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, ms=4, color=family_colour(fam), label=fam)
        xs = [x for sw in by_family.values() for v in sw.values() for x, _ in v]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 4:  # one failed family would squeeze the others into a sliver
            from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("reconstruction NLL (nats/image, ↓" + (", log scale)" if ax.get_xscale() == "log" else ")"))
        ax.set_ylabel(f"{metric_label(name, key)} ({'↑' if hib else '↓'})", fontsize=8)
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 0.955))
    fig.suptitle("Reconstruction vs disentanglement: small points = runs; large points = a configuration's mean over seeds, "
                 "joined within a family along a one-parameter sweep", y=0.998, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return save_figure(fig, Path(path))


def _draw_kl(ax, log: list[dict], title: str) -> None:
    """Per-latent KL (solid) and, for capacity annealing, C and the total KL (black, the same axis), from one
    run's training log (:func:`core.layout.read_log`)."""
    log = [r for r in log if "kl_per_latent" in r]  # optional in loss_terms (a submission's may omit it)
    if not log:
        ax.text(0.5, 0.5, "n/a: this model logs no per-latent KL", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, fontsize=9)
        return
    steps = [r["step"] for r in log]
    kl = list(zip(*[r["kl_per_latent"] for r in log]))  # (latents, logged steps)
    cmap = plt.get_cmap("tab10")
    for d, series in enumerate(kl):
        ax.plot(steps, series, color=cmap(d % 10), label=f"z{d}")
    if "capacity" in log[0]:  # on the same axis (nats): a second axis drew the total over a latent's curve
        ax.plot(steps, [r["capacity"] for r in log], "k--", lw=1, label="capacity C")
        ax.plot(steps, [r["kl"] for r in log], "k:", lw=1, label="total KL")
        ax.set_ylabel("KL: nats (per latent; C dashed, total dotted)", fontsize=8)
    else:
        ax.set_ylabel("KL per latent: nats", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)


def kl_curve_plot(log: list[dict], path: str | Path, title: str = "") -> Path:
    """Per-latent KL over training steps from a run's log (capacity annealing: latents switch on one by one)."""
    return kl_curves_plot([(log, title or "Per-latent KL over training")], path)


def kl_curves_plot(runs: list[tuple[list[dict], str]], path: str | Path) -> Path:
    """One panel per ``(training log, title)``, stacked on a shared step axis, so runs of different settings
    (e.g. the paper's γ and a calibrated one) can be compared latent by latent."""
    fig, axes = plt.subplots(len(runs), 1, figsize=(6.4, 0.6 + 3.2 * len(runs)), sharex=True, squeeze=False)
    for ax, (log, title) in zip(axes[:, 0], runs):
        _draw_kl(ax, log, title)
    axes[-1, 0].set_xlabel("training step")
    axes[-1, 0].legend(ncol=5, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def rank_correlation_heatmap(rho, path: str | Path) -> Path:
    """Spearman ρ between metrics across runs."""
    labels = [_short_label(c).replace("\n", " ") for c in rho.index]  # the names the tables use
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.6 * len(labels)))
    im = ax.imshow(rho.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            v = rho.iloc[i, j]
            dark = np.isfinite(v) and abs(v) > 0.55  # the ends of RdBu are dark: white digits there
            ax.text(j, i, fixed(v, 2, missing="n/a"), ha="center", va="center", fontsize=7, color="white" if dark else "black")
    fig.colorbar(im, ax=ax, label="Spearman ρ across runs")
    ax.set_title("Do the metrics agree? (rank correlation)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def _short_label(column: str) -> str:
    """'mig.discrete_mig' → 'MIG (dlib)', wrapped to two lines at most."""
    name, _, key = column.partition(".")
    label = metric_label(name, key) if key else column
    if len(label) > 16 and " " in label:
        cut = label.rfind(" ", 0, 16)
        label = label[:cut] + "\n" + label[cut + 1:]
    return label


def seed_spread_plot(df, metrics: list[str], path: str | Path) -> Path:
    """Each metric against the configuration (family × hyper-parameters), every seed a dot, mean ± std."""
    configs = sorted({(f, h) for f, h in zip(df["family"], df["hparams"])})
    n = len(metrics)
    labels = [f + "\n" + (h.replace(", ", "\n") or "—") for f, h in configs]
    # Each configuration gets the width of its longest label line (≈ 0.05 in per character at 6 pt), so
    # 'anneal_steps=10000' does not run into its neighbour.
    slot = max(0.55, 0.05 * max((len(line) for lab in labels for line in lab.split("\n")), default=0) + 0.1)
    fig, axes = plt.subplots(n, 1, figsize=(max(6.0, slot * len(configs) + 2), 2.1 * n), squeeze=False)
    for ax, m in zip(axes[:, 0], metrics):
        values = df[m].dropna().to_numpy(dtype=float)
        bounded = len(values) > 0 and values.min() >= 0 and values.max() <= 1 and "correlation" not in m
        for x, (fam, hp) in enumerate(configs):
            v = df[(df["family"] == fam) & (df["hparams"] == hp)][m].dropna().to_numpy(dtype=float)
            colour = family_colour(fam)
            ax.scatter(np.full(len(v), x), v, s=14, color=colour, alpha=0.6)
            if len(v):
                sd = v.std(ddof=1) if len(v) > 1 else 0.0
                lo, hi = v.mean() - sd, v.mean() + sd
                if bounded:  # a score in [0, 1]: the bar stays inside its range
                    lo, hi = max(lo, 0.0), min(hi, 1.0)
                ax.errorbar(x + 0.18, v.mean(), yerr=[[v.mean() - lo], [hi - v.mean()]], fmt="_", color=colour, capsize=3)
        ax.set_ylabel(_short_label(m), fontsize=7, rotation=0, ha="right", va="center")
        ax.grid(alpha=0.3)
        ax.set_xticks(range(len(configs)), labels if ax is axes[-1, 0] else [""] * len(configs), fontsize=6)
    fig.suptitle("Metric vs configuration: dots = seeds, bars = mean ± std", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))  # 0.4 in kept for the title
    return save_figure(fig, Path(path))


def mi_heatmap(mi, factor_names, path: str | Path, title: str = "") -> Path:
    """Factor × latent mutual information (nats) of one run."""
    mi = np.asarray(mi).T  # (K, D)
    fig, ax = plt.subplots(figsize=(0.5 * mi.shape[1] + 2.2, 0.45 * mi.shape[0] + 1.2))
    im = ax.imshow(mi, cmap="viridis", vmin=0)
    ax.set_yticks(range(len(factor_names)), factor_names, fontsize=7)
    ax.set_xticks(range(mi.shape[1]), [f"z{d}" for d in range(mi.shape[1])], fontsize=7)
    fig.colorbar(im, ax=ax, label="MI (nats)")
    ax.set_title(title or "factor × latent mutual information", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def udr_scatter(rows: list[dict], rho: dict, metrics, path: str | Path) -> Path:
    """Duan et al.'s figure: UDR (x) against each supervised metric (y) over all runs, one panel per
    metric, colour = family, Spearman ρ in each panel's title."""
    panels = [(m, k) for m, k in metrics if f"{m}.{k}" in rho]
    n = max(1, len(panels))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.3 * nrows), squeeze=False)
    families = sorted({r["family"] for r in rows})
    for ax, (m, k) in zip(axes.flat, panels):
        for fam in families:
            pts = [(r["udr"], r["record"]["metrics"][m]["values"][k]) for r in rows if r["family"] == fam and m in r["record"]["metrics"]
                   and r["record"]["metrics"][m]["values"].get(k) is not None and np.isfinite(r["udr"])]
            if pts:
                ax.scatter(*zip(*pts), s=22, color=family_colour(fam), label=fam, alpha=0.85)
        r, cnt = rho[f"{m}.{k}"]
        ax.set_title(f"{m}.{k}: ρ = {fixed(r, 2)} (n = {cnt})", fontsize=9)
        ax.set_xlabel("UDR (no labels)")
        ax.set_ylabel(f"{m}.{k}")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if not panels:
        axes[0, 0].text(0.5, 0.5, "fewer than 3 runs with UDR and a supervised score", ha="center", va="center")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle("UDR against supervised metrics (points = runs)", y=1.04 if handles else 1.0, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, Path(path))
