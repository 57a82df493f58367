"""``run``, ``studies``, ``status`` and ``leaderboard``: the study workflow."""

from __future__ import annotations

import argparse
import os
import sys
import time


def add_store_arg(p) -> None:
    p.add_argument("--store", default=None, help="run-store root (default: $BENCHMARK_STORE or results/store)")


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="train + evaluate every unfinished cell of a study, then rebuild the leaderboard",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run a study: trains and evaluates every unfinished cell, resumes partial ones from their "
        "checkpoint, skips finished ones, keeps going when a cell fails (recording why), then prints a summary and "
        "rebuilds the leaderboard and plots. Safe to run twice at once on the same store (cells are claimed).",
    )
    p.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    p.add_argument("--jobs", type=int, default=None, help="parallel cells (default: cores ÷ threads per cell)")
    p.add_argument("--executor", default="local", help="local (process pool), slurm (submitit), dask (distributed)")
    p.add_argument("--filter", default=None, help="only cells matching e.g. model=betavae,seed=0 (keys: dataset, model, seed, index, any hyper-parameter)")
    p.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    p.add_argument("--dask-address", default=None, help="dask scheduler address (tcp://host:8786) for --executor dask")
    p.add_argument("--slurm-folder", default=None, help="submitit log folder (default: <store>/<study>/_slurm)")
    p.add_argument("--slurm-cluster", default=None, choices=[None, "slurm", "local", "debug"], help="submitit cluster (default: auto-detect Slurm)")
    p.add_argument("--slurm-partition", default=None, help="Slurm partition")
    add_store_arg(p)
    p.set_defaults(func=_run)

    s = sub.add_parser("studies", help="list studies with cell counts and estimated cost", description="List the built-in studies.")
    s.set_defaults(func=_studies)

    st = sub.add_parser("status", help="done / running / failed / pending cells of a study", description="Show the state of every cell.")
    st.add_argument("--study", default="quick")
    add_store_arg(st)
    st.set_defaults(func=_status)

    sb = sub.add_parser("stability", help="seed-stability analysis of a study (tables + plots)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="Per-configuration spread over seeds with bootstrap CIs, the share of each metric's variance "
                        "explained by family / hyper-parameter / seed, Spearman correlation between metrics, the rank-flip "
                        "probability, and (with --eval-seeds) evaluation-seed stability: trained models re-scored under "
                        "several metric seeds (no training). Writes stability.md and plots into the study folder.")
    sb.add_argument("--study", default="quick")
    sb.add_argument("--eval-seeds", type=int, default=0, help="re-score models under this many extra metric seeds")
    sb.add_argument("--eval-runs", type=int, default=4, help="how many runs to re-score for evaluation-seed stability")
    add_store_arg(sb)
    sb.set_defaults(func=_stability)

    rp = sub.add_parser("report", help="write the self-contained HTML report of a study",
                        description="One static HTML page per study (sortable leaderboard, plots, stability) plus a page per run.")
    rp.add_argument("--study", default="quick")
    add_store_arg(rp)
    rp.set_defaults(func=_report)

    lb = sub.add_parser("leaderboard", help="rebuild the leaderboard from stored records",
                        description="Rebuild the leaderboard deterministically from stored records only (same records → same bytes).")
    lb.add_argument("--study", default="quick")
    lb.add_argument("--format", default="md", choices=["md", "csv", "latex", "html"])
    add_store_arg(lb)
    lb.set_defaults(func=_leaderboard)


def _studies(args) -> int:
    from benchmark.studies import STUDIES, get_study

    for name in STUDIES:
        st = get_study(name)
        hours = sum(c.estimated_seconds() for c in st.cells) / 3600
        print(f"{name:<8} {len(st.cells):>6} cells  ≈ {hours:,.1f} CPU-core-hours at 1 thread/cell  — {st.description}")
    return 0


def _status(args) -> int:
    from benchmark.store import RunStore
    from benchmark.studies import get_study

    study, store = get_study(args.study), RunStore(args.store)
    rows = store.status(study)
    counts: dict[str, int] = {}
    for cell, state, detail in rows:
        counts[state] = counts.get(state, 0) + 1
        extra = f"  {detail}" if detail else ""
        print(f"{cell.index:>5}  {state:<8} {cell.label}{extra}")
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + f"  (store {store.root})")
    return 0


def _leaderboard(args) -> int:
    from benchmark.store import RunStore
    from results.leaderboard import build_leaderboard

    path = build_leaderboard(_study_dir(RunStore(args.store), args.study), args.study, args.format)
    print(path.read_text() if args.format == "md" else f"wrote {path}")
    return 0


def _study_dir(store, study: str):
    d = store.study_dir(study)
    if not d.exists():
        raise ValueError(f"no runs of study {study!r} in {store.root}; run `python -m benchmark run --study {study}` first")
    return d


