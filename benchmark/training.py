"""One reproducible, resumable training run.

Determinism: the model is initialised from ``torch.manual_seed(seed)``; batches are drawn from a
``numpy.random.Generator`` seeded with (seed, 0) — factors, then rendering noise for stochastic
datasets — and reparameterisation noise from a dedicated torch CPU generator seeded with the seed.
Checkpoints hold the model, optimizer, step and every RNG state, written atomically, so a run killed
at any point and restarted ends with bitwise-identical parameters on CPU.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import models
from datasets import GroundTruthDataset, get_dataset
from models.likelihoods import LIKELIHOODS, likelihood_for

from .config import RunConfig
from .io import atomic_write, atomic_write_json, atomic_write_text, read_json

CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"
CODES = "codes.h5"
CONFIG = "config.json"
SNAPSHOTS = "snapshots"


def snapshot_path(out_dir: str | os.PathLike, step: int) -> Path:
    """Where the model state at ``step`` of a run with ``snapshot_steps`` is kept."""
    return Path(out_dir) / SNAPSHOTS / f"step_{step:07d}.pt"


class DivergenceError(RuntimeError):
    """A loss term became NaN/inf; the last good checkpoint is kept."""

    def __init__(self, step: int, term: str, value: float) -> None:
        super().__init__(f"training diverged at step {step}: {term} = {value} (last good checkpoint kept; lower the learning rate or use --precision fp32)")
        self.step, self.term = step, term


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    resumed_from: int
    seconds: float
    images_per_second: float
    final_terms: dict


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast_context(device: torch.device, precision: str):
    """bf16 autocast on the device's type, or nothing for fp32."""
    if precision == "fp32":
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
        _, cls = load_submission(config.submission)
        torch.manual_seed(config.seed)
        return ds, cls(ds.observation_shape[0], config.latent_dim, **hp), likelihood
    if config.model == "tcvae":
        hp.setdefault("dataset_size", len(ds))
    objective = models.make_objective(config.model, **hp)
    torch.manual_seed(config.seed)
    model = models.build_model(config.architecture, ds.observation_shape[0], config.latent_dim, objective)
    return ds, model, likelihood


def _finite_or_raise(terms: dict[str, torch.Tensor], step: int) -> None:
    loss = terms["loss"]
    if torch.isfinite(loss).item():
        return
    for name, value in terms.items():
        if name != "loss" and not torch.isfinite(value).all().item():
            raise DivergenceError(step, name, float(value.detach().float().sum()))
    raise DivergenceError(step, "loss", float(loss))


