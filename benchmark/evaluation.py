"""Scoring a trained model: the cell's metrics, its snapshots, per-run artefacts, extra metric seeds.

Every function takes the model in memory (or loads it once) on the device the executor assigned, so
a cell trained on ``cuda:1`` is scored on ``cuda:1`` and the checkpoint is read from disk only when
the model is not already at hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from core.io import atomic_write_json
from core.layout import CHECKPOINT, CODES, EVAL_SEEDS, PROBE_CODES, SAMPLES, TRAVERSALS, read_log

from .checkpoint import load_trained_model, prepare_for_inference
from .config import RunConfig
from .studies import Cell, Study


def own_model(model) -> bool:
    """Whether ``model`` is one of the suite's own families (``models/``), whose eval-mode encoder keeps no
    state between calls: its grid may be encoded in parallel batches. A submission's is not assumed so."""
    return type(model).__module__.split(".")[0] == "models"


def score_model(cell: Cell, model, config: RunConfig, eval_seed: int | None = None,
                metrics: tuple[str, ...] | None = None) -> dict:
    """Score ``model`` (in eval mode, on its device) with the cell's metrics (``eval_seed`` overrides the
    cell's, ``metrics`` takes a subset)."""
    from datasets import get_dataset
    from metrics import evaluate, torch_representation

    rep, posterior = torch_representation(model.encode, next(model.parameters()).device, parallel_safe=own_model(model))
    ds = get_dataset(config.dataset, config.data_path)
    overrides = {m: dict(kv) for m, kv in cell.metric_overrides}
    seed = cell.eval_seed if eval_seed is None else eval_seed
    names = cell.metrics if metrics is None else metrics
    # per-factor fits (DCI, SAP, explicitness) on the cell's cores: the numbers do not depend on the workers
    return evaluate(rep, ds, names, seed=seed, preset=cell.metric_preset, posterior_fn=posterior, overrides=overrides,
                    n_jobs=max(1, cell.threads))


def evaluate_cell(cell: Cell, out_dir: Path, eval_seed: int | None = None, *, step: int | None = None,
                  metrics: tuple[str, ...] | None = None, device: str = "cpu") -> dict:
    """Load the cell's model from its run folder (``step``: the snapshot at that step) and score it."""
    config, model = load_trained_model(out_dir, device=device, step=step)
    return score_model(cell, model, config, eval_seed, metrics)


def primary_values(results: dict) -> dict[str, float]:
    """``{"mig.discrete_mig": 0.12, ...}``: each metric's primary value from an ``evaluate`` result."""
    return {f"{m}.{r['primary']}": r["values"][r["primary"]] for m, r in results.items()}


def evaluate_snapshots(cell: Cell, out_dir: Path, final_metrics: dict, device: str = "cpu") -> list[dict]:
    """The cell's ``snapshot_metrics`` at each snapshot step (same metric samples as the final score,
    so the curve is the model changing, not the sample), with the logged KL at that step. The final
    step reuses the final scores."""
    log = {r["step"]: r for r in read_log(out_dir)}
    points = []
    for step in cell.config.snapshot_steps:
        if step == cell.config.steps:
            values = primary_values({m: final_metrics[m] for m in cell.snapshot_metrics})
        else:
            values = primary_values(evaluate_cell(cell, out_dir, step=step, metrics=cell.snapshot_metrics, device=device))
        kl = log.get(step, {}).get("kl_per_latent", [])
        points.append({"step": step, "metrics": values, "kl": log.get(step, {}).get("kl"),
                       "active_latents": int(sum(v > 0.1 for v in kl))})
    return points


def describe_run(cell: Cell, out_dir: Path, model, config: RunConfig, probe_kl: list | None = None) -> dict:
    """Per-run artefacts for the report: latent traversals, reconstructions and prior samples (PNGs), and
    the factor × latent MI matrix
    of the stored evaluation codes (20-bin plug-in MI, nats)."""
    import h5py

    from datasets import get_dataset
    from metrics.mig import mutual_info_matrix
    from models.likelihoods import likelihood_for

    from .visualize import save_samples, save_traversals

    ds = get_dataset(config.dataset, config.data_path)
    lik = likelihood_for(ds.binary) if config.likelihood == "auto" else config.likelihood
    kl = read_log(out_dir)[-1].get("kl_per_latent", probe_kl)  # optional in loss_terms: the probe set's otherwise
    with h5py.File(out_dir / CODES) as f:
        means = f["mean"][()]  # (N, D)
        mi = mutual_info_matrix(means, f["factors"][()])  # (D, K)
    save_traversals(model, ds, lik, out_dir / TRAVERSALS, kl_per_latent=kl, seed=cell.eval_seed, mi=mi, factor_names=ds.factor_names,
                    means=means, title=f"{cell.label} (cell {cell.index})")
    save_samples(model, ds, lik, out_dir / SAMPLES, seed=cell.eval_seed, title=f"{cell.label} (cell {cell.index})")
    return {"factor_names": list(ds.factor_names), "mi_latent_factor": [[round(float(v), 6) for v in row] for row in mi]}


