"""Shared probe codes: every scored run encodes the same fixed inputs, so runs can be compared with
each other without labels (agreement between seeds, UDR).

The probe set of a dataset is ``PROBE_POINTS`` factor vectors drawn from a generator seeded by the
dataset's name alone — the same points for every run of every study — or, for a dataset with no more
than ``PROBE_POINTS`` points (the tests' tiny one), every point once in the official order. A run stores, in
``probe_codes.npz``: the factor vectors (int32), the posterior means (float32, ≈ 0.4 MB for 10 latents)
and the mean per-latent KL to the prior over the probe points.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write
from core.layout import PROBE_CODES

PROBE_POINTS = 10_000
PROBE_SEED = 20_261_201  # fixed once: changing it changes every stored probe


def probe_factors(dataset) -> np.ndarray:
    """(N, K) factor vectors of the dataset's probe set (the same in every process); N = PROBE_POINTS,
    or the dataset's size when that is smaller (drawing 10,000 points from 384 would encode each ≈ 26 times)."""
    if len(dataset) <= PROBE_POINTS:
        return dataset.index_to_factors(np.arange(len(dataset)))
    return dataset.sample_factors(PROBE_POINTS, np.random.default_rng([PROBE_SEED, zlib.crc32(dataset.name.encode())]))


@torch.no_grad()
def probe_codes(model, dataset, device, batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Posterior means and mean per-latent KL of ``model`` on the dataset's probe set."""
    factors = probe_factors(dataset)
    render_rng = np.random.default_rng([PROBE_SEED, zlib.crc32(dataset.name.encode()), 1])  # stochastic datasets
    mus, kls = [], []
    for i in range(0, len(factors), batch_size):
        x = dataset.observations(factors[i:i + batch_size], render_rng).to(device)
        mu, logvar = model.encode(x)  # (b, D), (b, D)
        mu, logvar = mu.float().cpu(), logvar.float().cpu()
        mus.append(mu.numpy())
        kls.append((0.5 * (mu.double() ** 2 + logvar.double().exp() - logvar.double() - 1)).sum(0).numpy())
    return {"factors": factors.astype(np.int32), "mean": np.concatenate(mus).astype(np.float32),
            "kl_per_latent": (np.sum(kls, axis=0) / len(factors)).astype(np.float32)}


def write_probe(run_dir: str | Path, probe: dict[str, np.ndarray]) -> Path:
    path = Path(run_dir) / PROBE_CODES

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **probe)

    return atomic_write(path, write)
