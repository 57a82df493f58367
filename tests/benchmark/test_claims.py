"""Claims: a heartbeat instead of a fixed age, reused pids and restarts detected, released on SIGTERM/Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.claims import Heartbeat, boot_id, claim_info, process_start, stale_reason
from benchmark.store import RunStore
from benchmark.studies import get_study
from core.layout import CLAIM, RESULT

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600.0


def _write_claim(store: RunStore, info: dict, age: float = 0.0) -> Path:
    cell = get_study("smoke").cells[0]
    path = store.cell_dir("smoke", cell) / CLAIM
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_a_live_process_on_this_host_keeps_its_claim_however_long_it_runs():
    me = claim_info()
    assert stale_reason(me, age=7 * HOUR) is None  # a 7-hour CPU cell is not taken over
    assert me["start"] == process_start(os.getpid()) and me["boot"] == boot_id()


def test_a_reused_pid_a_dead_process_and_a_restart_release_the_claim():
    me = claim_info()
    assert "belongs to another process" in stale_reason({**me, "start": me["start"] + 1}, age=0)
    assert "is gone" in stale_reason({**me, "pid": 2**22 + 4321}, age=0)
    assert "restarted" in stale_reason({**me, "boot": "another-boot"}, age=0)


def test_another_hosts_claim_expires_only_when_its_heartbeat_stops():
    other = {"host": socket.gethostname() + "-elsewhere", "pid": 1, "start": 1, "time": 0.0, "job": None}
    assert stale_reason(other, age=60.0) is None
    assert "no heartbeat" in stale_reason(other, age=21 * 60.0)


def test_empty_claim_holds_a_minute_then_expires():
    assert stale_reason({}, age=5.0) is None
    assert stale_reason({}, age=120.0) == "an empty claim"


def test_store_takes_over_a_reused_pid_and_shows_a_silent_host_as_pending(tmp_path):
    store, cell = RunStore(tmp_path), get_study("smoke").cells[0]
    me = claim_info()
    _write_claim(store, {**me, "start": me["start"] + 1})
    assert store.claim("smoke", cell)  # the claim of a pid that now belongs to another process
    store.release("smoke", cell)
    _write_claim(store, {"host": "elsewhere", "pid": 1, "start": 1, "time": 0.0, "job": None}, age=30)
    assert dict((c.index, s) for c, s, _ in store.status(get_study("smoke")))[cell.index] == "running"
    assert not store.claim("smoke", cell)
    _write_claim(store, {"host": "elsewhere", "pid": 1, "start": 1, "time": 0.0, "job": None}, age=HOUR)
    assert dict((c.index, s) for c, s, _ in store.status(get_study("smoke")))[cell.index] == "pending"
    assert store.claim("smoke", cell)


def test_heartbeat_refreshes_the_claim_and_stops(tmp_path):
    path = tmp_path / CLAIM
    path.write_text("{}")
    os.utime(path, (0, 0))
    with Heartbeat(path, every=0.05):
        deadline = time.time() + 10
        while path.stat().st_mtime < time.time() - 60 and time.time() < deadline:
            time.sleep(0.02)
        assert path.stat().st_mtime > time.time() - 60
    os.utime(path, (0, 0))
    time.sleep(0.2)
    assert path.stat().st_mtime == 0  # stopped with the block


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_run_releases_its_claim(tmp_path, sig):
    """A real ``run`` (one worker, in process) signalled while it trains: the claim is gone after it exits,
    another runner may start at once, and nothing was recorded."""
    store = tmp_path / "store"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    # Ctrl-C as a terminal delivers it: a process started in the background by a non-interactive shell (`cmd &`,
    # as a CI script may run the tests) inherits SIGINT *ignored*, and would never see it
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--study", "smoke", "--jobs", "1", "--store", str(store)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    claims: list[Path] = []
    while not claims and time.time() < deadline and proc.poll() is None:
        claims = list((store / "smoke").glob(f"*/{CLAIM}")) if (store / "smoke").is_dir() else []
        time.sleep(0.05)
    assert claims, "no cell was claimed within 2 minutes"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    # SIGTERM: status 143. Ctrl-C: 130, or death by SIGINT (-2), CPython's own ending after a
    # KeyboardInterrupt that passed through native code — either way after every ``finally`` ran.
    assert proc.returncode in ((143,) if sig == signal.SIGTERM else (130, -2)), err[-800:]
    assert ("terminated" if sig == signal.SIGTERM else "interrupted") in err and "Traceback" not in err, err[-800:]
    assert not list((store / "smoke").glob(f"*/{CLAIM}")), "the claim outlived the run"
    assert not list((store / "smoke").glob(f"*/{RESULT}"))


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    """A live process that could run cells: zombies and the pools' idle resource trackers (joblib's and
    multiprocessing's; they hold no cell and do no work, but can outlive a SIGKILLed runner) do not count."""
    try:
        if "resource_tracker" in Path(f"/proc/{pid}/cmdline").read_text():
            return False
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("after", [0.0, pytest.param(0.5, marks=pytest.mark.slow), 2.0, pytest.param(6.0, marks=pytest.mark.slow)])
def test_no_worker_outlives_a_killed_runner(tmp_path, after):
    """`run --jobs 2` killed (SIGKILL: no handler runs) at several moments after its pool's first process
    appears — while the workers start and while cells train: within 20 s none of its processes runs."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "run", "--study", "smoke", "--jobs", "2",
                             "--store", str(tmp_path / "store")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.time() + 120
    while not seen and time.time() < deadline and proc.poll() is None:
        seen = _descendants(proc.pid)
        time.sleep(0.02)
    assert seen, "the runner started no worker within 2 minutes"
    deadline = time.time() + after
    while time.time() < deadline and proc.poll() is None:
        seen |= _descendants(proc.pid)
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    deadline = time.time() + 20
    while any(_running(p) for p in seen) and time.time() < deadline:
        time.sleep(0.2)
    left = [p for p in seen if _running(p)]
    for p in seen:  # the failures, and the idle resource trackers the test tolerates: leave nothing behind
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    assert not left, f"{len(left)} process(es) outlived the runner killed {after} s after its pool started"