def _log_record(step: int, terms: dict[str, torch.Tensor], images_per_s: float) -> dict:
    rec: dict = {"step": step}
    for k, v in terms.items():
        v = v.detach().float()
        rec[k] = [round(float(x), 6) for x in v] if v.ndim else round(float(v), 6)
    rec["images_per_s"] = round(images_per_s, 1)
    return rec


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (they will be rewritten)."""
    if not path.exists():
        return
    lines = [l for l in path.read_text().splitlines() if l.strip()]
    keep = []
    for line in lines:
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError):
            break  # a torn last line from a crash
    atomic_write_text(path, "".join(l + "\n" for l in keep))


def read_log(out_dir: str | os.PathLike) -> list[dict]:
    path = Path(out_dir) / LOG
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def _save_checkpoint(path: Path, model, optimizers, step: int, config: RunConfig, data_rng, noise_gen) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizers[0].state_dict(),
        "extra_optimizers": [o.state_dict() for o in optimizers[1:]],
        "step": step,
        "config": config.to_dict(),
        "rng": {"data": data_rng.bit_generator.state, "noise": noise_gen.get_state(), "torch": torch.get_rng_state()},
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def _save_snapshot(path: Path, model) -> None:
    state = {"model": model.state_dict()}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint without unpickling arbitrary objects (``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def train(
    config: RunConfig,
    out_dir: str | os.PathLike,
    *,
    progress: bool = False,
    stop_after: int | None = None,
    threads: int | None = None,
    dataset: GroundTruthDataset | None = None,
) -> TrainResult:
    """Train (or resume) the run in ``out_dir``; ``stop_after`` stops early at that step (tests)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / CONFIG
    if cfg_path.exists():
        stored = RunConfig.from_dict(read_json(cfg_path))
        if stored != config:
            raise ValueError(f"{out} holds a different run ({stored.content_hash()} ≠ {config.content_hash()}); use another --out folder")
    else:
        atomic_write_json(cfg_path, config.to_dict())
    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(config.device)
    ds, model, likelihood = build(config, dataset)
    nll = LIKELIHOODS[likelihood]
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizers = model.configure_optimizers(config.lr, config.adam_betas, config.adam_eps)
    data_rng = np.random.default_rng([config.seed, 0])
    noise_gen = torch.Generator().manual_seed(config.seed)

    ckpt_path, log_path = out / CHECKPOINT, out / LOG
    start = 0
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        for opt, opt_state in zip(optimizers, [state["optimizer"], *state.get("extra_optimizers", [])]):
            opt.load_state_dict(opt_state)
        data_rng.bit_generator.state = state["rng"]["data"]
        noise_gen.set_state(state["rng"]["noise"])
        torch.set_rng_state(state["rng"]["torch"])
        start = int(state["step"])
    _truncate_log(log_path, start)

    end = config.steps if stop_after is None else min(config.steps, stop_after)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=config.steps, initial=start, desc=f"{config.model} seed {config.seed}", unit="step")
    model.train()
    if config.compile:
        model.forward = torch.compile(model.forward)
    check = lambda t: _finite_or_raise(t, step)  # noqa: E731  (reads the loop's current step)
    t_start = t_window = time.perf_counter()
    terms: dict = {}
    with open(log_path, "a", encoding="utf-8") as log:
        for step in range(start, end):
            factors = ds.sample_factors(config.batch_size, data_rng)
            x = ds.observations(factors, data_rng).to(device, non_blocking=True)  # (B, C, 64, 64)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            eps = torch.randn(config.batch_size, config.latent_dim, generator=noise_gen).to(device)  # (B, D)
            with autocast_context(device, config.precision):
                terms = model.training_step(x, eps, step, optimizers, nll, check)
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                now = time.perf_counter()
                n_steps = done % config.log_every or config.log_every
                log.write(json.dumps(_log_record(done, terms, n_steps * config.batch_size / (now - t_window))) + "\n")
                log.flush()
                t_window = now
            if done in config.snapshot_steps:  # before the checkpoint: a resumed run has every earlier snapshot
                _save_snapshot(snapshot_path(out, done), model)
            if done % config.checkpoint_every == 0 or done == config.steps:
                _save_checkpoint(ckpt_path, model, optimizers, done, config, data_rng, noise_gen)
            if bar:
                bar.update(1)
                if done % config.log_every == 0:
                    bar.set_postfix(loss=f"{terms['loss'].item():.1f}", kl=f"{terms['kl'].item():.2f}")
    if bar:
        bar.close()
    seconds = time.perf_counter() - t_start
    if end == config.steps and not (out / CODES).exists():
        write_codes(model, ds, config, out / CODES, device)
    final = {k: float(v.detach()) for k, v in terms.items() if v.ndim == 0}
    n = max(end - start, 0)
    return TrainResult(out, end, start, seconds, n * config.batch_size / seconds if seconds > 0 else math.nan, final)


@torch.no_grad()
def encode(model, x: torch.Tensor, device: torch.device, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances: (N, C, 64, 64) → (N, D), (N, D) float32 (fp32 encoder)."""
    model.eval()
    mus, lvs = [], []
    for i in range(0, len(x), batch_size):
        mu, lv = model.encode(x[i : i + batch_size].to(device))
        mus.append(mu.float().cpu())
        lvs.append(lv.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(lvs).numpy()


def write_codes(model, ds: GroundTruthDataset, config: RunConfig, path: Path, device: torch.device) -> None:
    """Encode ``eval_samples`` factor vectors (seeded by (seed, 1)) and store means, log-variances and
    factors in HDF5, atomically."""
    import h5py

    rng = np.random.default_rng([config.seed, 1])
    factors = ds.sample_factors(config.eval_samples, rng)
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


def load_trained_model(out_dir: str | os.PathLike, device: str = "cpu", step: int | None = None):
    """(config, model in eval mode) from a run folder's checkpoint, or from its snapshot at ``step``."""
    state = load_checkpoint(Path(out_dir) / CHECKPOINT)
    config = RunConfig.from_dict(state["config"])
    _, model, _ = build(config)
    if step is not None and step != state["step"]:
        state = load_checkpoint(snapshot_path(out_dir, step))
    model.load_state_dict(state["model"])
    model = model.to(device).eval()
    return config, model.to(memory_format=torch.channels_last) if config.channels_last else model
