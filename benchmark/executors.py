"""Executors: where ``run_cell`` calls run. None of them changes a cell's numbers.

- ``local``: joblib's loky process pool; workers × threads per cell ≤ cores (or GPUs × cells per GPU).
- ``slurm``: submitit ``map_array`` (one array task per cell, ``slurm_array_parallelism`` cap) with the
  resources of :class:`SlurmResources` (GPUs, CPUs, time, memory, any other sbatch option); requeued jobs
  resume from the cell's own checkpoint. ``--slurm-cluster debug|local`` runs the same path in-process or
  as local subprocesses (used by the tests).
- ``dask``: joblib's dask backend against a ``distributed`` scheduler address.

No executor chooses a device: every cell's device is chosen inside the process that trains it
(``benchmark.devices.choose_device``), from what that process sees.
"""

from __future__ import annotations

import os

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from joblib import Parallel, delayed

from .runner import exit_with_parent, run_cell

EXECUTORS = ("local", "slurm", "dask")
DEFAULT_TIME_MIN = 24 * 60


@dataclass(frozen=True)
class SlurmResources:
    """What each array task asks Slurm for. ``options`` are further sbatch options (account, qos,
    constraint, …) as (key, value) pairs, passed through verbatim."""

    gpus_per_task: int = 0
    cpus_per_task: int | None = None  # None: the cells' threads
    time_min: int = DEFAULT_TIME_MIN
    mem: str | None = None  # sbatch --mem syntax: 16G, 4000M
    partition: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.gpus_per_task < 0:
            raise ValueError(f"--gpus-per-task must be ≥ 0, got {self.gpus_per_task}")
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            raise ValueError(f"--cpus-per-task must be ≥ 1, got {self.cpus_per_task}")
        if self.time_min < 1:
            raise ValueError(f"--time must be a positive number of minutes, got {self.time_min}")
        if self.mem is not None and not (self.mem[:-1].isdigit() if self.mem[-1:].upper() in "KMGT" else self.mem.isdigit()):
            raise ValueError(f"--mem {self.mem!r} is not sbatch's syntax; use e.g. 16G or 4000M")

    def submitit_parameters(self, threads: int, jobs: int) -> dict:
        """The parameters given to ``submitit.AutoExecutor.update_parameters`` (what ``--dry-run`` prints)."""
        params = dict(timeout_min=self.time_min, cpus_per_task=self.cpus_per_task or threads,
                      slurm_array_parallelism=max(1, jobs))
        if self.gpus_per_task:
            # One task per array job, so GPUs per node = GPUs per task. (sbatch refuses --gpus-per-task without
            # -n/--ntasks, which submitit does not pass: found on the test cluster, tests/slurm.)
            params["gpus_per_node"] = self.gpus_per_task
        if self.mem:
            params["slurm_mem"] = self.mem
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.options:
            params["slurm_additional_parameters"] = dict(self.options)
        return params


def parse_slurm_options(items: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``["account=abc", "qos=high"]`` → (("account", "abc"), ("qos", "high")); one-line errors otherwise."""
    out = []
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or not key or not value:
            raise ValueError(f"--slurm-option {item!r} must look like KEY=VALUE (e.g. account=myproj, qos=normal)")
        if key in ("gpus_per_task", "cpus_per_task", "time", "mem", "partition", "array"):
            raise ValueError(f"--slurm-option {key}=… has its own flag (or is set by the runner); use --{key.replace('_', '-')}")
        out.append((key, value.strip()))
    return tuple(out)


def _calls(study_name, cells, store_root, require_gpu: bool = False, cells_per_gpu: int = 1):
    return [(study_name, c.to_dict(), str(store_root), None, require_gpu, cells_per_gpu) for c in cells]


def run_cell_in_worker(runner_pid: int, *args) -> dict:
    """``run_cell`` in a pool worker that ends itself when the runner (``runner_pid``) that started the
    pool dies — also when it died before this worker started."""
    exit_with_parent(parent=runner_pid)
    return run_cell(*args)


def run_local(study_name, cells, store_root, jobs: int, require_gpu: bool = False, cells_per_gpu: int = 1) -> Iterator[dict]:
    calls = _calls(study_name, cells, store_root, require_gpu, cells_per_gpu)
    if jobs <= 1:
        for args in calls:
            yield run_cell(*args)
        return
    par = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    runner = os.getpid()
    yield from par(delayed(run_cell_in_worker)(runner, *args) for args in calls)


def run_dask(study_name, cells, store_root, jobs: int, address: str, require_gpu: bool = False,
             cells_per_gpu: int = 1) -> Iterator[dict]:
    from dask.distributed import Client
    from joblib import parallel_config

    with Client(address) as client:  # noqa: F841  (registers the dask backend's client)
        with parallel_config(backend="dask"):
            results = Parallel(n_jobs=jobs)(delayed(run_cell)(*args)
                                            for args in _calls(study_name, cells, store_root, require_gpu, cells_per_gpu))
    yield from results


def run_slurm(study_name, cells, store_root, jobs: int, folder: str, cluster: str | None = None,
              resources: SlurmResources = SlurmResources(), cells_per_gpu: int = 1) -> Iterator[dict]:
    import submitit

    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    threads = max(c.threads for c in cells) if cells else 1
    params = resources.submitit_parameters(threads, jobs)
    if cluster not in (None, "slurm"):
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    executor.update_parameters(**params)
    calls = _calls(study_name, cells, store_root, resources.gpus_per_task > 0, cells_per_gpu)
    args = list(zip(*calls)) or [(), (), (), (), (), ()]
    jobs_ = executor.map_array(CellJob(), *args)
    for job in jobs_:
        yield job.result()


class CellJob:
    """A submitit-checkpointable wrapper: on preemption/timeout the job is requeued with the same
    arguments, and ``run_cell`` resumes training from the cell's own checkpoint."""

    def __call__(self, *args):
        return run_cell(*args)

    def checkpoint(self, *args):
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args)


def get_executor(name: str) -> Callable:
    if name not in EXECUTORS:
        from core.registry import Registry

        r = Registry("executor")
        for e in EXECUTORS:
            r.register(e, e)
        r.get(name)
    return {"local": run_local, "slurm": run_slurm, "dask": run_dask}[name]
