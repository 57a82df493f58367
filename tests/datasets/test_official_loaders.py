"""Official-file loaders on small fake files with the official keys, dtypes and row order.

The grids are shrunk (module constants monkeypatched) so the fakes stay small; the 3D Shapes and
dSprites hdf5 fakes keep the full official shapes (lazily filled HDF5 datasets cost no disk).
"""


import h5py
import numpy as np
import pytest
import torch
from scipy.io import savemat

import datasets.official as off
import datasets.official_scans as scans
from datasets import get_dataset


def _grid(sizes):
    return np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), -1).reshape(-1, len(sizes))


@pytest.fixture
def small_dsprites(monkeypatch):
    sizes = (1, 3, 2, 2, 4, 4)
    monkeypatch.setattr(off, "DSPRITES_SIZES", sizes)
    classes = _grid(sizes).astype(np.int64)
    imgs = np.zeros((len(classes), 64, 64), np.uint8)
    imgs[np.arange(len(classes)), classes[:, 4], classes[:, 5]] = 1  # encodes posX, posY
    return sizes, classes, imgs


def test_dsprites_npz(tmp_path, small_dsprites):
    sizes, classes, imgs = small_dsprites
    path = tmp_path / "dsprites.npz"
    meta = np.array({"latents_sizes": np.array(sizes), "date": "April 2017"}, dtype=object)
    np.savez(path, imgs=imgs, latents_classes=classes, latents_values=classes.astype(np.float64), metadata=meta)
    ds = get_dataset("dsprites_official", str(path))
    assert ds.factor_sizes == sizes[1:] and ds.binary
    f = np.array([[2, 1, 0, 3, 1]])
    x = ds.observations(f)
    assert x.shape == (1, 1, 64, 64) and x[0, 0, 3, 1] == 1 and x.sum() == 1


def test_dsprites_hdf5_full_shape(tmp_path):
    path = tmp_path / "dsprites.hdf5"
    n = 737280
    with h5py.File(path, "w") as f:
        f.create_dataset("imgs", shape=(n, 64, 64), dtype=np.uint8, chunks=(1, 64, 64))
        cl = f.create_dataset("latents/classes", shape=(n, 6), dtype=np.int64, chunks=(1024, 6))
        cl[n - 1] = [0, 2, 5, 39, 31, 31]
        f["imgs"][12345, 5, 6] = 1
    ds = get_dataset("dsprites_official", str(path))
    assert len(ds) == n
    x = ds.observations(ds.index_to_factors(np.array([12345, 0, 12345])))
    assert x[0, 0, 5, 6] == 1 and x[2, 0, 5, 6] == 1 and x[1].sum() == 0


def test_dsprites_wrong_keys_and_order(tmp_path, small_dsprites):
    sizes, classes, imgs = small_dsprites
    path = tmp_path / "bad.npz"
    np.savez(path, images=imgs)
    with pytest.raises(off.DatasetFileError, match=r"bad.npz: expected imgs uint8 .* get the official file from https://github.com/deepmind/dsprites"):
        get_dataset("dsprites_official", str(path))
    np.savez(path, imgs=imgs.astype(np.float32), latents_classes=classes)
    with pytest.raises(off.DatasetFileError, match="imgs uint8"):
        get_dataset("dsprites_official", str(path))
    np.savez(path, imgs=imgs, latents_classes=classes[::-1].copy())
    with pytest.raises(off.DatasetFileError, match="C order"):
        get_dataset("dsprites_official", str(path))
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    with pytest.raises(off.DatasetFileError, match="readable"):
        get_dataset("dsprites_official", str(tmp_path / "garbage.npz"))
    with pytest.raises(off.DatasetFileError, match="not found"):
        get_dataset("dsprites_official", str(tmp_path / "missing.npz"))


def test_shapes3d_h5_full_shape(tmp_path):
    path = tmp_path / "3dshapes.h5"
    with h5py.File(path, "w") as f:
        im = f.create_dataset("images", shape=(480000, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3))
        f.create_dataset("labels", shape=(480000, 6), dtype=np.float64, chunks=(1000, 6))
        im[479999] = 255
        im[15] = 51
    ds = get_dataset("shapes3d_official", str(path))
    assert ds.factor_sizes == (10, 10, 10, 8, 4, 15) and ds.observation_shape == (3, 64, 64)
    f = ds.index_to_factors(np.array([479999, 15, 0]))
    np.testing.assert_array_equal(f[1], [0, 0, 0, 0, 1, 0])  # orientation fastest
    x = ds.observations(f)
    assert torch.allclose(x[0], torch.ones(3, 64, 64)) and torch.allclose(x[1], torch.full((3, 64, 64), 0.2))


