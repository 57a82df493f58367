"""``run``, ``studies`` and ``status``: running a study."""

from __future__ import annotations

import argparse
import sys
import time

from .common import add_store_arg, add_tracking_args, positive_int, tracking_from


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="train + evaluate every unfinished cell of a study, then rebuild the leaderboard",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Run a study: trains and evaluates every unfinished cell, resumes partial ones from their "
        "checkpoint, skips finished ones, keeps going when a cell fails (recording why), then prints a summary and "
        "rebuilds the leaderboard and plots. Safe to run twice at once on the same store (cells are claimed).",
    )
    p.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    p.add_argument("--jobs", type=positive_int, default=None, help="parallel cells (default: cores ÷ threads per cell; GPUs × --cells-per-gpu where GPUs are visible; slurm: 200 array tasks at once)")
    p.add_argument("--executor", default="local", help="local (process pool), slurm (submitit), dask (distributed)")
    p.add_argument("--filter", default=None, help="only cells matching e.g. model=betavae,seed=0 (keys: dataset, model, seed, index, any hyper-parameter)")
    p.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    p.add_argument("--dask-address", default=None, help="dask scheduler address (tcp://host:8786) for --executor dask")
    p.add_argument("--slurm-folder", default=None, help="submitit log folder (default: <store>/<study>/_slurm)")
    p.add_argument("--slurm-cluster", default=None, choices=["slurm", "local", "debug"], help="submitit cluster (default: auto-detect Slurm)")
    p.add_argument("--slurm-partition", default=None, help="Slurm partition")
    p.add_argument("--gpus-per-task", type=int, default=0, help="GPUs per Slurm array task; > 0 also means 'GPU required': a cell "
                   "that sees no GPU fails with one line instead of training on the CPU")
    p.add_argument("--cpus-per-task", type=int, default=None, help="CPUs per Slurm array task (default: the cells' threads)")
    p.add_argument("--time", dest="time_min", type=int, default=24 * 60, help="Slurm time limit per task, in minutes (stay under the partition's MaxTime)")
    p.add_argument("--mem", default=None, help="Slurm memory per task, sbatch syntax (16G, 4000M)")
    p.add_argument("--slurm-option", action="append", default=None, metavar="KEY=VALUE",
                   help="any other sbatch option, repeatable: account=myproj, qos=normal, constraint=a100")
    p.add_argument("--cells-per-gpu", type=positive_int, default=None, help="cells side by side on one GPU (local pool and dask; default: "
                   "one per 8 GiB of GPU memory, 1-4); --jobs defaults to GPUs × this when GPUs are visible")
    add_tracking_args(p)
    add_store_arg(p)
    p.set_defaults(func=_run)

    s = sub.add_parser("studies", help="list studies with cell counts and estimated cost", description="List the built-in studies.")
    s.set_defaults(func=_studies)

    st = sub.add_parser("status", help="done / running / failed / pending cells of a study", description="Show the state of every cell.")
    st.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    add_store_arg(st)
    st.set_defaults(func=_status)


def _studies(args) -> int:
    from benchmark.studies import STUDIES, get_study

    for name in STUDIES:
        st = get_study(name)
        hours = sum(c.estimated_core_seconds() for c in st.cells) / 3600
        threads = "/".join(str(t) for t in sorted({c.threads for c in st.cells}))
        print(f"{name:<8} {len(st.cells):>6} cells  ≈ {hours:,.1f} CPU-core-hours ({threads} thread(s)/cell)  — {st.description}")
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


