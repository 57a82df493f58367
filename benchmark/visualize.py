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


def save_traversals(model, dataset, likelihood: str, path: str | Path, kl_per_latent=None, seed: int = 0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    x = dataset.observations(dataset.sample_factors(1, rng), rng)
    grid = traversal_grid(model, x.to(next(model.parameters()).device), likelihood)
    d, steps = grid.shape[:2]
    fig, axes = plt.subplots(d, steps + 1, figsize=(0.9 * (steps + 1), 0.9 * d + 0.5), squeeze=False)
    for i in range(d):
        src = x[0].permute(1, 2, 0).numpy()
        axes[i, 0].imshow(src[..., 0] if src.shape[-1] == 1 else src, cmap="gray", vmin=0, vmax=1)
        for j in range(steps):
            img = grid[i, j]
            axes[i, j + 1].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        kl = f" KL {kl_per_latent[i]:.2f}" if kl_per_latent is not None else ""
        axes[i, 0].set_ylabel(f"z{i}{kl}", fontsize=6, rotation=0, ha="right", va="center")
        for a in axes[i]:
            a.set_xticks([]), a.set_yticks([])
    axes[0, 0].set_title("input", fontsize=7)
    axes[0, steps // 2 + 1].set_title("z_i swept over [−2, 2] (others at μ(x))", fontsize=7)
    fig.tight_layout(pad=0.2)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80, metadata={"Software": None}))
    plt.close(fig)
    return Path(path)
