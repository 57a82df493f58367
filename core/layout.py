"""The run folder and the study folder: one owner for every file name the suite writes.

A study folder ``<store>/<study>/`` holds ``study.json`` and one folder per cell, named by the
cell's content hash. A run folder holds::

    config.json        the run's configuration (written first, before any training)
    checkpoint.pt      model, optimiser, step, config and every RNG state (atomic)
    train_log.jsonl    one JSON line per ``log_every`` steps
    snapshots/         step_0001200.pt … model states for budget-vs-metric curves
    codes.h5           mean / log-variance codes of ``eval_samples`` factor draws
    probe_codes.npz    mean codes and per-latent KL on the dataset's fixed probe points
    claim.json         who is running this cell now (exclusive create)
    weights.pt         the final model's parameters only (the model zoo; no optimiser)
    result.json        the record, written last and atomically: its presence means "done"
    eval_seeds.json    primary values re-scored under other metric seeds
    traversals.png     latent traversals of the final model
    samples.png        reconstructions and prior samples of the final model
    tensorboard/       TensorBoard event files (only with --tensorboard; rebuilt from the log)

Every module that reads or writes one of these files takes the name from here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

# Record and study.json schema; results.records upgrades/refuses other versions.
SCHEMA_VERSION = 1

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"
SNAPSHOTS = "snapshots"
CODES = "codes.h5"
PROBE_CODES = "probe_codes.npz"
CLAIM = "claim.json"
RESULT = "result.json"
WEIGHTS = "weights.pt"
EVAL_SEEDS = "eval_seeds.json"
TRAVERSALS = "traversals.png"
SAMPLES = "samples.png"
TENSORBOARD = "tensorboard"
STUDY = "study.json"

# Content-hash lengths (hex characters). Both are part of stored folder names and records, so they
# stay as first published: a run config hashes to 12 characters, a cell (config + evaluation), a
# study definition and a file digest to 16.
CONFIG_HASH_LEN = 12
CELL_HASH_LEN = 16
DIGEST_LEN = 16


def snapshot_path(run_dir: str | os.PathLike, step: int) -> Path:
    """Where the model state at ``step`` of a run with ``snapshot_steps`` is kept."""
    return Path(run_dir) / SNAPSHOTS / f"step_{step:07d}.pt"


def read_log(run_dir: str | os.PathLike) -> list[dict]:
    """The training log of a run folder as a list of dicts (empty when there is none yet).

    A torn last line (a crash mid-write) is dropped: every complete line before it is returned. The
    header line (what ran the run, :func:`read_log_header`) is not a step and is left out.
    """
    path = Path(run_dir) / LOG
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            break
        if isinstance(rec, dict) and "step" in rec:  # the header line (provenance) has no step
            out.append(rec)
    return out


def read_log_header(run_dir: str | os.PathLike) -> dict:
    """The log's first line when it is a header (``{"provenance": …}``), else {}."""
    path = Path(run_dir) / LOG
    try:
        with open(path, encoding="utf-8") as f:
            rec = json.loads(f.readline() or "{}")
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) and "step" not in rec else {}


_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def safe_component(name: str, what: str = "name") -> str:
    """``name`` if it is one harmless path component (letters, digits, ``_ . -``, not starting with a dot,
    at most 100 characters), else a one-line ValueError: names never reach outside the store."""
    if not isinstance(name, str) or not _COMPONENT.fullmatch(name):
        shown = name if len(str(name)) <= 60 else str(name)[:57] + "..."
        raise ValueError(f"{what} {shown!r} is not a plain name; use letters, digits, '_', '.' or '-' (at most 100, "
                         "not starting with '.')")
    return name
