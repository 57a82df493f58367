"""Checkpoints and snapshots of a run folder: written atomically, read without unpickling code.

A checkpoint is ``{model, optimizer, extra_optimizers, step, config, rng}``; a snapshot is ``{model}``.
Reading refuses a file that is empty, truncated or not a checkpoint with one line naming the file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from core.io import CorruptFileError, atomic_write
from core.layout import CHECKPOINT, snapshot_path

from .config import RunConfig
from .factory import build


LOW_SPACE_BYTES = 64 * 2**20  # below this, a failed write is taken for a full disk


def _torch_save(obj, tmp: str) -> None:
    """``torch.save``, with a failed write raised as an ``OSError`` the CLI explains: torch's zip writer reports
    a full disk as "[enforce fail at inline_container.cc] . unexpected pos …" or "file write failed"."""
    import errno
    import shutil

    try:
        torch.save(obj, tmp)
    except RuntimeError as exc:
        text = str(exc)
        if "unexpected pos" not in text and "write failed" not in text:
            raise
        try:
            full = shutil.disk_usage(os.path.dirname(tmp) or ".").free < LOW_SPACE_BYTES
        except OSError:
            full = False
        code = errno.ENOSPC if full else errno.EIO
        raise OSError(code, os.strerror(code), os.path.dirname(tmp)) from exc


def save_checkpoint(path: Path, model, optimizers, step: int, config: RunConfig, data_rng, noise_gen) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizers[0].state_dict(),
        "extra_optimizers": [o.state_dict() for o in optimizers[1:]],
        "step": step,
        "config": config.to_dict(),
        "rng": {"data": data_rng.bit_generator.state, "noise": noise_gen.get_state(), "torch": torch.get_rng_state()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # models that draw on the GPU (none built in)
        state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
    atomic_write(path, lambda tmp: _torch_save(state, tmp))


def save_snapshot(path: Path, model) -> None:
    atomic_write(path, lambda tmp: _torch_save({"model": model.state_dict()}, tmp))


def load_checkpoint(path: str | os.PathLike, fix: str | None = None) -> dict:
    """Load a checkpoint or snapshot without unpickling arbitrary objects (``weights_only=True``); ``fix`` is
    what the error tells the user to do (default: delete it to retrain).

    Raises:
        CorruptFileError: the file is empty, truncated, not a torch file, or holds no ``model``.
    """
    path = Path(path)
    fix = fix or "delete it to retrain from the last good state (or from scratch), or restore it from a backup"
    if path.is_dir():
        raise CorruptFileError(f"{path} is a folder, not a checkpoint; move it away")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path} is empty (a crash while writing it?); {fix}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            first = "it holds Python objects beyond tensors and plain data, which are never unpickled"
        raise CorruptFileError(f"{path} is not a readable checkpoint ({first[:120]}); {fix}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CorruptFileError(f"{path} is a torch file but not a checkpoint of this suite (no 'model' entry); {fix}")
    return state


def load_trained_model(out_dir: str | os.PathLike, device: str = "cpu", step: int | None = None):
    """(config, model in eval mode) from a run folder's checkpoint, or from its snapshot at ``step``."""
    state = load_checkpoint(Path(out_dir) / CHECKPOINT)
    config = RunConfig.from_dict(state["config"])
    _, model, _ = build(config)
    if step is not None and step != state["step"]:
        state = load_checkpoint(snapshot_path(out_dir, step))
    model.load_state_dict(state["model"])
    return config, prepare_for_inference(model, config, device)


def prepare_for_inference(model, config: RunConfig, device: str | torch.device):
    """The model on ``device`` in eval mode, in the memory format it was trained in."""
    model = model.to(device).eval()
    return model.to(memory_format=torch.channels_last) if config.channels_last else model
