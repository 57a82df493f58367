"""Loaders for the official dSprites, 3D Shapes and MPI3D files, for users who have them
(SmallNORB and Cars3D: :mod:`datasets.official_scans`).

No file is downloaded: each loader checks the file's keys, shapes and dtypes and fails with one line
naming the file, what was expected and where to get it. Factor classes and the row order follow the
official files (``docs/datasets.md``), so a model trained on the procedural
rendering can be evaluated on the official images and vice versa.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import Factor, GroundTruthDataset
from .dsprites import DSprites
from .shapes3d import Shapes3D


class DatasetFileError(ValueError):
    """A dataset file is missing or does not have the official layout."""


def _fail(path, expected: str, source: str) -> DatasetFileError:
    return DatasetFileError(f"{path}: expected {expected}; get the official file from {source}")


def _expect(cond: bool, path, expected: str, source: str) -> None:
    if not cond:
        raise _fail(path, expected, source)


def _exists(path, source: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise _fail(path, "an existing file or folder (not found)", source)
    return path


def _sub_grid(factors, sizes) -> tuple[Factor, ...]:
    """The official factors, truncated to ``sizes`` (equal to the official sizes outside tests)."""
    return tuple(Factor(f.name, f.values[:n]) for f, n in zip(factors, sizes))


class ArrayDataset(GroundTruthDataset):
    """A full factorial grid stored as images in flat official order: (N, H, W[, C]) uint8."""

    def __init__(self, name, factors, images, scale: float, binary: bool = False) -> None:
        self.name, self.factors, self.binary = name, tuple(factors), binary
        self._images, self._scale = images, scale
        h, w = images.shape[1:3]
        self.observation_shape = (images.shape[3] if images.ndim == 4 else 1, h, w)

    def _rows(self, index: np.ndarray) -> np.ndarray:
        if isinstance(self._images, np.ndarray):
            return self._images[index]
        uniq, inverse = np.unique(index, return_inverse=True)  # h5py wants increasing indices
        return self._images[uniq][inverse]

    def _render(self, factors, rng):
        x = torch.from_numpy(np.ascontiguousarray(self._rows(self.factors_to_index(factors))))
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.to(torch.float32).mul_(self._scale)


# ----- dSprites --------------------------------------------------------------------------------
DSPRITES_SOURCE = "https://github.com/deepmind/dsprites-dataset (dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz/.hdf5)"
DSPRITES_SIZES = (1, 3, 6, 40, 32, 32)


def load_dsprites(path) -> ArrayDataset:
    """Official dSprites, ``.npz`` (keys imgs, latents_classes, metadata) or ``.hdf5`` (keys imgs,
    latents/classes — the hdf5 layout is DeepMind's as commonly read; not checked against a real copy)."""
    path = _exists(path, DSPRITES_SOURCE)
    n = int(np.prod(DSPRITES_SIZES))
    expected = f"imgs uint8 ({n}, 64, 64) and latents_classes int ({n}, 6) with sizes {list(DSPRITES_SIZES)}"
    try:
        if path.suffix == ".npz":
            data = np.load(path, encoding="latin1", allow_pickle=True)
            _expect({"imgs", "latents_classes"} <= set(data.files), path, expected, DSPRITES_SOURCE)
            imgs, classes = data["imgs"], data["latents_classes"]
            if "metadata" in data.files:
                sizes = tuple(int(s) for s in data["metadata"][()]["latents_sizes"])
                _expect(sizes == DSPRITES_SIZES, path, expected, DSPRITES_SOURCE)
        else:
            import h5py

            f = h5py.File(path, "r")
            _expect("imgs" in f and "latents/classes" in f, path, expected, DSPRITES_SOURCE)
            imgs, classes = f["imgs"], f["latents/classes"]
    except DatasetFileError:
        raise
    except Exception as exc:  # unreadable / not npz / not hdf5
        raise _fail(path, f"a readable .npz or .hdf5 file ({type(exc).__name__}: {exc})", DSPRITES_SOURCE) from None
    _expect(imgs.shape == (n, 64, 64) and imgs.dtype == np.uint8, path, expected, DSPRITES_SOURCE)
    _expect(classes.shape == (n, 6) and np.issubdtype(classes.dtype, np.integer), path, expected, DSPRITES_SOURCE)
    # Spot-check the row order: the last rows must be the top corner of the grid.
    last = np.asarray(classes[n - 1])
    _expect(tuple(last + 1) == DSPRITES_SIZES, path, expected + " in C order (posY fastest)", DSPRITES_SOURCE)
    return ArrayDataset("dsprites_official", _sub_grid(DSprites().factors, DSPRITES_SIZES[1:]), imgs, 1.0, binary=True)


# ----- 3D Shapes -------------------------------------------------------------------------------
SHAPES3D_SOURCE = "https://github.com/deepmind/3d-shapes (3dshapes.h5)"
SHAPES3D_SIZES = (10, 10, 10, 8, 4, 15)


def load_shapes3d(path, in_memory: bool = False) -> ArrayDataset:
    """Official ``3dshapes.h5``: images uint8 (480000, 64, 64, 3), labels float64 (480000, 6)."""
    import h5py

    path = _exists(path, SHAPES3D_SOURCE)
    n = int(np.prod(SHAPES3D_SIZES))
    expected = f"datasets images uint8 ({n}, 64, 64, 3) and labels float64 ({n}, 6)"
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise _fail(path, f"an HDF5 file ({exc})", SHAPES3D_SOURCE) from None
    _expect("images" in f and "labels" in f, path, expected, SHAPES3D_SOURCE)
    images, labels = f["images"], f["labels"]
    _expect(images.shape == (n, 64, 64, 3) and images.dtype == np.uint8, path, expected, SHAPES3D_SOURCE)
    _expect(labels.shape == (n, 6), path, expected, SHAPES3D_SOURCE)
    factors = _sub_grid(Shapes3D.factors, SHAPES3D_SIZES)
    return ArrayDataset("shapes3d_official", factors, images[()] if in_memory else images, scale=1 / 255)


# ----- MPI3D -----------------------------------------------------------------------------------
MPI3D_SOURCE = "https://github.com/rr-learning/disentanglement_dataset (mpi3d_*.npz)"
MPI3D_TAIL = (("size", 2), ("camera_height", 3), ("background", 3), ("dof1", 40), ("dof2", 40))


def load_mpi3d(path, variant: str = "toy") -> ArrayDataset:
    """MPI3D ``.npz`` with key ``images`` uint8 (N, 64, 64, 3); N = 460,800 for toy/realistic
    (colour 4, shape 4) and 1,036,800 for real (colour 6, shape 6)."""
    path = _exists(path, MPI3D_SOURCE)
    lead = 6 if variant == "real" else 4
    sizes = (("object_color", lead), ("object_shape", lead)) + MPI3D_TAIL
    n = int(np.prod([s for _, s in sizes]))
    expected = f"key images uint8 ({n}, 64, 64, 3) for mpi3d_{variant}"
    try:
        data = np.load(path)
        _expect("images" in data.files, path, expected, MPI3D_SOURCE)
        images = data["images"]
    except DatasetFileError:
        raise
    except Exception as exc:
        raise _fail(path, f"a readable .npz file ({type(exc).__name__})", MPI3D_SOURCE) from None
    images = images.reshape(-1, *images.shape[-3:]) if images.ndim > 4 else images
    _expect(images.shape == (n, 64, 64, 3) and images.dtype == np.uint8, path, expected, MPI3D_SOURCE)
    factors = [Factor(name, tuple(float(i) for i in range(size))) for name, size in sizes]
    return ArrayDataset(f"mpi3d_{variant}", factors, images, scale=1 / 255)
