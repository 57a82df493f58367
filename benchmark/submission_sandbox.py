"""A submission cell, trained where it cannot reach the store and scored where it cannot reach the metrics.

The process that writes records never imports a submission. :class:`SandboxedSubmission` starts
:func:`benchmark.submission_child.serve` (a new interpreter in a new session) in its own folder (a fresh temporary folder, confined by
Landlock where the kernel has it) and talks to it over a pipe: the child trains there; the parent
copies the run files it allows back into the cell's folder (the checkpoint each time it changes, so a
killed cell resumes), then scores the model with its own, untouched metric code through
:class:`RemoteModel`, whose ``encode``/``decode`` are calls into the child (each under a time limit).
Around all of it, :class:`StoreGuard` keeps every complete record of the store byte for byte: one that
changed is put back and the submission's cell is refused. Closing kills the child's whole process group.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write
from core.layout import CHECKPOINT, CODES, CONFIG, LOG, RESULT, WEIGHTS

from .sandbox import kill_group
from .training import DivergenceError, Trained

CALL_TIMEOUT_S = 600.0  # one encode/decode batch, the metadata, starting up
_RUN_FILES = (CONFIG, LOG, CHECKPOINT, WEIGHTS)  # what comes back from the child's folder; nothing else


class SubmissionRefused(RuntimeError):
    """The submission failed or broke a rule; the message is one line naming what happened."""


class SandboxedSubmission:
    """The child process of one submission run (use as a context manager)."""

    def __init__(self, config, threads: int, resume_from: Path | None = None, deadline: float | None = None) -> None:
        self.config, self.threads, self.resume_from, self.deadline = config, threads, resume_from, deadline
        self.workdir: Path | None = None
        self.proc = self.conn = None
        self.confinement = "not started"
        self._copied: dict[str, tuple[int, int]] = {}

    def __enter__(self) -> "SandboxedSubmission":
        self.workdir = Path(tempfile.mkdtemp(prefix="benchmark-submission-"))
        if self.resume_from is not None:  # resume: the last checkpoint the parent copied back
            for name in (CONFIG, LOG, CHECKPOINT):
                if (self.resume_from / name).is_file():
                    shutil.copyfile(self.resume_from / name, self.workdir / name)
        # a fresh interpreter (not multiprocessing: inside a loky worker its spawn context is loky's), in a
        # new session, talking over a socket pair
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        args = json.dumps({"fd": theirs.fileno(), "config": self.config.to_dict(), "workdir": str(self.workdir),
                           "parent_pid": os.getpid(), "threads": self.threads})
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "benchmark.submission_child", args], pass_fds=[theirs.fileno()],
                                         start_new_session=True, env=env, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.conn = Connection(os.dup(ours.fileno()))
        ours.close()
        self.confinement = self._wait("starting up", CALL_TIMEOUT_S)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.conn.send(("quit", None))
                    self.proc.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        finally:
            if self.proc is not None:
                kill_group(self.proc.pid)  # the child and whatever it forked, even a process that outlived it
                self.proc.wait()
            if self.conn is not None:
                self.conn.close()
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def call(self, command: str, payload=None, timeout: float | None = CALL_TIMEOUT_S, while_waiting=None):
        try:
            self.conn.send((command, payload))
        except (OSError, BrokenPipeError):
            raise SubmissionRefused(f"the submission's process ended before {command} (exit code {self.proc.poll()})") from None
        return self._wait(command, timeout, while_waiting)

    def _wait(self, what: str, timeout: float | None, while_waiting=None):
        limit = time.monotonic() + timeout if timeout else None
        if self.deadline is not None:
            limit = min(limit or self.deadline, self.deadline)
        while not self.conn.poll(1.0):
            if while_waiting is not None:
                while_waiting()
            if self.proc.poll() is not None and not self.conn.poll(0):
                raise SubmissionRefused(f"the submission's process ended during {what} (exit code {self.proc.poll()})")
            if limit is not None and time.monotonic() > limit:
                raise SubmissionRefused(f"{what} did not finish within the time limit (a hang?); the submission was stopped")
        try:
            status, payload = self.conn.recv()
        except (EOFError, OSError):
            raise SubmissionRefused(f"the submission's process ended during {what} (exit code {self.proc.poll()})") from None
        if status == "diverged":
            raise _Diverged(payload)
        if status != "ok":
            raise SubmissionRefused(f"{what}: {payload}")
        return payload

    def bring_back(self, out: Path, names=_RUN_FILES) -> None:
        """Copy the run files the child wrote (regular files of the allowed names only) into ``out``."""
        for name in names:
            src = self.workdir / name
            try:
                st = src.lstat()
            except FileNotFoundError:
                continue
            if not src.is_file() or src.is_symlink() or self._copied.get(name) == (st.st_mtime_ns, st.st_size):
                continue
            data = src.read_bytes()
            atomic_write(out / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
            self._copied[name] = (st.st_mtime_ns, st.st_size)


class _Diverged(DivergenceError):
    def __init__(self, message: str) -> None:  # the child's DivergenceError, message kept
        RuntimeError.__init__(self, message)


class RemoteModel:
    """``encode``/``decode`` of the model in the child, for the parent's scoring code (tensors in, tensors
    out on the caller's device); no parameters of its own beyond a marker of the device."""

    def __init__(self, box: SandboxedSubmission, device: str) -> None:
        self.box, self._device = box, torch.device(device)

    def parameters(self):
        yield torch.empty(0, device=self._device)

    def eval(self):
        return self

    def to(self, *args, **kwargs):
        return self

    def encode(self, x: torch.Tensor):
        mu, logvar = self.box.call("encode", x.detach().float().cpu().numpy())
        if not (isinstance(mu, np.ndarray) and isinstance(logvar, np.ndarray)):
            raise SubmissionRefused("encode did not return two arrays")
        return torch.from_numpy(mu).to(x.device), torch.from_numpy(logvar).to(x.device)

    def decode(self, z: torch.Tensor):
        out = self.box.call("decode", z.detach().float().cpu().numpy())
        if not isinstance(out, np.ndarray):
            raise SubmissionRefused("decode did not return an array")
        return torch.from_numpy(out).to(z.device)


