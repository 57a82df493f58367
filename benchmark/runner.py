"""Train and evaluate the cells of a study, resumably, on any executor.

``run_cell`` is a top-level function of plain arguments so that every executor (process pool,
submitit/Slurm, Dask) can ship it; it fixes the torch thread count from the cell, so the numbers
never depend on where or how many cells ran side by side.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from .studies import SCHEMA_VERSION, Cell, Study, filter_cells
from .store import RunStore, code_version
from .training import DivergenceError, load_trained_model, read_log, resolve_device, train


def _final_training_summary(out_dir: Path) -> dict:
    log = read_log(out_dir)
    if not log:
        return {}
    tail = log[-3:]
    summary = {"steps": log[-1]["step"]}
    for key in ("reconstruction", "kl", "loss", "total_correlation", "mutual_information", "dimension_wise_kl"):
        if key in log[-1]:
            summary[key] = float(np.mean([r[key] for r in tail]))
    summary["kl_per_latent"] = log[-1]["kl_per_latent"]
    summary["active_latents"] = int(sum(v > 0.1 for v in log[-1]["kl_per_latent"]))
    return summary


def evaluate_cell(cell: Cell, out_dir: Path, eval_seed: int | None = None, *, step: int | None = None,
                  metrics: tuple[str, ...] | None = None) -> dict:
    """Score the trained model of a cell with its metrics (``eval_seed`` overrides the cell's; ``step``
    scores the snapshot taken at that step instead, ``metrics`` a subset)."""
    from datasets import get_dataset
    from metrics import evaluate, torch_representation

    config, model = load_trained_model(out_dir, device=str(resolve_device(cell.config.device)), step=step)
    rep, posterior = torch_representation(model.encode, next(model.parameters()).device)
    ds = get_dataset(config.dataset, config.data_path)
    overrides = {m: dict(kv) for m, kv in cell.metric_overrides}
    seed = cell.eval_seed if eval_seed is None else eval_seed
    names = cell.metrics if metrics is None else metrics
    return evaluate(rep, ds, names, seed=seed, preset=cell.metric_preset, posterior_fn=posterior, overrides=overrides)


def primary_values(results: dict) -> dict[str, float]:
    """``{"mig.discrete_mig": 0.12, ...}``: each metric's primary value from an ``evaluate`` result."""
    return {f"{m}.{r['primary']}": r["values"][r["primary"]] for m, r in results.items()}


def evaluate_snapshots(cell: Cell, out_dir: Path, final_metrics: dict) -> list[dict]:
    """The cell's ``snapshot_metrics`` at each snapshot step (same metric samples as the final score,
    so the curve is the model changing, not the sample), with the logged KL at that step. The final
    step reuses the final scores."""
    log = {r["step"]: r for r in read_log(out_dir)}
    points = []
    for step in cell.config.snapshot_steps:
        if step == cell.config.steps:
            values = primary_values({m: final_metrics[m] for m in cell.snapshot_metrics})
        else:
            values = primary_values(evaluate_cell(cell, out_dir, step=step, metrics=cell.snapshot_metrics))
        kl = log.get(step, {}).get("kl_per_latent", [])
        points.append({"step": step, "metrics": values, "kl": log.get(step, {}).get("kl"),
                       "active_latents": int(sum(v > 0.1 for v in kl))})
    return points


def describe_run(cell: Cell, out_dir: Path) -> dict:
    """Per-run artefacts for the report: latent traversals (PNG) and the factor × latent MI matrix
    of the stored evaluation codes (20-bin plug-in MI, nats)."""
    import h5py

    from datasets import get_dataset
    from metrics.mig import mutual_info_matrix
    from models.likelihoods import likelihood_for

    from .visualize import save_traversals

    config, model = load_trained_model(out_dir)
    ds = get_dataset(config.dataset, config.data_path)
    lik = likelihood_for(ds.binary) if config.likelihood == "auto" else config.likelihood
    kl = read_log(out_dir)[-1]["kl_per_latent"]
    save_traversals(model, ds, lik, out_dir / "traversals.png", kl_per_latent=kl, seed=cell.eval_seed)
    with h5py.File(out_dir / "codes.h5") as f:
        mi = mutual_info_matrix(f["mean"][()], f["factors"][()])
    return {"factor_names": list(ds.factor_names), "mi_latent_factor": [[round(float(v), 6) for v in row] for row in mi]}


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


