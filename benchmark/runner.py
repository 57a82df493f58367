"""Run the cells of a study, resumably, on any executor: claim, train, score, write the record.

``run_cell`` is a top-level function of plain arguments so that every executor (process pool,
submitit/Slurm, Dask) can ship it; it fixes the torch thread count from the cell, so the numbers
never depend on where or how many cells ran side by side.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from core.layout import SCHEMA_VERSION, WEIGHTS, read_log

from .cell_filter import filter_cells
from .checkpoint import save_snapshot
from .claims import release_held, terminate_as_interrupt
from .devices import GPURequiredError, choose_device, prepare_cuda_environment
from .evaluation import score_trained
from .provenance import provenance
from .store import RunStore, code_version
from .studies import Cell, Study
from .training import DivergenceError, Trained, train


MINIBATCH_TERMS = ("total_correlation", "mutual_information", "dimension_wise_kl")


def _final_training_summary(out_dir: Path, probe_kl: list | None = None) -> dict:
    """The last logged losses (mean of the last three logs) and the per-latent KL — logged, or, for a
    model whose ``loss_terms`` does not return ``kl_per_latent`` (it is optional), the probe set's."""
    log = read_log(out_dir)
    if not log:
        return {}
    tail = log[-3:]
    summary = {"steps": log[-1]["step"]}
    for key in ("reconstruction", "kl", "loss", "total_correlation", "mutual_information", "dimension_wise_kl"):
        if key in log[-1]:
            summary[key] = float(np.mean([r[key] for r in tail]))
    kl = log[-1].get("kl_per_latent")
    if kl is None and probe_kl is not None:
        kl, summary["kl_per_latent_source"] = probe_kl, "probe set (the model logs no kl_per_latent)"
    if kl is not None:
        summary["kl_per_latent"] = kl
        summary["active_latents"] = int(sum(v > 0.1 for v in kl))
    minibatch = [k for k in MINIBATCH_TERMS if k in summary]
    if minibatch:
        summary["notes"] = {k: "minibatch estimate at the training batch size (biased at batch 64); Chen's full-dataset "
                               "value is in metrics.elbo_decomposition when that metric ran" for k in minibatch}
    return summary


def _json_safe(obj, path: str = "", bad: list | None = None):
    """A copy of ``obj`` with NaN/inf floats replaced by None (JSON has no NaN); their paths go to ``bad``."""
    if isinstance(obj, dict):
        return {k: _json_safe(v, f"{path}.{k}" if path else str(k), bad) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v, f"{path}[{i}]", bad) for i, v in enumerate(obj)]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        if bad is not None:
            bad.append(path)
        return None
    return obj


_WATCHING_PARENT = False


def exit_with_parent(poll_s: float = 1.0, parent: int | None = None) -> None:
    """In a worker process: end this process (releasing its claims; the checkpoint stays the last atomic
    one) as soon as the runner that started it is gone. ``parent`` is the runner's pid as the runner itself
    gave it: a worker that starts after its runner was killed — already re-parented, so ``getppid()`` would
    name its new parent — ends at once instead of running the study headless. Idempotent."""
    global _WATCHING_PARENT
    if _WATCHING_PARENT:
        return
    _WATCHING_PARENT = True
    if parent is not None and os.getppid() != parent:
        release_held()
        os._exit(1)
    parent = os.getppid()
    # (Not prctl(PR_SET_PDEATHSIG): it fires when the *thread* that spawned us ends, and pools spawn
    # workers from helper threads.)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:  # re-parented: the runner died
                release_held()
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def run_cell(study_name: str, cell_dict: dict, store_root: str, device: str | None = None, require_gpu: bool = False,
             cells_per_gpu: int = 1, time_limit: float | None = None) -> dict:
    """Train (resuming) and evaluate one cell; write its record last. Returns a short summary.

    The device is chosen here, in the process that trains (``benchmark.devices.choose_device``): ``device``
    None keeps the config's (``auto``: this process's GPU slot, else the CPU); ``require_gpu`` makes "no GPU
    visible" a failed cell with a one-line reason instead of a CPU run; ``time_limit`` (seconds; submissions
    only, for ``check-submission``) stops a submission that has not finished by then. The cell's claim
    carries a heartbeat while it runs and is released however the cell ends — Ctrl-C and SIGTERM included."""
    prepare_cuda_environment()  # before anything can make the first cuBLAS call
    cell = Cell.from_dict(cell_dict)
    store = RunStore(store_root)
    if store.is_complete(study_name, cell) or store.foreign_schema(study_name, cell):
        return {"index": cell.index, "state": "skipped"}
    if not store.claim(study_name, cell):
        return {"index": cell.index, "state": "busy"}
    try:
        with terminate_as_interrupt(), store.heartbeat(study_name, cell):
            if store.is_complete(study_name, cell):  # finished by another runner between our check and our claim
                return {"index": cell.index, "state": "skipped"}
            deadline = time.monotonic() + time_limit if time_limit else None
            return _train_and_score(study_name, cell, store, device, require_gpu, cells_per_gpu, deadline)
    finally:
        store.release(study_name, cell)