class StoreGuard:
    """The bytes of every complete record under ``root``; :meth:`restore` puts back any that changed."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.saved: dict[Path, bytes] = {}
        for path in self.root.glob(f"*/*/{RESULT}"):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if b'"status": "complete"' in data:
                self.saved[path] = data

    def restore(self) -> list[Path]:
        """Paths whose record changed or vanished since construction, each rewritten as it was."""
        changed = []
        for path, data in self.saved.items():
            try:
                same = path.read_bytes() == data
            except OSError:
                same = False
            if not same:
                changed.append(path)
                atomic_write(path, lambda tmp, data=data: Path(tmp).write_bytes(data))
        return changed


def _write_codes_from_outside(model: RemoteModel, config, out: Path) -> None:
    """The run's evaluation codes, encoded here through the child (the child's own copy is not trusted)."""
    from datasets import get_dataset

    from .codes import write_codes

    write_codes(model, get_dataset(config.dataset, config.data_path), config, out / CODES, model._device)


@contextmanager
def trained_submission(config, out: Path, threads: int, store_root: Path, record: dict, deadline: float | None = None):
    """Train a submission cell in its sandbox and yield a :class:`Trained` whose model scores through it;
    ``record`` gains the submission's metadata and how its writes were confined."""
    guard = StoreGuard(store_root)
    try:
        with SandboxedSubmission(config, threads, resume_from=out, deadline=deadline) as box:
            record["submission"] = box.call("metadata")
            record["submission_sandbox"] = box.confinement
            try:
                answer = box.call("train", timeout=None, while_waiting=lambda: box.bring_back(out, (CONFIG, LOG, CHECKPOINT)))
            finally:
                box.bring_back(out)
            model = RemoteModel(box, answer["device"])
            _write_codes_from_outside(model, config, out)
            yield Trained(model, answer["updates_per_step"], answer["images_per_second"], answer["resumed_from"])
    finally:
        changed = guard.restore()
        if changed:
            where = ", ".join(str(p.relative_to(guard.root)) for p in changed[:3])
            raise SubmissionRefused(f"the submission changed {len(changed)} other record(s) in the store ({where}); they were "
                                    "restored byte for byte and this submission is refused")
