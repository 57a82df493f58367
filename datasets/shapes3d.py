"""3D Shapes rendered procedurally on the official factor grid (Burgess & Kim 2018).

Grid (deepmind/3d-shapes, label column order): floor hue (10), wall hue (10), object hue (10), each
0.0, 0.1, …, 0.9; scale (8, linspace(0.75, 1.25)); shape (4: cube, cylinder, sphere, capsule);
orientation (15, linspace(−30°, 30°)). 480,000 RGB 64×64 images; flat index in the official order
(orientation fastest, bases [48000, 4800, 480, 60, 15, 1]).

The official images come from the GQN MuJoCo room. Ours: a floor plane, a back wall and an object
standing at the origin, seen by a camera that orbits the object with the orientation angle, shaded
with a Lambertian key light plus ambient and a soft contact shadow. The three hues never change the
geometry, so the 8·4·15 = 480 geometries are ray-marched once (signed distance functions) into a
label map and a shading map; an image is then ``shade × colour[label]`` — a cheap gather.

Protocol: ``docs/datasets.md``.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import torch

from .base import Factor, GroundTruthDataset

HUES = tuple(np.round(np.linspace(0.0, 0.9, 10), 10).tolist())
SCALES = tuple(np.linspace(0.75, 1.25, 8).tolist())
SHAPES = ("cube", "cylinder", "sphere", "capsule")
ORIENTATIONS = tuple(np.linspace(-30.0, 30.0, 15).tolist())
IMAGE = 64

FLOOR, WALL, OBJECT = 0, 1, 2
_WALL_Z = 3.0
_BASE_SIZE = 0.8
_LIGHT = torch.tensor([-0.45, 0.8, -0.4], dtype=torch.float64)


def _sdf(shape: str, p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Signed distance to an object of size ``s`` standing on the floor; p (..., 3), s (..., 1)."""
    x, y, z = p.unbind(-1)
    s = s[..., 0]
    if shape == "sphere":
        return torch.sqrt(x * x + (y - s) ** 2 + z * z) - s
    if shape == "cube":
        h = 0.85 * s
        q = torch.stack([x.abs() - h, (y - h).abs() - h, z.abs() - h], -1)
        return q.clamp(min=0).norm(dim=-1) + q.max(-1).values.clamp(max=0)
    if shape == "cylinder":
        r, h = 0.9 * s, 0.9 * s
        dx, dy = torch.sqrt(x * x + z * z) - r, (y - h).abs() - h
        return torch.sqrt(dx.clamp(min=0) ** 2 + dy.clamp(min=0) ** 2) + torch.maximum(dx, dy).clamp(max=0)
    if shape == "capsule":
        r, top = 0.6 * s, 2.0 * s
        yc = y.clamp(min=r, max=top - r)
        return torch.sqrt(x * x + (y - yc) ** 2 + z * z) - r
    raise ValueError(f"unknown 3D Shapes shape {shape!r}")


