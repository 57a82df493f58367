"""From a :class:`RunConfig` to objects: the device, the precision context, the dataset and the model.

The model is initialised from ``torch.manual_seed(config.seed)`` right before it is built, so the same
config gives the same initial parameters whatever ran before in the process.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

import models
from datasets import GroundTruthDataset, get_dataset
from models.likelihoods import likelihood_for

from .config import RunConfig


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; anything else must name a device this torch can use."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this torch build sees no CUDA GPU; use --device cpu (or auto)")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s) visible")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device type {dev.type!r} is not supported; use auto, cpu or cuda")
    return dev


def autocast_context(device: torch.device, precision: str):
    """bf16 autocast on the device's type, or nothing for fp32 / tf32 (TF32 is a backend switch,
    :func:`benchmark.devices.configure_numerics`)."""
    if precision in ("fp32", "tf32"):
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def build(config: RunConfig, dataset: GroundTruthDataset | None = None):
    """(dataset, model, likelihood name) for a config; the model is initialised from the seed."""
    ds = dataset or get_dataset(config.dataset, config.data_path)
    hp = dict(config.hparams)
    likelihood = likelihood_for(ds.binary) if config.likelihood == "auto" else config.likelihood
    if config.submission is not None:
        from .submission import file_digest, load_submission

        if config.submission_digest and file_digest(config.submission) != config.submission_digest:
            raise ValueError(f"{config.submission} changed since this run started (digest mismatch); use a new --store or restore the file")
        cls = load_submission(config.submission)[1]
    else:
        cls = models.MODELS.get(config.model)
    if cls.dataset_size_field:  # e.g. β-TCVAE's N
        hp.setdefault(cls.dataset_size_field, len(ds))
    hparams = cls.make_config(config.model, **hp)
    torch.manual_seed(config.seed)
    return ds, cls.from_config(ds.observation_shape[0], config.latent_dim, hparams, config.architecture), likelihood
