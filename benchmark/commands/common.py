"""Arguments and checks shared by the command modules."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path


def available_cores() -> int:
    """The cores this process may run on (its affinity mask: a Slurm or cgroup share, not the machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (``--jobs -3`` is refused, not taken as 'as many as possible')."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give an integer ≥ 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1; give an integer ≥ 1")
    return value


def int_at_most(limit: int, why: str):
    """argparse type: an integer from 1 to ``limit`` (``why`` says what the limit is for)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"{value} is above {limit:,} ({why}); give an integer from 1 to {limit:,}")
        return value
    return parse


def output_file(*suffixes: str):
    """argparse type: a path to write, ending in one of ``suffixes`` (the format written), not a folder."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"the path is empty; give a file name such as out{suffixes[0]}")
        if Path(text).is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name inside it, such as {Path(text) / ('out' + suffixes[0])}")
        if Path(text).suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text} does not end in {' or '.join(suffixes)}, the format written; "
                                             f"name it {Path(text).with_suffix(suffixes[0]).name}")
        return text
    return parse


def add_store_arg(p) -> None:
    p.add_argument("--store", default=None, help="run-store root (default: $BENCHMARK_STORE or results/store)")


def add_study_arg(p, help_text: str = "study name (see `python -m benchmark studies`)") -> None:
    p.add_argument("--study", default="quick", help=help_text)


def existing_study_dir(store, study: str) -> Path:
    """The study's folder in ``store``, or a one-line error saying how to create it."""
    d = store.study_dir(study)
    if not d.is_dir():
        raise ValueError(f"no runs of study {study!r} in {store.root}; run `python -m benchmark run --study {study}` first")
    return d


def os_error_line(exc: OSError) -> str:
    """One line for a failed read or write, with the fix for the usual causes."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write or read{where}: {exc.strerror} — use a writable --store (or BENCHMARK_STORE) or fix the permissions"
    if exc.errno == errno.ENOSPC:
        return (f"no space left on the device{where} — free space or use another --store, then rerun: every file "
                "already written is whole (writes are atomic) and an interrupted cell resumes from its last checkpoint")
    if exc.errno == errno.ENOENT:
        return f"no such file or folder{where} — check the path"
    if exc.errno == errno.ENAMETOOLONG:
        name = str(exc.filename or "")
        return (f"a path is too long for this system ({len(name):,} characters: …{name[-60:]}; the usual limits are 4,096 "
                "per path and 255 per folder name) — use a shorter --store or output path")
    if exc.errno == errno.ENOTDIR:
        return f"a path component is a file, not a folder{where} — pick another path"
    return f"{exc.strerror or exc}{where}"


def add_tracking_args(p) -> None:
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files into each run folder's tensorboard/ (needs the tensorboard "
                   "package; view with tensorboard --logdir <store>/<study>)")
    p.add_argument("--wandb", dest="wandb_project", default=None, metavar="PROJECT",
                   help="also log each run to Weights & Biases project PROJECT (needs wandb; WANDB_MODE=offline works "
                   "without an account)")


def tracking_from(args):
    """The trackers ``args`` ask for, their packages checked now (a one-line error before anything runs)."""
    from benchmark.tracking import Tracking

    if args.wandb_project is not None and not args.wandb_project.strip():
        raise ValueError("--wandb needs a project name (--wandb my-project); drop --wandb to log to no W&B project")
    tracking = Tracking(tensorboard=args.tensorboard, wandb_project=args.wandb_project)
    tracking.check()
    return tracking