def _run(args) -> int:
    from tqdm import tqdm

    from benchmark.executors import get_executor
    from benchmark.runner import default_jobs, plan
    from benchmark.store import RunStore
    from benchmark.studies import get_study

    from benchmark.devices import default_cells_per_gpu, visible_gpus
    from benchmark.executors import SlurmResources, parse_slurm_options

    study = get_study(args.study)
    store = RunStore(args.store)
    executor = get_executor(args.executor)
    if args.cells_per_gpu is not None and args.cells_per_gpu < 1:
        raise ValueError(f"--cells-per-gpu must be ≥ 1, got {args.cells_per_gpu}")
    resources = SlurmResources(gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task, time_min=args.time_min,
                               mem=args.mem, partition=args.slurm_partition, options=parse_slurm_options(args.slurm_option))
    todo, done, held = plan(study, store, args.filter)
    threads = max((c.threads for c in todo), default=1)
    gpus = visible_gpus() if args.executor == "local" else 0
    cells_per_gpu = args.cells_per_gpu or default_cells_per_gpu()
    jobs = args.jobs or (200 if args.executor == "slurm" else default_jobs(threads, gpus, cells_per_gpu))
    where = f"{gpus} GPU(s) × {cells_per_gpu} cell(s)" if gpus else f"{jobs} worker(s) × {threads} thread(s)"
    print(f"study {study.name}: {len(todo) + len(done) + len(held)} cells selected, {len(done)} already complete, {len(todo)} to run "
          f"on {args.executor} with {where}; store {store.root}")
    if held:
        print(f"{len(held)} cell(s) left alone, their records written by a newer record schema (update the suite to use them): "
              + ", ".join(str(c.index) for c in held[:10]) + (" …" if len(held) > 10 else ""))
    if args.executor == "slurm":
        print("slurm parameters per array task: " + ", ".join(f"{k}={v}" for k, v in resources.submitit_parameters(threads, jobs).items()))
    if args.dry_run:
        for c in todo:
            print(f"  would run {c.index:>5} {c.label}  (≈ {c.estimated_seconds() / 60:.0f} min)")
        return 0
    tracking = tracking_from(args)  # a missing tracker package is refused before the store is touched
    store.prepare(study)
    kwargs = {}
    if args.executor == "dask":
        if not args.dask_address:
            raise ValueError("--executor dask needs --dask-address tcp://host:port (a running distributed scheduler)")
        kwargs["address"] = args.dask_address
    if args.executor == "slurm":
        kwargs["folder"] = args.slurm_folder or str(store.study_dir(study.name) / "_slurm")
        kwargs["cluster"] = args.slurm_cluster
        kwargs["resources"] = resources
        kwargs["cells_per_gpu"] = cells_per_gpu
    else:
        kwargs["require_gpu"] = args.gpus_per_task > 0
        kwargs["cells_per_gpu"] = cells_per_gpu
    t0 = time.perf_counter()
    summary = {"done": 0, "failed": 0, "skipped": 0, "busy": 0}
    failures = []
    from benchmark.claims import terminate_as_interrupt

    from benchmark.cell_progress import watch_cells
    from benchmark.tracking import Mirror

    mirror = Mirror(tracking) if tracking else None
    with terminate_as_interrupt(), tqdm(total=len(todo), desc=f"{study.name} cells", unit="cell", file=sys.stdout) as bar, \
            watch_cells(study.name, store.study_dir(study.name), todo, bar, mirror=mirror):  # what each running cell is doing
        for res in executor(study.name, todo, store.root, jobs, **kwargs):
            summary[res["state"]] = summary.get(res["state"], 0) + 1
            if res["state"] == "failed":
                failures.append(res)
            bar.update(1)
    _print_summary(study, store, len(done), summary, failures, time.perf_counter() - t0)
    return 1 if failures else 0


def _print_summary(study, store, already: int, summary: dict, failures: list, seconds: float) -> None:
    """Cells complete (this run and before), failures with their reasons, the top of the leaderboard
    and where the report is."""
    from results.pipeline import rebuild_outputs

    total = len(study.cells)
    complete = sum(store.is_complete(study.name, c) for c in study.cells)
    print(f"finished in {seconds:,.0f} s: {complete} of {total} cells complete ({summary['done']} this run, {already} before), "
          f"{summary['failed']} failed" + (f", {summary['busy']} running elsewhere" if summary.get("busy") else ""))
    for f in failures:
        print(f"  cell {f['index']} failed: {f['error']}")
    outputs = rebuild_outputs(store.study_dir(study.name), study.name, study.caveat)
    if not outputs:
        return
    table = outputs[0].read_text().split("\n## ", 1)[0].rstrip().splitlines()
    head = [line for line in table if line.startswith("|")][:8]
    title = table[0].lstrip("# ") if table else "leaderboard"
    print("\n".join(["", f"top of the {title[0].lower() + title[1:]}:", *head, f"  … full table: {outputs[0]}"]))
    report = next((p for p in outputs if p.name == "index.html"), None)
    if report is not None:
        print(f"report: {report.resolve().as_uri()}")
