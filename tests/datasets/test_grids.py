import math

import numpy as np
import pytest
import torch

from datasets import DATASETS, get_dataset
from datasets.dsprites import ORIENTATIONS, duplicate_sprites


def test_dsprites_exact_official_grid():
    ds = get_dataset("dsprites")
    assert ds.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert ds.factor_sizes == (3, 6, 40, 32, 32)
    assert len(ds) == 737_280
    v = ds.factor_values
    np.testing.assert_allclose(v[1], np.linspace(0.5, 1, 6))
    np.testing.assert_allclose(v[2], np.linspace(0, 2 * np.pi, 40))
    assert v[2][0] == 0 and v[2][-1] == pytest.approx(2 * np.pi)
    np.testing.assert_allclose(v[3], np.linspace(0, 1, 32))
    np.testing.assert_array_equal(ds.bases, [245760, 40960, 1024, 32, 1])


def test_shapes3d_exact_official_grid():
    ds = get_dataset("shapes3d")
    assert ds.factor_sizes == (10, 10, 10, 8, 4, 15)
    assert len(ds) == 480_000
    np.testing.assert_array_equal(ds.bases, [48000, 4800, 480, 60, 15, 1])
    np.testing.assert_allclose(ds.factor_values[0], np.arange(10) / 10)
    np.testing.assert_allclose(ds.factor_values[3], np.linspace(0.75, 1.25, 8))
    np.testing.assert_allclose(ds.factor_values[5], np.linspace(-30, 30, 15))


@pytest.mark.parametrize("name", DATASETS.names())
def test_index_round_trip(name):
    ds = get_dataset(name)
    idx = np.random.default_rng(0).integers(len(ds), size=5000)
    idx = np.concatenate([idx, [0, len(ds) - 1]])
    f = ds.index_to_factors(idx)
    np.testing.assert_array_equal(ds.factors_to_index(f), idx)
    np.testing.assert_array_equal(f[-1], np.asarray(ds.factor_sizes) - 1)


def test_official_index_order_posY_fastest():
    ds = get_dataset("dsprites")
    np.testing.assert_array_equal(ds.index_to_factors(np.array([1, 32, 1024])), [[0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 0]])


@pytest.mark.parametrize("name", DATASETS.names())
def test_sampling_is_deterministic_and_uniform_per_factor(name):
    ds = get_dataset(name)
    a = ds.sample_factors(2000, np.random.default_rng(7))
    b = ds.sample_factors(2000, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and (a.max(0) < np.asarray(ds.factor_sizes)).all()
    # one factor at a time in factor order (disentanglement_lib's call order)
    rng = np.random.default_rng(7)
    first = rng.integers(ds.factor_sizes[0], size=2000)
    np.testing.assert_array_equal(a[:, 0], first)


@pytest.mark.parametrize("name", DATASETS.names())
def test_observations_shape_dtype_range_and_determinism(name):
    ds = get_dataset(name)
    f = ds.sample_factors(16, np.random.default_rng(0))
    x = ds.observations(f, np.random.default_rng(1))
    assert x.shape == (16, *ds.observation_shape) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    y = ds.observations(f, np.random.default_rng(1))
    assert torch.equal(x, y)
    if ds.binary:
        assert set(torch.unique(x).tolist()) <= {0.0, 1.0}


def test_stochastic_variants_need_rng_and_redraw_noise():
    ds = get_dataset("noisy_dsprites")
    f = ds.sample_factors(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        ds.observations(f)
    rng = np.random.default_rng(0)
    assert not torch.equal(ds.observations(f, rng), ds.observations(f, rng))


def test_color_dsprites_colour_range():
    ds = get_dataset("color_dsprites")
    f = ds.sample_factors(64, np.random.default_rng(0))
    x = ds.observations(f, np.random.default_rng(0))
    on = x.amax(dim=(2, 3))  # (N, 3) per-image colour
    assert on.min() >= 0.5 and on.max() <= 1.0


def test_bad_factors_give_clear_errors():
    ds = get_dataset("dsprites")
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        ds.observations(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="'orientation' must be in"):
        ds.observations(np.array([[0, 0, 40, 0, 0]]))
    with pytest.raises(ValueError, match="integer"):
        ds.observations(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="Generator"):
        ds.sample_factors(3, np.random.RandomState(0))


def test_unknown_dataset_suggests():
    with pytest.raises(KeyError, match="Did you mean: dsprites"):
        get_dataset("dsprite")


def _rot_distance(a: float, b: float, period: float) -> float:
    d = abs(a - b) % period
    return min(d, period - d)


def test_dsprites_distinct_factors_distinct_images_except_documented_symmetries():
    """Sprites are translated by whole pixels, so (shape, scale, orientation) collisions are the only
    possible ones. Allowed: orientation 0 ≡ 39 (both ends of linspace(0, 2π)); squares (90°) and
    ellipses (180°) whose orientations are within two grid steps of each other modulo their symmetry
    (small rotated sprites rasterise identically without antialiasing). Hearts: only 0 ≡ 39."""
    ds = get_dataset("dsprites")
    step = 2 * math.pi / 39
    period = {0: math.pi / 2, 1: math.pi, 2: 2 * math.pi}
    pairs = duplicate_sprites(ds.sprites)
    for a, b in pairs:
        assert a[:2] == b[:2], (a, b)
        if {a[2], b[2]} == {0, 39}:
            continue
        assert a[0] in (0, 1), f"heart collision {a} {b}"
        assert _rot_distance(ORIENTATIONS[a[2]], ORIENTATIONS[b[2]], period[a[0]]) <= 2 * step + 1e-9
    # every (shape, scale) has the 0 ≡ 39 duplicate
    assert sum({a[2], b[2]} == {0, 39} for a, b in pairs) == 18
    # positions: translating a sprite changes the image
    f = np.array([[2, 5, 3, 0, 0], [2, 5, 3, 1, 0], [2, 5, 3, 0, 1]])
    x = ds.observations(f)
    assert not torch.equal(x[0], x[1]) and not torch.equal(x[0], x[2])


def test_shapes3d_every_factor_visibly_changes_the_image():
    ds = get_dataset("shapes3d")
    base = np.array([[2, 5, 8, 3, 1, 7]])
    x0 = ds.observations(base)
    for k, size in enumerate(ds.factor_sizes):
        for v in range(size):
            if v == base[0, k]:
                continue
            f = base.copy()
            f[0, k] = v
            diff = (ds.observations(f) - x0).abs().mean().item()
            assert diff > 2e-3, f"factor {ds.factor_names[k]} class {v} barely changes the image ({diff})"


def test_shapes3d_geometry_hits_all_surfaces():
    ds = get_dataset("shapes3d")
    surfaces = ds._surfaces  # (480, 3, 4096)
    assert (surfaces.sum(-1) > 0).all(), "every geometry must show floor, wall and object"
