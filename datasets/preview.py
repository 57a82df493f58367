"""Factor-sweep pictures: one row per factor, that factor sweeping its values, the others fixed."""

from __future__ import annotations

import numpy as np

from core.io import atomic_write

from .base import GroundTruthDataset


def factor_sweep(dataset: GroundTruthDataset, base: np.ndarray, columns: int = 10, seed: int = 0):
    """(K rows, columns) images: row k sweeps factor k evenly over its classes from ``base``.

    Returns images (K, columns, H, W, C) float32 and the class index shown in each cell (K, columns).
    """
    rng = np.random.default_rng(seed)
    rows, shown = [], []
    for k, size in enumerate(dataset.factor_sizes):
        classes = np.unique(np.round(np.linspace(0, size - 1, min(columns, size))).astype(np.int64))
        classes = np.pad(classes, (0, columns - len(classes)), constant_values=-1)
        f = np.repeat(base[None], columns, 0)
        f[:, k] = np.maximum(classes, 0)
        x = dataset.observations(f, rng).permute(0, 2, 3, 1).numpy()  # (columns, H, W, C)
        x[classes < 0] = 1.0  # blank cells when a factor has fewer classes than columns
        rows.append(x)
        shown.append(classes)
    return np.stack(rows), np.stack(shown)


def save_factor_sweep(dataset: GroundTruthDataset, out: str, columns: int = 10, seed: int = 0) -> str:
    """Write the factor-sweep picture to ``out`` (PNG), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = dataset.preview_base()
    images, shown = factor_sweep(dataset, base, columns, seed)
    k = len(dataset.factor_sizes)
    fig, axes = plt.subplots(k, columns, figsize=(1.1 * columns + 1.6, 1.15 * k + 0.6), squeeze=False)
    for r in range(k):
        for c in range(columns):
            ax = axes[r, c]
            img = images[r, c]
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if shown[r, c] >= 0:
                ax.set_title(dataset.factors[r].describe(int(shown[r, c])), fontsize=7)
        axes[r, 0].set_ylabel(dataset.factor_names[r], fontsize=9)
    fixed = ", ".join(f"{f.name} {f.describe(int(b))}" for f, b in zip(dataset.factors, base))
    fig.suptitle(f"{dataset.name}: each row sweeps one factor, the others fixed at\n{fixed}", fontsize=9)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return out
