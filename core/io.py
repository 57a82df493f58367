"""Atomic file writes (a temp file in the target folder, fsync, then ``os.replace``) and JSON reads
whose errors name the file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` then atomically move the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for everyone to read
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def remove_abandoned_temps(folder: str | os.PathLike, older_than_s: float = 60.0) -> list[Path]:
    """Delete the temp files :func:`atomic_write` left in ``folder`` and its sub-folders when its process
    was killed mid-write (``.NAME.*.tmp``, untouched for ``older_than_s`` seconds — a live write keeps
    touching its file); returns what was removed."""
    import time

    removed, cutoff = [], time.time() - older_than_s
    for path in [*Path(folder).glob(".*.tmp"), *Path(folder).glob("*/.*.tmp")]:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or ±inf float (numpy scalars included) replaced by None, numpy scalars and
    arrays made plain: JSON has no NaN, and a score that could not be computed is stored as null."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy scalar or array
        return json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_json(obj: Any, **kw) -> str:
    """Valid JSON for ``obj`` (non-finite numbers as null); keyword arguments go to ``json.dumps``."""
    return json.dumps(json_safe(obj), allow_nan=False, **kw)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, dumps_json(obj, indent=2, sort_keys=True) + "\n")


class CorruptFileError(ValueError):
    """A stored file exists but cannot be read as what it should be; the message names the file."""


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a malformed or unreadable one raises :class:`CorruptFileError` naming it
    (a missing one raises ``FileNotFoundError`` as usual)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path} is not UTF-8 text ({exc.reason}); restore it or delete it to start that step again") from None
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); restore it or delete it to start "
                               "that step again") from None
    except RecursionError:
        raise CorruptFileError(f"{path} nests JSON too deeply to be a file of this suite; restore it or delete it") from None
    except IsADirectoryError:
        raise CorruptFileError(f"{path} is a folder, not a JSON file; move it away") from None