def run_cell(study_name: str, cell_dict: dict, store_root: str, device: str | None = None) -> dict:
    """Train (resuming) and evaluate one cell; write its record last. Returns a short summary."""
    cell = Cell.from_dict(cell_dict)
    store = RunStore(store_root)
    if store.is_complete(study_name, cell):
        return {"index": cell.index, "state": "skipped"}
    if not store.claim(study_name, cell):
        return {"index": cell.index, "state": "busy"}
    torch.set_num_threads(cell.threads)
    out = store.cell_dir(study_name, cell)
    config = cell.config if device is None else type(cell.config).from_dict({**cell.config.to_dict(), "device": device})
    t0 = time.perf_counter()
    record = {
        "schema_version": SCHEMA_VERSION, "code_version": code_version(), "study": study_name, "cell_index": cell.index,
        "cell_hash": cell.content_hash(), "cell": cell.to_dict(), "torch": torch.__version__,
    }
    if cell.config.submission:
        from .submission import load_submission

        record["submission"] = load_submission(cell.config.submission)[0].to_dict()
    try:
        result = train(config, out, threads=cell.threads)
        t_train = time.perf_counter() - t0
        t1 = time.perf_counter()
        metrics = evaluate_cell(cell, out)
        if cell.snapshot_metrics:
            record["snapshots"] = evaluate_snapshots(cell, out, metrics)
        record.update(status="complete", training=_final_training_summary(out), metrics=metrics, run=describe_run(cell, out),
                      timings={"train_s": round(t_train, 2), "eval_s": round(time.perf_counter() - t1, 2),
                               "train_images_per_s": round(result.images_per_second, 1), "resumed_from": result.resumed_from})
    except DivergenceError as exc:
        record.update(status="failed", error=str(exc), training=_final_training_summary(out))
    except Exception as exc:  # keep going: the cell is marked failed with the reason
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
    finally:
        store.release(study_name, cell)
    return {"index": cell.index, "state": "done" if record["status"] == "complete" else "failed",
            "error": record.get("error"), "seconds": round(time.perf_counter() - t0, 1)}


def plan(study: Study, store: RunStore, filter_spec: str | None = None) -> tuple[list[Cell], list[Cell]]:
    """(cells to run, cells already complete) after the filter."""
    cells = filter_cells(study.cells, filter_spec)
    done = [c for c in cells if store.is_complete(study.name, c)]
    todo = [c for c in cells if c not in done]
    return todo, done


def default_jobs(threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def rescore_eval_seeds(study: Study, store: RunStore, n_seeds: int, n_runs: int) -> None:
    """Score up to ``n_runs`` finished runs under evaluation seeds 1..n_seeds (the same trained
    model, other metric samples); primary values go to ``eval_seeds.json`` in each run folder."""
    import json

    from .io import atomic_write_json

    done = [c for c in study.cells if store.is_complete(study.name, c)][:n_runs]
    for cell in done:
        out = store.cell_dir(study.name, cell)
        path = out / "eval_seeds.json"
        have = json.loads(path.read_text()) if path.exists() else {}
        rec = store.read_record(study.name, cell)
        have.setdefault(str(cell.eval_seed), primary_values(rec["metrics"]))
        for s in range(1, n_seeds + 1):
            if str(s) in have:
                continue
            res = evaluate_cell(cell, out, eval_seed=s)
            have[str(s)] = primary_values(res)
            atomic_write_json(path, have)
