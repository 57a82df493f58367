"""One reproducible, resumable training run: the loop and its log.

Determinism: the model is initialised from ``torch.manual_seed(seed)``; batches are drawn from a
``numpy.random.Generator`` seeded with (seed, 0) — factors, then rendering noise for stochastic
datasets — and reparameterisation noise from a dedicated torch CPU generator seeded with the seed.
Checkpoints hold the model, optimizer, step and every RNG state, written atomically, so a run killed
at any point and restarted ends with bitwise-identical parameters on CPU.

Everything about the run is validated before anything is written: the config (its own checks), the
device, the output folder, and — on resume — that the checkpoint found there belongs to this config.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write_json, atomic_write_text, read_json, remove_abandoned_temps
from core.layout import CHECKPOINT, CODES, CONFIG, LOG, snapshot_path
from core.memory import retain_freed_memory
from datasets import GroundTruthDataset
from models.likelihoods import LIKELIHOODS

from .checkpoint import load_checkpoint, save_checkpoint, save_snapshot
from .codes import write_codes
from .config import RunConfig
from .devices import configure_numerics
from .factory import autocast_context, build, resolve_device
from .provenance import provenance


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
    model: torch.nn.Module | None = None  # the trained model, on the run's device (evaluation reuses it)


@dataclass(frozen=True)
class Trained:
    """What scoring needs from a trained cell, whether it trained here or in a submission's sandbox."""

    model: object  # a torch module, or a submission's model answering encode/decode from its sandbox
    updates_per_step: list
    images_per_second: float
    resumed_from: int


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
            rec = json.loads(line)
        except ValueError:
            break  # a torn last line from a crash
        if not isinstance(rec, dict):
            break
        if "step" not in rec or rec["step"] <= step:  # the provenance header stays
            keep.append(line)
    atomic_write_text(path, "".join(l + "\n" for l in keep))


def prepare_run_folder(config: RunConfig, out: Path) -> tuple[torch.device, dict | None]:
    """Check everything about a run before anything is written, then write ``config.json`` if absent.

    Refuses: an output path that is a file; a folder holding another run's ``config.json``; a checkpoint
    whose own config differs from ``config`` (it would otherwise be resumed under the wrong label); a
    device this machine does not have. Returns the resolved device and the checkpoint to resume (or None).
    """
    device = resolve_device(config.device)
    if config.precision == "tf32" and device.type != "cuda":
        raise ValueError("precision tf32 is a CUDA setting (TF32 tensor cores); use --precision fp32 on the CPU")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; pick a folder path")
    cfg_path, ckpt_path = out / CONFIG, out / CHECKPOINT
    if cfg_path.exists():
        try:
            stored = RunConfig.from_dict(read_json(cfg_path))
        except ValueError as exc:
            raise ValueError(f"{cfg_path} cannot be read as a run config ({str(exc).split(';')[0]}); restore it or use "
                             "another --out folder") from None
        if stored != config:
            raise ValueError(f"{out} holds a different run ({stored.content_hash()} ≠ {config.content_hash()}); use another --out folder")
    state = None
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        try:
            have = RunConfig.from_dict(state["config"]) if state.get("config") is not None else None
        except ValueError:
            have = None
        if have is None or have != config:
            got = have.content_hash() if have else "unreadable"
            raise ValueError(f"{ckpt_path} was trained under another config ({got} ≠ {config.content_hash()}); "
                             "use another --out folder or delete the checkpoint to start over")
    out.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temps(out)  # a checkpoint write killed half-way (SIGKILL) left its temp file behind
    if not cfg_path.exists():
        atomic_write_json(cfg_path, config.to_dict())
    return device, state


def _restore(state: dict, model, optimizers, data_rng: np.random.Generator, noise_gen: torch.Generator) -> int:
    """Load a checkpoint's parameters, optimiser and RNG states in place; returns its step."""
    model.load_state_dict(state["model"])
    for opt, opt_state in zip(optimizers, [state["optimizer"], *state.get("extra_optimizers", [])]):
        opt.load_state_dict(opt_state)
    data_rng.bit_generator.state = state["rng"]["data"]
    noise_gen.set_state(state["rng"]["noise"])
    torch.set_rng_state(state["rng"]["torch"])
    cuda_states = state["rng"].get("cuda")
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    return int(state["step"])


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
    device, state = prepare_run_folder(config, out)
    if threads:
        torch.set_num_threads(threads)
    retain_freed_memory()  # no page faults per step; numbers unchanged
    configure_numerics(device, config.precision)
    ds, model, likelihood = build(config, dataset)
    nll = LIKELIHOODS[likelihood]
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizers = model.configure_optimizers(config.lr, config.adam_betas, config.adam_eps)
    data_rng = np.random.default_rng([config.seed, 0])
    noise_gen = torch.Generator().manual_seed(config.seed)

    ckpt_path, log_path = out / CHECKPOINT, out / LOG
    start = 0 if state is None else _restore(state, model, optimizers, data_rng, noise_gen)
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
        # what ran the run, at every (re)start: a header line (read_log skips lines without a step)
        log.write(json.dumps({"provenance": provenance(device, config.precision), "from_step": start}) + "\n")
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
                save_snapshot(snapshot_path(out, done), model)
            if done % config.checkpoint_every == 0 or done == config.steps:
                save_checkpoint(ckpt_path, model, optimizers, done, config, data_rng, noise_gen)
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
    return TrainResult(out, end, start, seconds, n * config.batch_size / seconds if seconds > 0 else math.nan, final,
                       model)


