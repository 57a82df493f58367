"""dSprites rendered procedurally on the exact official factor grid (Matthey et al. 2017).

Grid (deepmind/dsprites-dataset): shape {square, ellipse, heart} × scale linspace(0.5, 1, 6) ×
orientation linspace(0, 2π, 40) (both ends present, so orientation indices 0 and 39 render the same
image, as in the official file) × posX, posY linspace(0, 1, 32): 737,280 binary 64×64 images whose
flat index is the official C-order index (posY fastest), so indices and factor classes are
interchangeable with ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (minus its constant colour).

The official generator (LÖVE vector drawing) is not public, so the shapes are ours: pixel centres
inside the shape are on, no antialiasing. Position class i maps the sprite centre to pixel 16 + i
(1-pixel steps, the smallest step that keeps every image distinct, matching the official README's
design rule), posY growing downwards. Because positions are whole-pixel translations, we rasterise the
3·6·40 = 720 (shape, scale, orientation) sprites once into a 32×32 patch and an image is a window of a
precomputed strip: rendering is a memory gather (≈10⁵ images/s on 2 cores).

Symmetries (documented, geometrically exact or due to rasterisation): orientation 0 ≡ 39 for every
shape; other coincidences are reported by :func:`duplicate_sprites` and tested.

Protocol: ``docs/datasets.md``.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import torch

from .base import Factor, GroundTruthDataset

SHAPES = ("square", "ellipse", "heart")
SCALES = tuple(np.linspace(0.5, 1.0, 6).tolist())
ORIENTATIONS = tuple(np.linspace(0.0, 2 * math.pi, 40).tolist())
POSITIONS = tuple(np.linspace(0.0, 1.0, 32).tolist())

PATCH = 32  # sprite patch side in pixels; the sprite centre is the patch's central pixel corner
IMAGE = 64


def _inside(shape: str, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Point-in-shape test in sprite coordinates (pixels, y down, already un-rotated)."""
    if shape == "square":
        half = 10.0 * scale
        return (x.abs() <= half) & (y.abs() <= half)
    if shape == "ellipse":
        a, b = 13.0 * scale, 6.5 * scale
        return (x / a) ** 2 + (y / b) ** 2 <= 1.0
    if shape == "heart":
        # Classic heart curve (x² + y² − 1)³ − x² y³ ≤ 0, lobes up; spans ≈ 2.3 × 2.25 units.
        k = 9.5 * scale
        u, v = x / k, -(y / k) + 0.1
        return (u * u + v * v - 1.0) ** 3 - u * u * v**3 <= 0.0
    raise ValueError(f"unknown dSprites shape {shape!r}")


def render_sprites(shapes: tuple[str, ...] = SHAPES, scales=SCALES, orientations=ORIENTATIONS) -> torch.Tensor:
    """Rasterise every (shape, scale, orientation) sprite: → (S, Sc, O, PATCH, PATCH) uint8 {0, 1}."""
    c = torch.arange(PATCH, dtype=torch.float64) + 0.5 - PATCH / 2  # pixel centres rel. to sprite centre
    py, px = torch.meshgrid(c, c, indexing="ij")  # (P, P)
    scale = torch.tensor(scales, dtype=torch.float64)[:, None, None, None]  # (Sc, 1, 1, 1)
    theta = torch.tensor(orientations, dtype=torch.float64)[None, :, None, None]  # (1, O, 1, 1)
    # Rotate the sampling grid by −θ, i.e. the sprite by +θ (counter-clockwise on screen).
    cos, sin = torch.cos(theta), torch.sin(theta)
    xr = cos * px - sin * (-py)  # (1, O, P, P)
    yr = -(sin * px + cos * (-py))
    out = [_inside(s, xr, yr, scale) for s in shapes]  # each (Sc, O, P, P)
    return torch.stack(out).to(torch.uint8)


