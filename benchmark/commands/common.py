"""Arguments and checks shared by the command modules."""

from __future__ import annotations

import errno
from pathlib import Path


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
        return f"no space left on the device{where} — free space or use another --store; nothing stored was changed"
    if exc.errno == errno.ENOENT:
        return f"no such file or folder{where} — check the path"
    if exc.errno == errno.ENOTDIR:
        return f"a path component is a file, not a folder{where} — pick another path"
    return f"{exc.strerror or exc}{where}"
