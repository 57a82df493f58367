"""The run store: one folder per cell, ``<root>/<study>/<cell hash>/``, holding the config,
checkpoint, training log, codes and — written last and atomically — ``result.json``.

A cell is claimed with an exclusive-create ``claim.json`` (host, boot, pid and its start time, a
heartbeat; see :mod:`benchmark.claims`) so two runners never train it together; a stale claim is taken
over by an atomic rename, so exactly one runner wins it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from core.io import atomic_write_json, read_json
from core.layout import CHECKPOINT, CLAIM, RESULT, SCHEMA_VERSION, STUDY
from core.record_schema import record_field_problem

from .claims import EXPIRE_AFTER_S, Heartbeat, claim_info, stale_reason
from .studies import Cell, Study

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "results" / "store"


def code_version() -> str:
    """The git commit of the suite (``unknown`` outside a checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def default_root() -> Path:
    return Path(os.environ.get("BENCHMARK_STORE") or DEFAULT_ROOT)


def _foreign_schema(rec: dict, path: Path) -> str | None:
    version = rec.get("schema_version")
    if version == SCHEMA_VERSION:
        return None
    return (f"{path} was written with record schema {version!r}, which this code (schema {SCHEMA_VERSION}) cannot read; "
            "it is left as it is — update the suite to use or re-run it")


def _has_metrics(record: dict) -> bool:
    return isinstance(record.get("metrics"), dict) and bool(record["metrics"])


class RunStore:
    def __init__(self, root: str | os.PathLike | None = None, stale_after: float = EXPIRE_AFTER_S) -> None:
        self.root = Path(root) if root else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"the store {self.root} is a file, not a folder; give --store a folder (created if missing)")
        self.stale_after = stale_after

    def study_dir(self, study: str) -> Path:
        return self.root / study

    def cell_dir(self, study: str, cell: Cell) -> Path:
        return self.study_dir(study) / cell.content_hash()

    def prepare(self, study: Study) -> None:
        """Create the study folder or check it holds this very study definition (never overwrite).

        A definition that extends the stored one by appending cells (the stored cell hashes are its
        prefix) is accepted and recorded: a study may grow, never change what it already holds."""
        d = self.study_dir(study.name)
        meta = d / STUDY
        want = {"schema_version": SCHEMA_VERSION, "study": study.name, "definition": study.definition_hash(),
                "cells": [c.content_hash() for c in study.cells]}
        if meta.exists():
            have = read_json(meta)
            if have.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"{d} was written by store schema {have.get('schema_version')} (this code: {SCHEMA_VERSION}); "
                                 "use another --store or upgrade the suite")
            if have.get("definition") == want["definition"]:
                return
            stored = have.get("cells")
            if isinstance(stored, list) and 0 < len(stored) < len(want["cells"]) and want["cells"][:len(stored)] == stored:
                # The study grew by appending cells: every stored cell keeps its index and hash.
                atomic_write_json(meta, want)
                return
            raise ValueError(f"{d} holds a different definition of study {study.name!r}; nothing was overwritten — "
                             "use another --store (or BENCHMARK_STORE) for this version of the study")
        atomic_write_json(meta, want)

    # ----- records ----------------------------------------------------------------------------
    def read_record(self, study: str, cell: Cell) -> dict | None:
        """The cell's record, or None when there is none or it cannot be read (see :meth:`record_problem`)."""
        path = self.cell_dir(study, cell) / RESULT
        try:
            rec = read_json(path)
        except (OSError, ValueError):
            return None
        return rec if isinstance(rec, dict) else None

    def record_problem(self, study: str, cell: Cell) -> str | None:
        """Why the cell's existing ``result.json`` does not count as finished (None: absent or fine)."""
        path = self.cell_dir(study, cell) / RESULT
        if not path.exists():
            return None
        try:
            rec = read_json(path)
        except (OSError, ValueError) as exc:
            return f"{str(exc).split(';')[0]}; the next run of the study replaces it"
        if not isinstance(rec, dict):
            return f"{path} is not a record object; the next run of the study replaces it"
        if (foreign := _foreign_schema(rec, path)) is not None:
            return foreign
        if rec.get("status") == "complete" and not _has_metrics(rec):
            return f"{path} says complete but holds no metrics; the next run of the study replaces it"
        if rec.get("status") == "complete" and (problem := record_field_problem(rec)):
            return f"{path}: {problem}; the next run of the study replaces it"
        if rec.get("cell_hash") not in (None, cell.content_hash()):
            return f"{path} belongs to another cell ({rec.get('cell_hash')}); the next run of the study replaces it"
        return None

    def foreign_schema(self, study: str, cell: Cell) -> str | None:
        """Why the cell's record must be left alone: it was written with a record schema this code does not
        read (a newer suite, most likely). Such a cell is neither done nor re-run; None otherwise."""
        rec = self.read_record(study, cell)
        return None if rec is None else _foreign_schema(rec, self.cell_dir(study, cell) / RESULT)

    def write_record(self, study: str, cell: Cell, record: dict) -> Path:
        return atomic_write_json(self.cell_dir(study, cell) / RESULT, record)

    def is_complete(self, study: str, cell: Cell) -> bool:
        rec = self.read_record(study, cell)
        return bool(rec and rec.get("schema_version") == SCHEMA_VERSION and rec.get("status") == "complete"
                    and rec.get("cell_hash") == cell.content_hash() and not record_field_problem(rec))

    # ----- claims -----------------------------------------------------------------------------
    def claim(self, study: str, cell: Cell) -> bool:
        d = self.cell_dir(study, cell)
        d.mkdir(parents=True, exist_ok=True)
        path = d / CLAIM
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._take_over_if_stale(path):
                    return False
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(claim_info(), f)
            return True
        return False

    def _take_over_if_stale(self, path: Path) -> bool:
        try:
            info = read_json(path)
        except (OSError, ValueError):
            info = {}
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return True
        if stale_reason(info if isinstance(info, dict) else {}, age, self.stale_after) is None:
            return False
        grave = path.with_name(f"{CLAIM}.stale.{os.getpid()}.{time.time_ns()}")
        try:
            os.rename(path, grave)  # atomic: exactly one runner moves it
        except FileNotFoundError:
            return False
        grave.unlink(missing_ok=True)
        return True

    def heartbeat(self, study: str, cell: Cell) -> Heartbeat:
        """Keeps this process's claim on ``cell`` fresh while the ``with`` block runs."""
        return Heartbeat(self.cell_dir(study, cell) / CLAIM)

    def release(self, study: str, cell: Cell) -> None:
        (self.cell_dir(study, cell) / CLAIM).unlink(missing_ok=True)

    def status(self, study: Study) -> list[tuple[Cell, str, str]]:
        """(cell, state, detail) with state in done / running / failed / corrupt / newer-schema / pending."""
        out = []
        for cell in study.cells:
            d = self.cell_dir(study.name, cell)
            rec = self.read_record(study.name, cell)
            claim = d / CLAIM
            problem = self.record_problem(study.name, cell)
            if rec is not None and (foreign := _foreign_schema(rec, d / RESULT)):
                out.append((cell, "newer-schema", foreign))
            elif problem and not (claim.exists() and not self._looks_stale(claim)):
                out.append((cell, "corrupt", problem))
            elif self.is_complete(study.name, cell):
                out.append((cell, "done", ""))
            elif claim.exists() and not self._looks_stale(claim):
                out.append((cell, "running", ""))
            elif rec and rec.get("status") == "failed":
                out.append((cell, "failed", rec.get("error", "")))
            else:
                out.append((cell, "pending", "partial checkpoint" if (d / CHECKPOINT).exists() else ""))
        return out

    def _looks_stale(self, claim: Path) -> bool:
        try:
            info, age = read_json(claim), time.time() - claim.stat().st_mtime
        except (OSError, ValueError):
            return False
        return stale_reason(info if isinstance(info, dict) else {}, age, self.stale_after) is not None
