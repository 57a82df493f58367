"""The smoke study through ``--executor slurm`` on a real single-node Slurm cluster (``tests/slurm/cluster.py``):
real ``sbatch`` array jobs, one running task requeued with ``scontrol requeue`` and resumed from its
checkpoint, records equal to the local executor's; ``--gpus-per-task 1`` reaches the job, and a task that
asked for a GPU and sees none fails with one line. Run with ``tox -e slurm`` (installs nothing itself:
``.ci/run`` installs Debian's ``slurm-wlm`` and ``munge``)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

import pytest

from benchmark.executors import SlurmResources, run_local, run_slurm
from benchmark.store import RunStore
from benchmark.studies import get_study
from core.io import read_json
from core.layout import CHECKPOINT

from . import cluster

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = cluster.available()
    if why:
        pytest.skip(why)
    c = cluster.LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        c.start()
    except RuntimeError as exc:  # the host cannot run the daemons (not a failure of the suite): say so, loudly
        c.stop()
        pytest.skip(f"the test Slurm cluster did not start here: {str(exc)[:300]}")
    yield c
    c.stop()


def _cells(steps: int = 400):
    """The smoke cells, trained long enough to be caught running (checkpoint every 20 steps)."""
    return [replace(c, config=replace(c.config, steps=steps, log_every=20, checkpoint_every=20, snapshot_steps=(20, 40)))
            for c in get_study("smoke").cells]


def _untimed(obj):
    """``obj`` without wall-clock fields (``*_seconds``, ``*_s``, ``images_per_s``)."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if not (k.endswith("_seconds") or k.endswith("_s") or k == "seconds")}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _scores(rec: dict) -> dict:
    return _untimed({"metrics": rec["metrics"], "training": rec["training"], "probe": rec["probe"], "status": rec["status"]})


def test_smoke_cells_as_array_jobs_survive_a_requeue_and_equal_the_local_executor(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", slurm.env["SLURM_CONF"])
    cells = _cells()
    for _ in run_local("slurmtest", cells, tmp_path / "local", jobs=1):
        pass
    store = RunStore(tmp_path / "slurm")
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(
        run_slurm("slurmtest", cells, store.root, jobs=3, folder=str(tmp_path / "_slurm"), cluster="slurm")))
    worker.start()
    target = store.cell_dir("slurmtest", cells[0]) / CHECKPOINT
    requeued = None
    t0 = time.monotonic()
    while requeued is None and time.monotonic() - t0 < 240 and worker.is_alive():
        running = [l.split() for l in slurm.run("squeue", "-h", "-o", "%i %T").splitlines()]
        task = next((jid for jid, state in running if jid.endswith("_0") and state == "RUNNING"), None)
        if task and target.exists():
            slurm.run("scontrol", "requeue", task)
            requeued = task
        time.sleep(0.1)
    worker.join(600)
    assert requeued is not None, "cell 0's task was never caught running with a checkpoint"
    assert not worker.is_alive() and [r["state"] for r in results] == ["done"] * len(cells), results
    job = slurm.run("scontrol", "show", "job", requeued)
    assert re.search(r"Restarts=[1-9]", job), job  # Slurm really ran it twice
    for cell in cells:
        here = read_json(store.cell_dir("slurmtest", cell) / "result.json")
        there = read_json(RunStore(tmp_path / "local").cell_dir("slurmtest", cell) / "result.json")
        assert _scores(here) == _scores(there), cell.label
    first = read_json(store.cell_dir("slurmtest", cells[0]) / "result.json")
    assert first["timings"]["resumed_from"] > 0  # the requeued task resumed from its checkpoint


def test_gpus_per_task_reaches_the_job_and_no_visible_gpu_fails_in_one_line(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", slurm.env["SLURM_CONF"])
    cell = _cells(steps=40)[0]
    res = list(run_slurm("slurmtest", [cell], tmp_path, jobs=1, folder=str(tmp_path / "_slurm"), cluster="slurm",
                         resources=SlurmResources(gpus_per_task=1, time_min=30)))
    jobs = slurm.run("squeue", "-h", "-t", "all", "-o", "%i").split() or re.findall(r"JobId=(\d+)", slurm.run("scontrol", "show", "job"))
    shown = slurm.run("scontrol", "show", "job")
    assert "gres:gpu:1" in shown or "gres/gpu=1" in shown, shown  # the GPU request reached Slurm
    # this CPU build of torch sees no GPU in the task, so the cell refuses to train on the CPU
    assert res[0]["state"] == "failed" and "asked for a GPU" in res[0]["error"] and "\n" not in res[0]["error"]
    assert jobs
