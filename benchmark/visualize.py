"""Per-run pictures that need the trained networks: latent traversals, reconstructions and prior samples.
Written into the run folder at the end of a cell (or redrawn from published weights by ``zoo draw``) so
that `results` can show them without loading models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write


@torch.no_grad()
def traversal_grid(model, x: torch.Tensor, likelihood: str, steps: int = 9, span: float = 2.0,
                   lows=None, highs=None) -> tuple[np.ndarray, np.ndarray]:
    """Decode μ(x) with one latent swept per row — over [lows[i], highs[i]] when given (the latent's own range
    over the data), else [−span, span] — and μ(x) itself: → (grid (D, steps, H, W, C), reconstruction
    (H, W, C)), in [0, 1]. Rows are ordered by the run's own latent index."""
    from models.likelihoods import reconstruct

    model.eval()
    mu, _ = model.encode(x[:1])  # (1, D)
    d = mu.shape[1]
    lows = torch.full((d,), -span) if lows is None else torch.as_tensor(lows, dtype=torch.float32)
    highs = torch.full((d,), span) if highs is None else torch.as_tensor(highs, dtype=torch.float32)
    z = mu.repeat(d * steps + 1, 1)  # (D·steps + 1, D): the last row is μ(x) unchanged
    for i in range(d):
        z[i * steps : (i + 1) * steps, i] = torch.linspace(float(lows[i]), float(highs[i]), steps)
    imgs = reconstruct(model.decode(z).float(), likelihood).permute(0, 2, 3, 1).cpu().numpy()  # (D·steps + 1, H, W, C)
    return imgs[:-1].reshape(d, steps, *imgs.shape[1:]), imgs[-1]


def posterior_ranges(means: np.ndarray, coverage: float = 0.96) -> tuple[np.ndarray, np.ndarray]:
    """Each latent's range over the data: the central ``coverage`` of its mean codes (N, D) → (lows, highs),
    widened to ±0.5 around the median where a latent barely moves (so its row still shows it does nothing)."""
    tail = 100 * (1 - coverage) / 2
    lo, mid, hi = np.percentile(means, [tail, 50, 100 - tail], axis=0)
    narrow = hi - lo < 1e-3
    return np.where(narrow, mid - 0.5, lo), np.where(narrow, mid + 0.5, hi)


ACTIVE_KL = 0.1  # nats: a latent below this mean KL carries (almost) nothing; folded into one line


