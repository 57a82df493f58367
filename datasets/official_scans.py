"""Loaders for the official SmallNORB and Cars3D files: scanned objects, factor grids that need an
index (SmallNORB's instances) or an order (Cars3D's files). Same conventions as
:mod:`datasets.official`: nothing is downloaded, bad files fail with one line naming them."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .base import Factor, GroundTruthDataset
from .official import _exists, _expect, _fail

# ----- SmallNORB -------------------------------------------------------------------------------
SMALLNORB_SOURCE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
SMALLNORB_FACTORS = (("category", 5), ("elevation", 9), ("azimuth", 18), ("lighting", 6))
_NORB_MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32}
_NORB_PARTS = (
    "smallnorb-5x46789x9x18x6x2x96x96-training",
    "smallnorb-5x01235x9x18x6x2x96x96-testing",
)


def read_norb(path) -> np.ndarray:
    """Read a NORB binary matrix (``*.mat`` — magic-number header, not MATLAB)."""
    raw = Path(path).read_bytes()
    header = np.frombuffer(raw[:8], dtype="<i4")
    if len(header) < 2 or int(header[0]) not in _NORB_MAGIC:
        raise _fail(path, "a NORB binary matrix (magic 0x1E3D4C55 uint8 or 0x1E3D4C54 int32)", SMALLNORB_SOURCE)
    ndim = int(header[1])
    dims = np.frombuffer(raw[8 : 8 + 4 * max(3, ndim)], dtype="<i4")[:ndim]
    offset = 8 + 4 * max(3, ndim)
    dtype = np.dtype(_NORB_MAGIC[int(header[0])]).newbyteorder("<")
    data = np.frombuffer(raw, dtype=dtype, offset=offset)
    if data.size != int(np.prod(dims)):
        raise _fail(path, f"{int(np.prod(dims))} values after the header, found {data.size}", SMALLNORB_SOURCE)
    return data.reshape(tuple(int(d) for d in dims))


class SmallNORB(GroundTruthDataset):
    """SmallNORB as dlib uses it: factors category 5, elevation 9, azimuth 18, lighting 6; the
    instance (10 per category) is not a factor and is redrawn on every render; first camera only,
    96→64 with antialiased bilinear resizing (dlib: PIL ANTIALIAS, gone from current Pillow)."""

    name = "smallnorb"
    observation_shape = (1, 64, 64)
    stochastic = True

    def __init__(self, folder) -> None:
        self.factors = tuple(Factor(n, tuple(float(i) for i in range(s))) for n, s in SMALLNORB_FACTORS)
        folder = _exists(folder, SMALLNORB_SOURCE)
        images, features = [], []
        for part in _NORB_PARTS:
            files = {k: folder / f"{part}-{k}.mat" for k in ("dat", "cat", "info")}
            for f in files.values():
                _exists(f, SMALLNORB_SOURCE)
            dat, cat, info = (read_norb(files[k]) for k in ("dat", "cat", "info"))
            _expect(dat.ndim == 4 and dat.shape[1:] == (2, 96, 96) and dat.dtype == np.uint8,
                    files["dat"], "uint8 images (N, 2, 96, 96)", SMALLNORB_SOURCE)
            _expect(cat.shape == (len(dat),) and info.shape == (len(dat), 4),
                    files["info"], f"cat ({len(dat)},) and info ({len(dat)}, 4)", SMALLNORB_SOURCE)
            images.append(dat[:, 0])
            # info columns: instance, elevation, azimuth (0, 2, …, 34), lighting.
            features.append(np.stack([cat, info[:, 0], info[:, 1], info[:, 2] // 2, info[:, 3]], 1))
        x = torch.from_numpy(np.concatenate(images))[:, None].float() / 255
        self._images = F.interpolate(x, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
        feats = np.concatenate(features).astype(np.int64)
        index = self.factors_to_index(feats[:, [0, 2, 3, 4]])
        counts = np.bincount(index, minlength=len(self))
        _expect(counts.min() > 0, folder, f"train+test to cover all {len(self)} factor combinations", SMALLNORB_SOURCE)
        self._order = np.argsort(index, kind="stable")
        self._start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._count = counts

    def _render(self, factors, rng):
        index = self.factors_to_index(factors)
        pick = self._start[index] + rng.integers(self._count[index])  # random instance
        return self._images[torch.from_numpy(self._order[pick])]


# ----- Cars3D ----------------------------------------------------------------------------------
CARS3D_OBJECTS = 183
CARS3D_SOURCE = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (data/cars/*.mat)"


class Cars3D(GroundTruthDataset):
    """Cars3D as dlib uses it: elevation 4, azimuth 24, object 183; each ``cars/*.mat`` holds key
    ``im`` (128, 128, 3, 24, 4). Objects are numbered in **sorted** file order (dlib used the
    unsorted directory listing, a filesystem-dependent order). 128→64 by 2×2 area averaging."""

    name = "cars3d"
    observation_shape = (3, 64, 64)

    def __init__(self, folder) -> None:
        from scipy.io import loadmat

        self.factors = tuple(
            Factor(n, tuple(float(i) for i in range(s))) for n, s in (("elevation", 4), ("azimuth", 24), ("object", CARS3D_OBJECTS))
        )
        folder = _exists(folder, CARS3D_SOURCE)
        files = sorted(glob.glob(os.path.join(folder, "*.mat")))
        _expect(len(files) == CARS3D_OBJECTS, folder, f"{CARS3D_OBJECTS} car .mat files, found {len(files)}", CARS3D_SOURCE)
        per_object, integer = [], True
        for f in files:
            try:
                im = loadmat(f)["im"]
            except Exception:
                raise _fail(f, "a MATLAB file with key 'im'", CARS3D_SOURCE) from None
            _expect(im.shape == (128, 128, 3, 24, 4), f, "im of shape (128, 128, 3, 24, 4)", CARS3D_SOURCE)
            integer = integer and np.issubdtype(im.dtype, np.integer)
            x = torch.from_numpy(np.einsum("hwcae->eachw", im).astype(np.float32))  # (4, 24, 3, 128, 128)
            per_object.append(F.avg_pool2d(x.reshape(-1, 3, 128, 128), 2).reshape(4, 24, 3, 64, 64))
        images = torch.stack(per_object, 2)  # (elev, azi, object, 3, 64, 64)
        self._images = images.reshape(-1, 3, 64, 64) / (255.0 if integer else 1.0)

    def _render(self, factors, rng):
        return self._images[torch.from_numpy(self.factors_to_index(factors))]