def _train_and_score(study_name: str, cell: Cell, store: RunStore, device: str | None, require_gpu: bool,
                     cells_per_gpu: int, deadline: float | None = None) -> dict:
    """The claimed cell's work: train, score, write the record (a failed one with the reason)."""
    torch.set_num_threads(cell.threads)
    try:
        resolved, slot = choose_device(device or cell.config.device, require_gpu, cells_per_gpu)
    except (GPURequiredError, ValueError) as exc:
        return {"index": cell.index, "state": "failed", "error": str(exc), "seconds": 0.0}
    try:
        return _record_cell(study_name, cell, store, resolved, deadline)
    finally:
        if slot is not None:
            slot.release()


@contextmanager
def _trained(cell: Cell, config, out: Path, store: RunStore, record: dict, deadline: float | None):
    """Train the cell (resuming) and yield what scoring needs. A submission trains in its sandbox, and this
    process — which writes the record — never imports it (:mod:`benchmark.submission_sandbox`)."""
    if cell.config.submission:
        from .submission_sandbox import trained_submission

        with trained_submission(config, out, cell.threads, store.root, record, deadline) as result:
            yield result
        return
    result = train(config, out, threads=cell.threads)
    save_snapshot(out / WEIGHTS, result.model)  # the model zoo: parameters only, read back on any device
    yield Trained(result.model, type(result.model).updates_per_step, result.images_per_second, result.resumed_from)


def _record_cell(study_name: str, cell: Cell, store: RunStore, resolved: torch.device, deadline: float | None = None) -> dict:
    out = store.cell_dir(study_name, cell)
    config = type(cell.config).from_dict({**cell.config.to_dict(), "device": str(resolved)})
    t0 = time.perf_counter()
    record = {
        "schema_version": SCHEMA_VERSION, "code_version": code_version(), "study": study_name, "cell_index": cell.index,
        "cell_hash": cell.content_hash(), "cell": cell.to_dict(), "torch": torch.__version__,
    }
    try:
        with _trained(cell, config, out, store, record, deadline) as result:
            t_train = time.perf_counter() - t0
            record["provenance"] = provenance(resolved, config.precision, cell.threads)
            record["training_updates_per_step"] = list(result.updates_per_step)
            t1 = time.perf_counter()
            scores = score_trained(cell, out, result.model, config, resolved)
            record.update(status="complete", training=_final_training_summary(out, scores["probe"]["kl_per_latent"]), **scores,
                          timings={"train_s": round(t_train, 2), "eval_s": round(time.perf_counter() - t1, 2),
                                   "train_images_per_s": round(result.images_per_second, 1), "resumed_from": result.resumed_from})
    except DivergenceError as exc:
        record.update(status="failed", error=str(exc), training=_final_training_summary(out))
    except Exception as exc:  # keep going: the cell is marked failed with the reason (and no scores)
        for key in ("metrics", "probe", "snapshots", "run", "training", "timings"):
            record.pop(key, None)
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=5))
    record["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    bad: list[str] = []
    record = _json_safe(record, bad=bad)
    if bad:  # e.g. the Gaussian TC of codes with a constant dimension: stored as null, listed here
        record["non_finite"] = bad
    try:
        store.write_record(study_name, cell, record)
    except (TypeError, ValueError, OSError) as exc:  # never take the executor down with one cell
        store.write_record(study_name, cell, {k: record[k] for k in ("schema_version", "code_version", "study", "cell_index",
                                                                     "cell_hash", "cell", "torch", "finished")}
                           | {"status": "failed", "error": f"record not writable: {type(exc).__name__}: {exc}"})
    return {"index": cell.index, "state": "done" if record["status"] == "complete" else "failed",
            "error": record.get("error"), "seconds": round(time.perf_counter() - t0, 1)}


def plan(study: Study, store: RunStore, filter_spec: str | None = None) -> tuple[list[Cell], list[Cell], list[Cell]]:
    """(cells to run, cells already complete, cells held by a record of a schema this code cannot read)
    after the filter. A held cell is never re-run: its record may be a newer suite's finished work."""
    cells = filter_cells(study.cells, filter_spec)
    done = [c for c in cells if store.is_complete(study.name, c)]
    held = [c for c in cells if c not in done and store.foreign_schema(study.name, c)]
    todo = [c for c in cells if c not in done and c not in held]
    return todo, done, held


def default_jobs(threads: int, gpus: int = 0, cells_per_gpu: int = 1) -> int:
    """Parallel cells: on CPUs, cores ÷ threads per cell; with GPUs, GPUs × cells per GPU (never more than the cores)."""
    cpu_jobs = max(1, (os.cpu_count() or 1) // max(1, threads))
    return min(cpu_jobs, gpus * max(1, cells_per_gpu)) if gpus else cpu_jobs
