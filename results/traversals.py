"""The published traversal figure: a run's stored traversal grid, titled with the run it shows."""

from __future__ import annotations

from pathlib import Path

from .plots import plt, save_figure


def traversal_figure(image: str | Path, path: str | Path, title: str) -> Path:
    """A run's stored traversal grid (``traversals.png``) with ``title`` above it, written to ``path``."""
    grid = plt.imread(str(image))
    h, w = grid.shape[:2]
    fig, ax = plt.subplots(figsize=(max(6.0, w / 110), h / 110 + 0.9))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, Path(path))
