"""Executors: where ``run_cell`` calls run. None of them changes a cell's numbers.

- ``local``: joblib's loky process pool; workers × threads per cell ≤ cores.
- ``slurm``: submitit ``map_array`` (one array task per cell, ``slurm_array_parallelism`` cap);
  requeued jobs resume from the cell's own checkpoint. ``--slurm-cluster debug|local`` runs the same
  path in-process or as local subprocesses (used by the tests).
- ``dask``: joblib's dask backend against a ``distributed`` scheduler address.

With CUDA present, cells are given one device each, round-robin over the visible GPUs (on Slurm,
each array task sees its own GPU as ``cuda:0`` when ``--gres`` is set per task).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from joblib import Parallel, delayed

from .runner import exit_with_parent, run_cell

EXECUTORS = ("local", "slurm", "dask")


def _devices(n: int) -> list[str | None]:
    """One CUDA device per cell, round-robin, when CUDA is present (None: the config's default)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i % count}" for i in range(n)] if count else [None] * n


def _calls(study_name, cells, store_root):
    return [(study_name, c.to_dict(), str(store_root), dev) for c, dev in zip(cells, _devices(len(cells)))]


def run_cell_in_worker(*args) -> dict:
    """``run_cell`` in a pool worker that ends itself when the runner that started the pool dies."""
    exit_with_parent()
    return run_cell(*args)


def run_local(study_name, cells, store_root, jobs: int) -> Iterator[dict]:
    if jobs <= 1:
        for args in _calls(study_name, cells, store_root):
            yield run_cell(*args)
        return
    par = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from par(delayed(run_cell_in_worker)(*args) for args in _calls(study_name, cells, store_root))


def run_dask(study_name, cells, store_root, jobs: int, address: str) -> Iterator[dict]:
    from dask.distributed import Client
    from joblib import parallel_config

    with Client(address) as client:  # noqa: F841  (registers the dask backend's client)
        with parallel_config(backend="dask"):
            results = Parallel(n_jobs=jobs)(delayed(run_cell)(*args) for args in _calls(study_name, cells, store_root))
    yield from results


def run_slurm(study_name, cells, store_root, jobs: int, folder: str, cluster: str | None = None,
              slurm_options: dict | None = None) -> Iterator[dict]:
    import submitit

    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    threads = max(c.threads for c in cells) if cells else 1
    params = dict(timeout_min=24 * 60, cpus_per_task=threads, slurm_array_parallelism=max(1, jobs))
    if cluster in (None, "slurm"):
        params.update(slurm_options or {})
    else:
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    executor.update_parameters(**params)
    args = list(zip(*_calls(study_name, cells, store_root))) or [(), (), (), ()]
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
