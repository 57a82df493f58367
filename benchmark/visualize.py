"""Per-run pictures that need the trained networks: latent traversals. Written into the run folder
at the end of a cell so that `results` can show them without loading models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write


@torch.no_grad()
def traversal_grid(model, x: torch.Tensor, likelihood: str, steps: int = 9, span: float = 2.0) -> np.ndarray:
    """Decode μ(x) with one latent swept over [−span, span] per row: → (D, steps, H, W, C) in [0, 1].
    Rows are ordered by the run's own latent index."""
    from models.likelihoods import reconstruct

    model.eval()
    mu, _ = model.encode(x[:1])  # (1, D)
    d = mu.shape[1]
    values = torch.linspace(-span, span, steps)
    z = mu.repeat(d * steps, 1)  # (D·steps, D)
    for i in range(d):
        z[i * steps : (i + 1) * steps, i] = values
    imgs = reconstruct(model.decode(z).float(), likelihood)  # (D·steps, C, H, W)
    return imgs.permute(0, 2, 3, 1).reshape(d, steps, *imgs.shape[2:], imgs.shape[1]).cpu().numpy()


ACTIVE_KL = 0.1  # nats: a latent below this mean KL carries (almost) nothing; folded into one line


def save_traversals(model, dataset, likelihood: str, path: str | Path, kl_per_latent=None, seed: int = 0,
                    mi=None, factor_names=None) -> Path:
    """Latent traversals of one input: a row per active latent, most informative (largest KL) first,
    labelled with its KL and the factor it shares most information with (``mi``: latent × factor);
    inactive latents are listed in one line instead of drawing rows of identical images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    x = dataset.observations(dataset.sample_factors(1, rng), rng)
    grid = traversal_grid(model, x.to(next(model.parameters()).device), likelihood)
    d, steps = grid.shape[:2]
    kl = np.asarray(kl_per_latent if kl_per_latent is not None else np.ones(d), dtype=float)
    order = [i for i in np.argsort(-kl, kind="stable") if kl[i] >= ACTIVE_KL] or [int(np.argmax(kl))]
    inactive = sorted(set(range(d)) - set(order))
    rows = len(order)
    fig, axes = plt.subplots(rows, steps + 1, figsize=(1.0 * (steps + 1) + 1.4, 1.0 * rows + 0.9), squeeze=False)
    src = x[0].permute(1, 2, 0).numpy()
    for r, i in enumerate(order):
        axes[r, 0].imshow(src[..., 0] if src.shape[-1] == 1 else src, cmap="gray", vmin=0, vmax=1)
        for j in range(steps):
            img = grid[i, j]
            axes[r, j + 1].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        label = f"z{i}  KL {kl[i]:.2f}"
        if mi is not None and factor_names is not None:
            label += f"\n≈ {factor_names[int(np.argmax(np.asarray(mi)[i]))]}"
        axes[r, 0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
        for a in axes[r]:
            a.set_xticks([]), a.set_yticks([])
    axes[0, 0].set_title("input", fontsize=9)
    axes[0, steps // 2 + 1].set_title("one latent swept over [−2, 2], the others at μ(x)", fontsize=9)
    if inactive:
        fig.text(0.5, 0.005, "inactive (KL < 0.1 nat, not drawn): " + ", ".join(f"z{i}" for i in inactive), ha="center", fontsize=9)
    fig.tight_layout(pad=0.3, rect=(0, 0.04 if inactive else 0, 1, 1))
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
    plt.close(fig)
    return Path(path)