def _stability(args) -> int:
    from benchmark.runner import rescore_eval_seeds
    from benchmark.store import RunStore
    from benchmark.studies import get_study
    from results.stability_report import build_stability

    store = RunStore(args.store)
    d = _study_dir(store, args.study)
    if args.eval_seeds:
        rescore_eval_seeds(get_study(args.study), store, args.eval_seeds, args.eval_runs)
    paths = build_stability(d, args.study)
    print(paths[0].read_text())
    print("outputs: " + ", ".join(str(p) for p in paths))
    return 0


def _report(args) -> int:
    from benchmark.store import RunStore
    from results.report import build_report

    store = RunStore(args.store)
    print(f"wrote {build_report(_study_dir(store, args.study), args.study)}")
    return 0


def _best_run_traversals(records: list[dict], path) -> list:
    """Copy the traversal grid of the run with the highest discrete MIG to the study folder."""
    import shutil
    from pathlib import Path

    scored = [r for r in records if r["metrics"].get("mig", {}).get("values", {}).get("discrete_mig") is not None
              and (Path(r["_path"]).parent / "traversals.png").exists()]
    if not scored:
        return []
    best = max(scored, key=lambda r: (r["metrics"]["mig"]["values"]["discrete_mig"], -r["cell_index"]))
    shutil.copyfile(Path(best["_path"]).parent / "traversals.png", path)
    return [path]


def rebuild_outputs(study_name: str, store) -> list:
    """Leaderboard (md + csv), plots, budget calibration, stability and the HTML report from the stored records."""
    from results.calibration import build_calibration
    from results.leaderboard import build_leaderboard
    from results.plots import kl_curve_plot, tradeoff_plot
    from results.records import family_label, load_records

    d = store.study_dir(study_name)
    records = load_records(d)
    if not records:
        return []
    out = [build_leaderboard(d, study_name, "md"), build_leaderboard(d, study_name, "csv")]
    out.append(tradeoff_plot(records, d / "tradeoff.png"))
    annealed = [r for r in records if r["cell"]["config"]["model"] == "annealed"] or records
    r = annealed[-1]
    fam, hp = family_label(r)
    out.append(kl_curve_plot(os.path.dirname(r["_path"]), d / "kl_over_training.png",
                             f"Per-latent KL — {fam} ({hp}), seed {r['cell']['config']['seed']}"))
    out += _best_run_traversals(records, d / "best_traversals.png")
    out += build_calibration(d, study_name)
    from results.report import build_report
    from results.stability_report import build_stability

    out += build_stability(d, study_name)
    out.append(build_report(d, study_name))
    return out


def _run(args) -> int:
    from tqdm import tqdm

    from benchmark.executors import get_executor
    from benchmark.runner import default_jobs, plan
    from benchmark.store import RunStore
    from benchmark.studies import get_study

    study = get_study(args.study)
    store = RunStore(args.store)
    executor = get_executor(args.executor)
    todo, done = plan(study, store, args.filter)
    threads = max((c.threads for c in todo), default=1)
    jobs = args.jobs or default_jobs(threads)
    print(f"study {study.name}: {len(todo) + len(done)} cells selected, {len(done)} already complete, {len(todo)} to run "
          f"on {args.executor} with {jobs} worker(s) × {threads} thread(s); store {store.root}")
    if args.dry_run:
        for c in todo:
            print(f"  would run {c.index:>5} {c.label}  (≈ {c.estimated_seconds() / 60:.0f} min)")
        return 0
    store.prepare(study)
    kwargs = {}
    if args.executor == "dask":
        if not args.dask_address:
            raise ValueError("--executor dask needs --dask-address tcp://host:port (a running distributed scheduler)")
        kwargs["address"] = args.dask_address
    if args.executor == "slurm":
        kwargs["folder"] = args.slurm_folder or str(store.study_dir(study.name) / "_slurm")
        kwargs["cluster"] = args.slurm_cluster
        if args.slurm_partition:
            kwargs["slurm_options"] = {"slurm_partition": args.slurm_partition}
    t0 = time.perf_counter()
    summary = {"done": 0, "failed": 0, "skipped": 0, "busy": 0}
    failures = []
    with tqdm(total=len(todo), desc=f"{study.name} cells", unit="cell", file=sys.stdout) as bar:
        for res in executor(study.name, todo, store.root, jobs, **kwargs):
            summary[res["state"]] = summary.get(res["state"], 0) + 1
            if res["state"] == "failed":
                failures.append(res)
            bar.update(1)
    print(f"finished in {time.perf_counter() - t0:,.0f} s: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    for f in failures:
        print(f"  cell {f['index']} failed: {f['error']}")
    outputs = rebuild_outputs(study.name, store)
    if outputs:
        print(outputs[0].read_text())
        print("outputs: " + ", ".join(str(p) for p in outputs))
    return 1 if failures else 0
