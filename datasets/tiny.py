"""A tiny ground-truth dataset for fast tests and smoke studies.

A sub-grid of procedural dSprites: shape (3) × scale (2: 0.5, 1.0) × posX (8) × posY (8) at a fixed
orientation — 384 binary 64×64 images, four factors. Everything else (rendering, index order) is
dSprites', so the tiny dataset exercises the same code paths in a fraction of a second.

Protocol: ``docs/datasets.md``.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Factor
from .dsprites import DSprites

_POS = tuple(np.linspace(0.0, 1.0, 8).tolist())


class Tiny(DSprites):
    name = "tiny"

    def __init__(self) -> None:
        super().__init__(scales=(0.5, 1.0), orientations=(0.0,), positions=tuple(np.linspace(0, 1, 32).tolist()))
        self.factors = (
            self.factors[0],
            self.factors[1],
            Factor("posX", _POS, "of the width"),
            Factor("posY", _POS, "of the height"),
        )

    def binary_images(self, factors: np.ndarray) -> torch.Tensor:
        # Spread the 8 positions over dSprites' 32 pixel offsets (every 4th pixel).
        full = np.stack([factors[:, 0], factors[:, 1], np.zeros(len(factors), np.int64), 4 * factors[:, 2] + 2, 4 * factors[:, 3] + 2], 1)
        return super().binary_images(full)
