"""Traversals sweep each latent over its own range in the data and show the input's reconstruction;
reconstructions decode μ(x), prior samples decode seeded N(0, I) draws."""

import numpy as np
import torch

from benchmark.visualize import posterior_ranges, sample_grids, traversal_grid


def test_posterior_ranges_are_each_latents_central_range_and_never_empty():
    rng = np.random.default_rng(0)
    means = np.stack([rng.uniform(-3, 3, 10_000), rng.normal(5, 0.1, 10_000), np.full(10_000, 0.2)], axis=1)
    lows, highs = posterior_ranges(means)
    assert np.allclose([lows[0], highs[0]], [-2.88, 2.88], atol=0.05)  # uniform: the central 96 %
    assert 4.7 < lows[1] < 4.85 and 5.15 < highs[1] < 5.3
    assert np.allclose([lows[2], highs[2]], [-0.3, 0.7])  # a latent that never moves still gets a visible sweep


class Identity(torch.nn.Module):
    """encode: x → (its first D pixels, 0); decode: z → an image whose first pixels are z (to read sweeps back)."""

    def __init__(self, d=3):
        super().__init__()
        self.d, self.w = d, torch.nn.Parameter(torch.zeros(1))

    def encode(self, x):
        mu = x.flatten(1)[:, : self.d]
        return mu, torch.zeros_like(mu)

    def decode(self, z):
        img = torch.zeros(len(z), 1, 64, 64)
        img.view(len(z), -1)[:, : self.d] = z
        return img


def test_the_grid_sweeps_each_latent_between_its_bounds_and_returns_the_reconstruction():
    x = torch.zeros(1, 1, 64, 64)
    x.view(-1)[:3] = torch.tensor([0.1, 0.2, 0.3])
    grid, recon = traversal_grid(Identity(), x, "gaussian", steps=5, lows=[0.0, -1.0, 0.5], highs=[1.0, 1.0, 0.5])
    assert grid.shape == (3, 5, 64, 64, 1) and recon.shape == (64, 64, 1)
    assert np.allclose(recon.reshape(-1)[:3], [0.1, 0.2, 0.3])
    assert np.allclose(grid[0, :, 0, 0, 0], np.linspace(0, 1, 5), atol=1e-6)  # latent 0 swept, others at μ(x)
    assert np.allclose(grid[0, :, 0, 1, 0], 0.2) and np.allclose(grid[1, :, 0, 1, 0], np.clip(np.linspace(-1, 1, 5), 0, 1))


def test_reconstructions_decode_the_mean_codes_and_prior_samples_are_seeded_standard_normal_draws():
    x = torch.zeros(4, 1, 64, 64)
    x.view(4, -1)[:, :3] = torch.rand(4, 3)
    recon, prior = sample_grids(Identity(), x, "gaussian", n_prior=6, seed=5)
    assert recon.shape == (4, 64, 64, 1) and prior.shape == (6, 64, 64, 1)
    assert np.allclose(recon.reshape(4, -1)[:, :3], x.view(4, -1)[:, :3].numpy())
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(5)).clamp(0, 1).numpy()
    assert np.allclose(prior.reshape(6, -1)[:, :3], z)  # gaussian likelihood: decoded z clamped to [0, 1]
    assert np.array_equal(sample_grids(Identity(), x, "gaussian", 6, seed=5)[1], prior)
    assert not np.array_equal(sample_grids(Identity(), x, "gaussian", 6, seed=6)[1], prior)
