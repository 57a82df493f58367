"""dSprites variants as disentanglement_lib defines them (Locatello et al. 2019; ``docs/datasets.md``).

Same five factors and index order as dSprites; 3×64×64 float32 in [0, 1]. The randomness is redrawn
on every render (also inside the metrics), so one factor vector gives a different image per call;
both datasets are therefore ``stochastic`` and need an ``rng``.

- ``color_dsprites``: the sprite on 3 channels times a per-image colour ~ U(0.5, 1)³.
- ``noisy_dsprites``: ``min(sprite + U(0, 1)^{3×64×64}, 1)`` — a noise background, white sprite.
"""

from __future__ import annotations

import numpy as np
import torch

from .dsprites import DSprites


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A torch CPU generator seeded from (and advancing) a numpy Generator."""
    return torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))


class ColorDSprites(DSprites):
    name = "color_dsprites"
    observation_shape = (3, 64, 64)
    binary = False
    stochastic = True

    def _render(self, factors, rng):
        sprite = self.binary_images(factors)[:, None].to(torch.float32)  # (N, 1, 64, 64)
        colour = 0.5 + 0.5 * torch.rand(len(factors), 3, 1, 1, generator=torch_generator(rng))  # (N, 3, 1, 1)
        return sprite * colour


class NoisyDSprites(DSprites):
    name = "noisy_dsprites"
    observation_shape = (3, 64, 64)
    binary = False
    stochastic = True

    def _render(self, factors, rng):
        sprite = self.binary_images(factors)[:, None].to(torch.float32)  # (N, 1, 64, 64)
        noise = torch.rand(len(factors), 3, 64, 64, generator=torch_generator(rng))
        return (sprite + noise).clamp_(max=1.0)
