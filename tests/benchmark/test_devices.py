"""Where cells run: Slurm resources as submitted, devices chosen inside the worker (simulated visible
GPUs), "GPU required" as a one-line failure, CUDA numerics switches and provenance in records."""

import multiprocessing as mp
import subprocess
import sys

import pytest
import torch

from benchmark import devices
from benchmark.executors import SlurmResources, parse_slurm_options, run_slurm
from benchmark.provenance import device_label, provenance
from benchmark.studies import get_study


class _FakeJob:
    def __init__(self, args):
        self.args = args

    def result(self):
        return {"index": -1, "state": "done", "args": self.args}


class _CapturingExecutor:
    instances: list = []

    def __init__(self, folder, cluster=None):
        self.params, self.calls = {}, []
        _CapturingExecutor.instances.append(self)

    def update_parameters(self, **kw):
        self.params.update(kw)

    def map_array(self, fn, *columns):
        self.calls = list(zip(*columns))
        return [_FakeJob(c) for c in self.calls]


def test_slurm_parameters_for_every_option_reach_submitit(monkeypatch, tmp_path):
    submitit = pytest.importorskip("submitit")
    monkeypatch.setattr(submitit, "AutoExecutor", _CapturingExecutor)
    res = SlurmResources(gpus_per_task=1, cpus_per_task=8, time_min=120, mem="32G", partition="gpu",
                         options=parse_slurm_options(["account=proj", "qos=high", "constraint=h100"]))
    cells = get_study("smoke").cells
    list(run_slurm("smoke", cells, tmp_path, jobs=5, folder=str(tmp_path / "s"), resources=res))
    ex = _CapturingExecutor.instances[-1]
    assert ex.params == {"timeout_min": 120, "cpus_per_task": 8, "slurm_array_parallelism": 5, "gpus_per_node": 1,
                         "slurm_mem": "32G", "slurm_partition": "gpu",
                         "slurm_additional_parameters": {"account": "proj", "qos": "high", "constraint": "h100"}}
    # no device is baked into the arguments: each task chooses its own, and must find a GPU
    assert [(c[3], c[4]) for c in ex.calls] == [(None, True)] * len(cells)
    plain = SlurmResources().submitit_parameters(threads=2, jobs=3)
    assert plain == {"timeout_min": 24 * 60, "cpus_per_task": 2, "slurm_array_parallelism": 3}


@pytest.mark.parametrize("bad,match", [(["account"], "KEY=VALUE"), (["mem=4G"], "its own flag"), (["=x"], "KEY=VALUE")])
def test_bad_slurm_options_are_one_line_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_slurm_options(bad)


@pytest.mark.parametrize("kw,match", [(dict(gpus_per_task=-1), "gpus-per-task"), (dict(time_min=0), "--time"),
                                      (dict(mem="lots"), "sbatch's syntax"), (dict(cpus_per_task=0), "cpus-per-task")])
def test_bad_resources_are_one_line_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        SlurmResources(**kw)


def test_dry_run_prints_the_gpu_request_and_submits_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "benchmark", "run", "--study", "smoke", "--executor", "slurm", "--gpus-per-task", "1",
                          "--time", "90", "--mem", "8G", "--slurm-option", "account=proj", "--dry-run", "--store", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if l.startswith("slurm parameters"))
    assert "gpus_per_node=1" in line and "timeout_min=90" in line and "slurm_mem=8G" in line and "'account': 'proj'" in line
    assert not any(tmp_path.iterdir())  # nothing written, nothing submitted


def _fake_gpus(monkeypatch, count):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: chosen.append(str(d)))
    return chosen


def test_slurm_task_takes_its_local_id_modulo_the_visible_gpus(monkeypatch):
    chosen = _fake_gpus(monkeypatch, 2)
    for local, want in [("0", "cuda:0"), ("1", "cuda:1"), ("3", "cuda:1")]:
        monkeypatch.setenv("SLURM_LOCALID", local)
        dev, slot = devices.choose_device("auto", require_gpu=True)
        assert str(dev) == want and slot.gpu_index == int(want[-1])
    assert chosen == ["cuda:0", "cuda:1", "cuda:1"]
    monkeypatch.setenv("SLURM_LOCALID", "5")
    _fake_gpus(monkeypatch, 1)  # an array task that sees one GPU always gets cuda:0
    assert str(devices.choose_device("auto")[0]) == "cuda:0"


def test_free_device_queue_spreads_cells_over_gpus_and_reuses_freed_slots(monkeypatch, tmp_path):
    monkeypatch.delenv("SLURM_LOCALID", raising=False)
    monkeypatch.setenv("BENCHMARK_GPU_SLOTS", str(tmp_path))
    _fake_gpus(monkeypatch, 3)
    held = [devices.choose_device("auto", cells_per_gpu=2) for _ in range(6)]
    assert [d.index for d, _ in held] == [0, 1, 2, 0, 1, 2]  # every GPU's first slot before any second one
    with pytest.raises(TimeoutError):
        devices.acquire_slot(3, 2, poll_s=0.01, timeout_s=0.05)
    held[1][1].release()  # cuda:1 finishes a cell: the next one goes there, not round-robin
    assert devices.choose_device("auto", cells_per_gpu=2)[0].index == 1