def test_shapes3d_h5_wrong_layout(tmp_path):
    path = tmp_path / "3dshapes.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", shape=(10, 64, 64, 3), dtype=np.uint8)
        f.create_dataset("labels", shape=(10, 6), dtype=np.float64)
    with pytest.raises(off.DatasetFileError, match=r"3dshapes.h5: expected datasets images uint8 \(480000, 64, 64, 3\)"):
        get_dataset("shapes3d_official", str(path))


def test_mpi3d_npz(tmp_path, monkeypatch):
    monkeypatch.setattr(off, "MPI3D_TAIL", (("size", 2), ("camera_height", 1), ("background", 1), ("dof1", 2), ("dof2", 2)))
    n = 4 * 4 * 2 * 2 * 2
    images = (np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 64, 64, 3), np.uint8))
    np.savez(tmp_path / "mpi3d_toy.npz", images=images)
    ds = get_dataset("mpi3d_toy", str(tmp_path / "mpi3d_toy.npz"))
    assert ds.factor_sizes == (4, 4, 2, 1, 1, 2, 2)
    x = ds.observations(np.array([[3, 2, 1, 0, 0, 1, 0]]))
    assert x[0, 0, 0, 0] == pytest.approx((((3 * 4 + 2) * 2 + 1) * 4 + 2) / 255)
    with pytest.raises(off.DatasetFileError, match="mpi3d_real"):
        get_dataset("mpi3d_real", str(tmp_path / "mpi3d_toy.npz"))


def _write_norb(path, array, magic):
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([magic, array.ndim] + dims, dtype="<i4")
    path.write_bytes(header.tobytes() + array.astype("<i4" if magic == 0x1E3D4C54 else np.uint8).tobytes())


def test_smallnorb_norb_binary(tmp_path, monkeypatch):
    monkeypatch.setattr(scans, "SMALLNORB_FACTORS", (("category", 2), ("elevation", 2), ("azimuth", 2), ("lighting", 2)))
    combos = _grid((2, 2, 2, 2))  # category, elevation, azimuth, lighting
    for part, instances in zip(scans._NORB_PARTS, ([0, 1], [2])):
        rows = [(c, i, e, 2 * a, l) for c, e, a, l in combos for i in instances]
        cat = np.array([r[0] for r in rows])
        info = np.array([r[1:] for r in rows])
        dat = np.zeros((len(rows), 2, 96, 96), np.uint8)
        dat[:, 0] = (10 * cat + info[:, 0])[:, None, None]  # pixel value encodes category and instance
        _write_norb(tmp_path / f"{part}-dat.mat", dat, 0x1E3D4C55)
        _write_norb(tmp_path / f"{part}-cat.mat", cat, 0x1E3D4C54)
        _write_norb(tmp_path / f"{part}-info.mat", info, 0x1E3D4C54)
    ds = get_dataset("smallnorb", str(tmp_path))
    assert ds.factor_sizes == (2, 2, 2, 2) and ds.stochastic
    x = ds.observations(np.array([[1, 0, 1, 1]] * 50), np.random.default_rng(0))
    vals = set(np.round(x[:, 0, 32, 32].numpy() * 255).astype(int).tolist())
    assert vals == {10, 11, 12}  # category 1, instances 0..2 redrawn per render
    (tmp_path / f"{scans._NORB_PARTS[0]}-cat.mat").write_bytes(b"\x00" * 32)
    with pytest.raises(off.DatasetFileError, match="NORB binary matrix"):
        get_dataset("smallnorb", str(tmp_path))


def test_cars3d_mat_files(tmp_path, monkeypatch):
    monkeypatch.setattr(scans, "CARS3D_OBJECTS", 3)
    for obj in range(3):
        im = np.zeros((128, 128, 3, 24, 4), np.uint8)
        for azi in range(24):
            for elev in range(4):
                im[:, :, 0, azi, elev] = azi
                im[:, :, 1, azi, elev] = elev
                im[:, :, 2, azi, elev] = obj
        savemat(tmp_path / f"car_{obj:03d}_mesh.mat", {"im": im})
    ds = get_dataset("cars3d", str(tmp_path))
    assert ds.factor_sizes == (4, 24, 3)
    x = ds.observations(np.array([[2, 17, 1]]))
    np.testing.assert_allclose(x[0, :, 10, 10].numpy() * 255, [17, 2, 1], atol=1e-4)
    (tmp_path / "car_003_mesh.mat").write_bytes(b"junk")
    with pytest.raises(off.DatasetFileError, match="3 car .mat files, found 4"):
        get_dataset("cars3d", str(tmp_path))


def test_official_loader_needs_path():
    with pytest.raises(ValueError, match="--data-path"):
        get_dataset("cars3d")