def duplicate_sprites(sprites: torch.Tensor) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Pairs of (shape, scale, orientation) indices whose rasterised sprites are identical."""
    flat = sprites.reshape(-1, PATCH * PATCH)
    grid = sprites.shape[:3]
    seen: dict[bytes, int] = {}
    pairs = []
    for i, row in enumerate(flat.numpy()):
        key = row.tobytes()
        if key in seen:
            pairs.append((np.unravel_index(seen[key], grid), np.unravel_index(i, grid)))
        else:
            seen[key] = i
    return [(tuple(map(int, a)), tuple(map(int, b))) for a, b in pairs]


class SpriteCanvas:
    """Turns sprite patches into 64×64 images by whole-pixel translation, as a gather.

    For every (sprite, x position) a tall strip of ``PATCH + IMAGE - 1`` rows holds the sprite at
    column offset x and row offset ``PATCH - 1``; the image for y position y is the 64-row window
    starting at row ``PATCH - 1 - y``. All windows are views of one uint8 tensor.
    """

    def __init__(self, sprites: torch.Tensor, num_x: int, num_y: int) -> None:
        n = sprites.shape[0]
        rows = PATCH - 1 + IMAGE
        strips = torch.zeros(n, num_x, rows, IMAGE, dtype=torch.uint8)  # (M, X, R, 64)
        for x in range(num_x):
            strips[:, x, PATCH - 1 : 2 * PATCH - 1, x : x + PATCH] = sprites
        self.num_x, self.num_y = num_x, num_y
        self._windows = strips.reshape(n * num_x, rows * IMAGE).unfold(1, IMAGE * IMAGE, IMAGE)

    def render(self, sprite: np.ndarray, x: np.ndarray, y: np.ndarray) -> torch.Tensor:
        """(N,) sprite ids, x and y classes → (N, 64, 64) uint8."""
        strip = torch.from_numpy(sprite * self.num_x + x)
        window = torch.from_numpy(PATCH - 1 - y)
        return self._windows[strip, window].view(-1, IMAGE, IMAGE)


class DSprites(GroundTruthDataset):
    """Procedural dSprites: 5 factors (the constant colour dropped, as in dlib's ``dsprites_full``)."""

    name = "dsprites"
    observation_shape = (1, IMAGE, IMAGE)
    binary = True

    def __init__(self, shapes=SHAPES, scales=SCALES, orientations=ORIENTATIONS, positions=POSITIONS) -> None:
        self._shapes = tuple(shapes)
        self._num_positions = len(positions)
        self.factors = (
            Factor("shape", tuple(float(SHAPES.index(s) + 1) for s in self._shapes), class_names=self._shapes),
            Factor("scale", tuple(scales), "× full size"),
            Factor("orientation", tuple(orientations), "rad"),
            Factor("posX", tuple(positions), "of the width"),
            Factor("posY", tuple(positions), "of the height"),
        )

    def preview_base(self) -> np.ndarray:
        """An upright heart at full size in the middle (the middle orientation class is upside down)."""
        base = {"shape": len(self._shapes) - 1, "scale": None, "orientation": 0}
        return np.array([f.size - 1 if f.name == "scale" else base.get(f.name, f.size // 2) for f in self.factors])

    @cached_property
    def sprites(self) -> torch.Tensor:
        """(shapes, scales, orientations, 32, 32) uint8 patches, rendered once."""
        return render_sprites(self._shapes, self.factors[1].values, self.factors[2].values)

    @cached_property
    def _canvas(self) -> SpriteCanvas:
        n_sprites = int(np.prod(self.sprites.shape[:3]))
        n = self._num_positions
        return SpriteCanvas(self.sprites.reshape(n_sprites, PATCH, PATCH), n, n)

    def binary_images(self, factors: np.ndarray) -> torch.Tensor:
        """(N, 5) factor classes → (N, 64, 64) uint8 {0, 1} sprites (no validation)."""
        _, n_scale, n_orient = self.sprites.shape[:3]
        sprite = (factors[:, 0] * n_scale + factors[:, 1]) * n_orient + factors[:, 2]
        return self._canvas.render(sprite, factors[:, 3], factors[:, 4])

    def _render(self, factors, rng):
        return self.binary_images(factors)[:, None].to(torch.float32)  # (N, 1, 64, 64)
