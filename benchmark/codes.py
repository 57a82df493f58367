"""Encoding images to codes: batched inference and the ``codes.h5`` file of a finished run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write
from datasets import GroundTruthDataset

from .config import RunConfig


@torch.no_grad()
def encode(model, x: torch.Tensor, device: torch.device, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances: (N, C, 64, 64) → (N, D), (N, D) float32 (fp32 encoder)."""
    model.eval()
    mus, lvs = [], []
    for i in range(0, len(x), batch_size):
        mu, lv = model.encode(x[i : i + batch_size].to(device))  # (b, D), (b, D)
        mus.append(mu.float().cpu())
        lvs.append(lv.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(lvs).numpy()


def write_codes(model, ds: GroundTruthDataset, config: RunConfig, path: Path, device: torch.device) -> None:
    """Encode ``eval_samples`` factor vectors (seeded by (seed, 1)) and store means, log-variances and
    factors in HDF5, atomically."""
    import h5py

    rng = np.random.default_rng([config.seed, 1])
    factors = ds.sample_factors(config.eval_samples, rng)  # (N, K)
    mus, lvs = [], []
    for i in range(0, len(factors), 1024):
        mu, lv = encode(model, ds.observations(factors[i : i + 1024], rng), device)
        mus.append(mu)
        lvs.append(lv)

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("mean", data=np.concatenate(mus))
            f.create_dataset("logvar", data=np.concatenate(lvs))
            f.create_dataset("factors", data=factors)
            f.attrs["factor_names"] = list(ds.factor_names)
            f.attrs["factor_sizes"] = list(ds.factor_sizes)
            f.attrs["dataset"] = ds.name

    atomic_write(path, write)