def _hold_slot(path, q, release):
    import os

    os.environ["BENCHMARK_GPU_SLOTS"] = path
    slot = devices.acquire_slot(2, 1, poll_s=0.01)
    q.put(slot.gpu_index)
    release.wait(30)
    slot.release()


def test_slots_are_shared_between_processes_like_pool_and_dask_workers(tmp_path, monkeypatch):
    ctx = mp.get_context("spawn")
    q, release = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_hold_slot, args=(str(tmp_path), q, release)) for _ in range(2)]
    for p in procs:
        p.start()
    got = sorted(q.get(timeout=60) for _ in procs)
    assert got == [0, 1]  # two worker processes, two GPUs: one each
    release.set()
    for p in procs:
        p.join(30)


def test_gpu_requested_but_none_visible_is_a_one_line_error(monkeypatch):
    _fake_gpus(monkeypatch, 0)
    with pytest.raises(devices.GPURequiredError) as exc:
        devices.choose_device("auto", require_gpu=True)
    assert "\n" not in str(exc.value) and "asked for a GPU" in str(exc.value) and "--gpus-per-task" in str(exc.value)
    with pytest.raises(devices.GPURequiredError):
        devices.choose_device("cpu", require_gpu=True)
    assert str(devices.choose_device("auto")[0]) == "cpu"  # no GPU asked for: the CPU, as before


def test_a_gpu_required_cell_fails_with_its_reason_and_writes_no_record(tmp_path, monkeypatch):
    from benchmark.runner import run_cell
    from benchmark.store import RunStore

    _fake_gpus(monkeypatch, 0)
    cell = get_study("smoke").cells[0]
    res = run_cell("smoke", cell.to_dict(), str(tmp_path), None, True)
    assert res["state"] == "failed" and "asked for a GPU" in res["error"]
    store = RunStore(tmp_path)
    assert store.read_record("smoke", cell) is None and not (store.cell_dir("smoke", cell) / "claim.json").exists()


def test_default_jobs_on_gpus_is_gpus_times_cells_per_gpu():
    from benchmark.runner import default_jobs

    import os

    cores = os.cpu_count()
    assert default_jobs(1) == cores
    assert default_jobs(1, gpus=1, cells_per_gpu=1) == 1
    assert default_jobs(1, gpus=4, cells_per_gpu=8) == min(cores, 32)


def test_numerics_switches_touch_nothing_on_the_cpu(monkeypatch):
    before = (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled())
    devices.configure_numerics(torch.device("cpu"), "fp32")
    assert (torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled()) == before


def test_tf32_is_a_cuda_precision(tmp_path):
    from benchmark.config import RunConfig
    from benchmark.training import train

    with pytest.raises(ValueError, match="tf32 is a CUDA setting"):
        train(RunConfig(dataset="tiny", precision="tf32", steps=2, device="cpu"), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_provenance_says_what_ran():
    p = provenance(torch.device("cpu"), "fp32", 2)
    assert p["device"] == "cpu" and p["precision"] == "fp32" and p["torch_threads"] == 2
    assert p["cpu"]["model"] and isinstance(p["cpu"]["isa"], list) and set(p["cpu"]["isa"]) <= set(devices_isa())
    assert device_label(p) == "cpu" and device_label(None) == "cpu"
    assert device_label({"device_type": "cuda", "gpu": "NVIDIA H200", "precision": "tf32"}) == "cuda (NVIDIA H200, tf32)"


def devices_isa():
    from benchmark.provenance import ISA_FLAGS

    return ISA_FLAGS


def test_every_new_record_carries_provenance_weights_and_a_log_header(smoke_store):
    from core.layout import WEIGHTS, read_log_header
    from core.io import read_json

    records = sorted(smoke_store.glob("smoke/*/result.json"))
    assert len(records) == 3
    for path in records:
        rec = read_json(path)
        prov = rec["provenance"]
        assert prov["device"] == "cpu" and prov["precision"] == "fp32" and prov["cpu"]["model"]
        assert rec["training_updates_per_step"] == ["vae"]
        assert (path.parent / WEIGHTS).stat().st_size > 0
        assert read_log_header(path.parent)["provenance"]["device"] == "cpu"


def test_external_encoder_device_follows_its_weights_or_the_flag():
    from benchmark.external import encoder_device

    enc = torch.nn.Linear(4, 2)
    assert encoder_device(enc) == torch.device("cpu")  # CPU weights, no GPU: the CPU
    assert encoder_device(lambda x: x, "cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        encoder_device(enc, "cuda")
