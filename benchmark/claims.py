"""Claims on cells: which process trains a cell now, and proof that it still does.

A claim (``claim.json``, created exclusively) names the host, the host's boot id, the pid and that
process's start time, and carries a heartbeat: while the cell runs, a thread refreshes the file's
modification time every :data:`HEARTBEAT_S` seconds. A claim is stale — and may be taken over — when

- on this host (same boot): its process is gone, or its pid now belongs to another process (start
  times differ: the pid was reused);
- on this host, another boot: the machine restarted since;
- from another host: its heartbeat stopped :data:`EXPIRE_AFTER_S` ago (the host died or was cut off);
- it is our own requeued Slurm array task's;
- it is empty or unreadable and older than a minute (a claimant killed while writing it).

A live process on this host always keeps its claim, however long its cell runs (a stopped process
included). Ctrl-C and SIGTERM end a cell through its ``finally``, which releases the claim
(:func:`terminate_as_interrupt`).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

HEARTBEAT_S = 60.0
EXPIRE_AFTER_S = 20 * 60.0  # twenty missed heartbeats: a stalled filesystem is not a dead host


def boot_id() -> str | None:
    """This boot of this machine (Linux), None where the kernel does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``); None if unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: fields resume after the last ')'
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return pid > 0


def job_id() -> str | None:
    """This process's Slurm array task (None outside Slurm)."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
    return f"{job}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}" if job else None


def claim_info() -> dict:
    """What a new claim records about the claiming process."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "boot": boot_id(), "pid": pid, "start": process_start(pid),
            "time": time.time(), "job": job_id()}


def stale_reason(info: dict, age: float, expire_after: float = EXPIRE_AFTER_S) -> str | None:
    """Why a claim with contents ``info`` whose heartbeat is ``age`` seconds old no longer holds (None: it holds)."""
    if not info:
        return "an empty claim" if age > 60 else None
    if info.get("job") is not None and info.get("job") == job_id():
        return "our own Slurm task, requeued"
    pid = info.get("pid")
    if info.get("host") == socket.gethostname():
        if info.get("boot") not in (None, boot_id()):
            return "this host has restarted since"
        if not isinstance(pid, int) or not pid_alive(pid):
            return f"its process {pid} is gone"
        if info.get("start") is not None and process_start(pid) not in (None, info["start"]):
            return f"pid {pid} now belongs to another process"
        return None
    if age > expire_after:
        return f"no heartbeat from {info.get('host')} for {age / 60:.0f} min"
    return None


_HELD: set[Path] = set()  # this process's claims with a beating heart


def release_held() -> None:
    """Remove every claim this process holds — for a process about to end abruptly (its runner died)."""
    for path in list(_HELD):
        path.unlink(missing_ok=True)
        _HELD.discard(path)


class Heartbeat:
    """Refreshes a claim's modification time every ``every`` seconds until stopped (a daemon thread)."""

    def __init__(self, path: Path, every: float = HEARTBEAT_S) -> None:
        self.path, self.every = Path(path), every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {self.path.parent.name}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                os.utime(self.path)
            except OSError:  # released, taken over, or the store went away: nothing left to keep alive
                return

    def __enter__(self) -> "Heartbeat":
        _HELD.add(self.path)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        _HELD.discard(self.path)
        self._stop.set()
        self._thread.join(timeout=5)


class Terminated(BaseException):
    """SIGTERM arrived (a scheduler, ``kill``): unwinds like Ctrl-C, so every ``finally`` runs. Not a
    KeyboardInterrupt: one of those passing through native code can make CPython end the process by SIGINT
    even after the command caught it."""


@contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (so ``finally`` releases claims), where SIGTERM
    still has its default action and this is the main thread; a handler someone else installed (Slurm's
    submitit, a test) is left in place."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum, frame):
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