def save_traversals(model, dataset, likelihood: str, path: str | Path, kl_per_latent=None, seed: int = 0,
                    mi=None, factor_names=None, means=None, title: str = "") -> Path:
    """Latent traversals of one input, titled with the run (``title``): the input, its reconstruction, then
    a row per active latent, most informative (largest KL) first, swept over its own range in the data
    (``means``: the run's mean codes, :func:`posterior_ranges`; [−2, 2] without them), labelled with its KL,
    its range and the factor it shares most information with (``mi``: latent × factor); inactive latents are
    listed in one line instead of drawing rows of identical images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    x = dataset.observations(dataset.sample_factors(1, rng), rng)
    lows, highs = posterior_ranges(np.asarray(means)) if means is not None else (None, None)
    grid, recon = traversal_grid(model, x.to(next(model.parameters()).device), likelihood, lows=lows, highs=highs)
    d, steps = grid.shape[:2]
    kl = np.asarray(kl_per_latent if kl_per_latent is not None else np.ones(d), dtype=float)
    order = [i for i in np.argsort(-kl, kind="stable") if kl[i] >= ACTIVE_KL] or [int(np.argmax(kl))]
    inactive = sorted(set(range(d)) - set(order))
    rows = len(order)
    fig, axes = plt.subplots(rows, steps + 2, figsize=(1.0 * (steps + 2) + 1.6, 1.0 * rows + 1.1), squeeze=False)
    src = x[0].permute(1, 2, 0).numpy()

    def show(ax, img):
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)

    for r, i in enumerate(order):
        show(axes[r, 0], src)
        show(axes[r, 1], recon)
        for j in range(steps):
            show(axes[r, j + 2], grid[i, j])
        label = f"z{i}  KL {kl[i]:.2f}"
        if lows is not None:
            label += f"\n[{lows[i]:.1f}, {highs[i]:.1f}]"
        if mi is not None and factor_names is not None:
            label += f"\n≈ {factor_names[int(np.argmax(np.asarray(mi)[i]))]}"
        axes[r, 0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
        for a in axes[r]:
            a.set_xticks([]), a.set_yticks([])
    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].set_title("recon.", fontsize=9)
    sweep = "its own range in the data (central 96 % of its mean codes)" if lows is not None else "[−2, 2]"
    axes[0, steps // 2 + 2].set_title(f"one latent swept over {sweep}, the others at μ(x)", fontsize=9)
    if title:
        fig.suptitle(f"Latent traversals — {title}", fontsize=10)
    if inactive:
        fig.text(0.5, 0.005, "inactive (KL < 0.1 nat, not drawn): " + ", ".join(f"z{i}" for i in inactive), ha="center", fontsize=9)
    fig.tight_layout(pad=0.3, rect=(0, 0.04 if inactive else 0, 1, 0.95 if title else 1))
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
    plt.close(fig)
    return Path(path)


@torch.no_grad()
def sample_grids(model, x: torch.Tensor, likelihood: str, n_prior: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Reconstructions of ``x`` from its mean codes μ(x), and ``n_prior`` decodes of z ~ N(0, I) drawn with
    ``seed`` (on the CPU, so the same seed draws the same z on every device): → (recon (B, H, W, C),
    prior (n_prior, H, W, C)), in [0, 1]."""
    from models.likelihoods import reconstruct

    model.eval()
    device = next(model.parameters()).device
    mu, _ = model.encode(x.to(device))  # (B, D)
    z = torch.randn(n_prior, mu.shape[1], generator=torch.Generator().manual_seed(seed)).to(device)  # (n_prior, D)
    to_img = lambda logits: reconstruct(logits.float(), likelihood).permute(0, 2, 3, 1).cpu().numpy()  # noqa: E731
    return to_img(model.decode(mu)), to_img(model.decode(z))


def save_samples(model, dataset, likelihood: str, path: str | Path, seed: int = 0, title: str = "",
                 n: int = 8) -> Path:
    """One figure: ``n`` inputs drawn with ``seed`` above their reconstructions (decoded mean codes), then
    2·``n`` samples from the prior N(0, I) — what the decoder makes of codes the encoder never produced
    (a model whose aggregate posterior leaves the prior shows blurs or blanks there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    x = dataset.observations(dataset.sample_factors(n, rng), rng)  # (n, C, H, W)
    recon, prior = sample_grids(model, x, likelihood, 2 * n, seed)
    rows = [("input", x.permute(0, 2, 3, 1).numpy()), ("recon.", recon), ("prior", prior[:n]), ("prior", prior[n:])]
    fig, axes = plt.subplots(len(rows), n, figsize=(0.95 * n + 0.8, 0.95 * len(rows) + 0.7), squeeze=False)
    for r, (name, imgs) in enumerate(rows):
        for j in range(n):
            img = imgs[j]
            axes[r, j].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            axes[r, j].set_xticks([]), axes[r, j].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
    fig.suptitle(("Reconstructions and prior samples — " + title) if title else "Reconstructions and prior samples",
                 fontsize=10)
    fig.text(0.5, 0.005, "rows 1–2: inputs and their reconstructions from μ(x); rows 3–4: decodes of z ~ N(0, I)",
             ha="center", fontsize=8)
    fig.tight_layout(pad=0.3, rect=(0, 0.04, 1, 0.93))
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
    plt.close(fig)
    return Path(path)