def score_trained(cell: Cell, out_dir: Path, model, config: RunConfig, device: str | torch.device) -> dict:
    """Everything a record holds about a trained cell's scores: ``metrics``, ``probe`` (shared probe codes,
    written to the run folder), ``snapshots``, ``run``."""
    from datasets import get_dataset

    from .probe import probe_codes, write_probe

    model = prepare_for_inference(model, config, device)
    out = {"metrics": score_model(cell, model, config)}
    probe = probe_codes(model, get_dataset(config.dataset, config.data_path), device)
    write_probe(out_dir, probe)
    out["probe"] = {"file": PROBE_CODES, "points": len(probe["factors"]), "kl_per_latent": [round(float(v), 6) for v in probe["kl_per_latent"]]}
    if cell.snapshot_metrics:
        out["snapshots"] = evaluate_snapshots(cell, out_dir, out["metrics"], device=str(device))
    out["run"] = describe_run(cell, out_dir, model, config, out["probe"]["kl_per_latent"])
    return out


def rescore_eval_seeds(study: Study, store, n_seeds: int, n_runs: int) -> None:
    """Score up to ``n_runs`` finished runs under evaluation seeds 1..n_seeds (the same trained
    model, other metric samples); primary values go to ``eval_seeds.json`` in each run folder."""
    done = [c for c in study.cells if store.is_complete(study.name, c)][:n_runs]
    for cell in done:
        out = store.cell_dir(study.name, cell)
        path = out / EVAL_SEEDS
        have = json.loads(path.read_text()) if path.exists() else {}
        rec = store.read_record(study.name, cell)
        have.setdefault(str(cell.eval_seed), primary_values(rec["metrics"]))
        config, model = load_trained_model(out)
        for s in range(1, n_seeds + 1):
            if str(s) in have:
                continue
            have[str(s)] = primary_values(score_model(cell, model, config, eval_seed=s))
            atomic_write_json(path, have)


def metric_names(spec: str | None, dataset) -> tuple[tuple[str, ...], str]:
    """``(names, note)`` of :func:`metrics.select_metrics` for ``dataset``'s render-and-encode codes:
    ``None`` → the standard suite; ``all`` → every metric the dataset allows; else a comma list. A dataset
    that renders stochastically has no fixed grid to take a full posterior over."""
    from metrics import select_metrics

    return select_metrics(spec, grid_posterior=not dataset.stochastic, codes=f"{dataset.name}'s stochastic renders")


def evaluate_run_folder(run_dir, metrics: str | None = None, preset: str = "dlib", seed: int = 0, code_path: str = "auto",
                        device: str = "auto", n_jobs: int = 1, progress=False) -> dict:
    """Score the trained model of a run folder; nothing in the folder changes. One-line errors for a
    folder that is missing, is not a run, or holds an unfinished run."""
    import time

    from core.layout import CHECKPOINT, CONFIG
    from datasets import get_dataset
    from metrics import evaluate, torch_representation

    from .checkpoint import load_checkpoint
    from .factory import resolve_device

    run = Path(run_dir)
    if not run.is_dir():
        raise ValueError(f"--run {run}: no such folder; pass the --out folder of a `train` run or a study cell folder")
    for name in (CONFIG, CHECKPOINT):
        if not (run / name).is_file():
            raise ValueError(f"--run {run} has no {name}: not a finished run folder (still training, or half-written?); "
                             "finish it by rerunning its train command")
    state = load_checkpoint(run / CHECKPOINT)
    steps = RunConfig.from_dict(state["config"]).steps
    if int(state["step"]) != steps:
        raise ValueError(f"--run {run} stopped at step {state['step']} of {steps}; finish it by rerunning its train command")
    dev = resolve_device(device)
    config, model = load_trained_model(run, device=str(dev))
    ds = get_dataset(config.dataset, config.data_path)
    names, note = metric_names(metrics, ds)
    if note:
        print(note, file=sys.stderr)
    rep, posterior = torch_representation(model.encode, dev, parallel_safe=own_model(model))
    t0 = time.perf_counter()
    results = evaluate(rep, ds, names, seed=seed, preset=preset, posterior_fn=posterior, code_path=code_path, n_jobs=n_jobs,
                       progress=progress)
    encode_s = next((r["grid_encode_seconds"] for r in results.values() if "grid_encode_seconds" in r), 0.0)
    return {"run": str(run), "dataset": config.dataset, "config_hash": config.content_hash(), "preset": preset, "seed": seed,
            "metrics": results, "encode_seconds": encode_s, "total_seconds": round(time.perf_counter() - t0, 3)}


def rescore_probes(study_dir) -> int:
    """Write the shared probe codes of every finished run in a study folder that lacks them (from its
    checkpoint); returns how many were written. A run without its checkpoint is a one-line error."""
    from datasets import get_dataset
    from results.records import load_records

    from .probe import probe_codes, write_probe

    written = 0
    for rec in load_records(study_dir):
        run = Path(rec["_path"]).parent
        if (run / PROBE_CODES).exists():
            continue
        if not (run / CHECKPOINT).exists():
            raise ValueError(f"{run} has neither probe codes nor a checkpoint to compute them from; retrain the cell")
        config, model = load_trained_model(run)
        write_probe(run, probe_codes(model, get_dataset(config.dataset, config.data_path), "cpu"))
        written += 1
    return written