def _camera_rays(orientations_deg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera origins (O, 3) and unit ray directions (O, 64·64, 3) orbiting with the orientation."""
    phi = torch.deg2rad(orientations_deg)
    dist, height, target = 4.0, 1.7, torch.tensor([0.0, 0.7, 0.0], dtype=torch.float64)
    origin = torch.stack([dist * torch.sin(phi), torch.full_like(phi, height), -dist * torch.cos(phi)], -1)
    fwd = target - origin
    fwd = fwd / fwd.norm(dim=-1, keepdim=True)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(fwd)
    right = torch.linalg.cross(up, fwd)
    right = right / right.norm(dim=-1, keepdim=True)
    cam_up = torch.linalg.cross(fwd, right)
    c = (torch.arange(IMAGE, dtype=torch.float64) + 0.5) / IMAGE * 2 - 1
    v, u = torch.meshgrid(-c, c, indexing="ij")  # (64, 64) screen coords, v up
    fov = math.tan(math.radians(25))
    d = fwd[:, None, None] + fov * (u[None, ..., None] * right[:, None, None] + v[None, ..., None] * cam_up[:, None, None])
    d = d.reshape(len(phi), IMAGE * IMAGE, 3)
    return origin, d / d.norm(dim=-1, keepdim=True)


def render_geometry(scales=SCALES, shapes=SHAPES, orientations=ORIENTATIONS, steps: int = 48):
    """Ray-march every (scale, shape, orientation): → labels (Sc, Sh, O, 64, 64) uint8 and
    shading (Sc, Sh, O, 64, 64) float32 in [0, 1]."""
    origin, dirs = _camera_rays(torch.tensor(orientations, dtype=torch.float64))  # (O, 3), (O, P, 3)
    n_sc, n_sh, n_o = len(scales), len(shapes), len(orientations)
    o = origin[None, :, None].expand(n_sc, n_o, IMAGE * IMAGE, 3)  # (Sc, O, P, 3)
    d = dirs[None].expand(n_sc, n_o, IMAGE * IMAGE, 3)
    size = (torch.tensor(scales, dtype=torch.float64) * _BASE_SIZE)[:, None, None, None]
    size = size.expand(n_sc, n_o, IMAGE * IMAGE, 1)
    light = _LIGHT / _LIGHT.norm()

    # Planes: floor y = 0 and back wall z = _WALL_Z.
    t_floor = torch.where(d[..., 1] < 0, -o[..., 1] / d[..., 1], torch.full_like(d[..., 1], math.inf))
    t_wall = torch.where(d[..., 2] > 0, (_WALL_Z - o[..., 2]) / d[..., 2], torch.full_like(d[..., 2], math.inf))
    t_plane = torch.minimum(t_floor, t_wall)
    plane_label = torch.where(t_floor < t_wall, FLOOR, WALL)

    labels, shades = [], []
    for shape in shapes:
        t = torch.zeros_like(t_plane)
        for _ in range(steps):
            t = t + _sdf(shape, o + t[..., None] * d, size).clamp(min=0)
        p = o + t[..., None] * d
        hit = (_sdf(shape, p, size) < 1e-3) & (t < t_plane)
        eps = 1e-4
        grad = torch.stack(
            [_sdf(shape, p + eps * e, size) - _sdf(shape, p - eps * e, size) for e in torch.eye(3, dtype=torch.float64)],
            -1,
        )
        normal = grad / grad.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        obj_shade = 0.3 + 0.7 * (normal @ light).clamp(min=0)
        # Planes: key light on the floor, a dimmer wall, and a soft shadow of the object toward −light.
        q = o + t_plane.clamp(max=50)[..., None] * d
        floor_lit = 0.45 + 0.55 * light[1]
        shadow_dist = _sdf(shape, q + 0.6 * light, size)
        shadow = 1 - 0.45 * torch.exp(-(shadow_dist.clamp(min=0) / (0.25 * size[..., 0])) ** 2)
        plane_shade = torch.where(plane_label == FLOOR, floor_lit * shadow, 0.8 - 0.15 * (q[..., 1] < 0.05))
        plane_shade = plane_shade * (1 - 0.25 * (q[..., 1].clamp(0, 3) / 3))  # wall darkens upwards
        labels.append(torch.where(hit, OBJECT, plane_label))
        shades.append(torch.where(hit, obj_shade, plane_shade))
    label = torch.stack(labels, 1).reshape(n_sc, n_sh, n_o, IMAGE, IMAGE).to(torch.uint8)
    shade = torch.stack(shades, 1).reshape(n_sc, n_sh, n_o, IMAGE, IMAGE).to(torch.float32)
    return label, shade.clamp(0, 1)


def hue_to_rgb(hue: torch.Tensor, saturation: float = 0.85, value: float = 1.0) -> torch.Tensor:
    """Vectorised HSV → RGB: (...,) hues in [0, 1) → (..., 3)."""
    k = (torch.tensor([5.0, 3.0, 1.0], dtype=hue.dtype) + hue[..., None] * 6) % 6
    return value - value * saturation * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


class Shapes3D(GroundTruthDataset):
    """Procedural 3D Shapes: RGB 64×64, six factors in the official label order."""

    name = "shapes3d"
    observation_shape = (3, IMAGE, IMAGE)
    factors = (
        Factor("floor_hue", HUES, "hue"),
        Factor("wall_hue", HUES, "hue"),
        Factor("object_hue", HUES, "hue"),
        Factor("scale", SCALES, "× base size"),
        Factor("shape", tuple(float(i) for i in range(len(SHAPES))), class_names=SHAPES),
        Factor("orientation", ORIENTATIONS, "°"),
    )

    def preview_base(self) -> np.ndarray:
        """Red floor, green wall, blue object (three different hues), middle scale, cube, facing the camera."""
        return np.array([0, 3, 6, 4, 0, 7])

    @cached_property
    def _surfaces(self) -> torch.Tensor:
        """(geometries, 3 surfaces, 64·64) float32: each surface's mask times its shading."""
        label, shade = render_geometry()
        n = label.shape[0] * label.shape[1] * label.shape[2]
        label, shade = label.reshape(n, 1, -1), shade.reshape(n, 1, -1)
        surfaces = torch.arange(3, dtype=torch.uint8)[None, :, None]
        return (label == surfaces).to(torch.float32) * shade

    @cached_property
    def _palette(self) -> torch.Tensor:
        return hue_to_rgb(torch.tensor(HUES, dtype=torch.float32))  # (10, 3)

    def _render(self, factors, rng):
        f = torch.from_numpy(factors)
        geom = (f[:, 3] * len(SHAPES) + f[:, 4]) * len(ORIENTATIONS) + f[:, 5]  # (N,)
        colours = self._palette[f[:, :3]].transpose(1, 2)  # (N, 3 rgb, 3 surfaces)
        img = torch.bmm(colours, self._surfaces[geom])  # (N, 3, 4096)
        return img.view(len(f), 3, IMAGE, IMAGE)
