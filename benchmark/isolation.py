"""Run untrusted code (a submission, an external encoder) in a child process with a time limit.

The child runs confined (:func:`benchmark.sandbox.confine_child`: its own process group, killed with
everything it forked at the end; writes only in a temporary folder of its own). It reports each stage
it starts and, at the end, its result. Whatever the code does — raise, call ``sys.exit``, crash the
interpreter, sleep forever — the parent gets either the result or an :class:`IsolatedFailure` naming
the stage that was running and what happened.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


class IsolatedFailure(RuntimeError):
    """The isolated call did not return: ``stage`` was running when it failed for ``reason``."""

    def __init__(self, stage: str, reason: str, partial: Any = None) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason, self.partial = stage, reason, partial


def _child(conn, fn: Callable, args: tuple, workdir: str, parent_pid: int) -> None:
    from .sandbox import confine_child

    confine_child(Path(workdir), parent_pid)

    def started(stage: str, partial: Any = None) -> None:
        conn.send(("stage", (stage, partial)))

    try:
        result = fn(*args, started=started)
    except SystemExit as exc:
        conn.send(("error", f"the code called sys.exit({exc.code!r})"))
        return
    except BaseException as exc:  # report everything; the parent decides
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb and not isinstance(exc, ValueError) else ""
        conn.send(("error", f"{type(exc).__name__}: {exc}{where}"))
        return
    conn.send(("done", result))


def run_isolated(fn: Callable[..., Any], args: tuple, timeout: float, first_stage: str = "start",
                 on_stage: Callable[[str, Any], None] = lambda stage, partial: None) -> Any:
    """``fn(*args, started=callback)`` in a spawned child; its return value (picklable) or IsolatedFailure.

    ``fn`` must be importable (a module-level function) and call ``started(name, partial)`` as it enters
    each stage; ``partial`` (what it has so far) comes back with a failure, and ``on_stage(name, partial)``
    hears each stage in this process as it starts (progress).
    """
    from .sandbox import kill_group

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    workdir = tempfile.mkdtemp(prefix="benchmark-isolated-")
    proc = ctx.Process(target=_child, args=(child, fn, args, workdir, os.getpid()), daemon=True)
    proc.start()
    child.close()
    stage, partial, deadline = first_stage, None, time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise IsolatedFailure(stage, f"did not finish within {timeout:g} s (a hang?); the process was stopped", partial)
            if parent.poll(min(left, 0.5)):
                try:
                    kind, payload = parent.recv()
                except EOFError:
                    proc.join(5)
                    raise IsolatedFailure(stage, f"the process ended without a result (exit code {proc.exitcode})", partial) from None
                if kind == "stage":
                    stage, partial = payload
                    on_stage(stage, partial)
                elif kind == "error":
                    raise IsolatedFailure(stage, payload, partial)
                else:
                    return payload
            elif not proc.is_alive():
                raise IsolatedFailure(stage, f"the process ended without a result (exit code {proc.exitcode})", partial)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        kill_group(proc.pid)  # whatever the code forked dies with it
        parent.close()
        shutil.rmtree(workdir, ignore_errors=True)
