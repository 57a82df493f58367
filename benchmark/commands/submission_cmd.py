"""``check-submission`` and ``submit``: bringing a new model to the leaderboard."""

from __future__ import annotations

import argparse
import sys

from .common import add_store_arg, positive_int


def register(sub) -> None:
    c = sub.add_parser("check-submission", help="check a model file on the tiny dataset in seconds",
                       description="Load a submission file and check it on the tiny dataset: metadata validity, output "
                       "shapes, finite losses, that the loss falls over a few dozen steps, determinism for a seed, and "
                       "that a checkpoint saves and reloads. Prints PASS/FAIL per check. Submission code runs as you.")
    c.add_argument("path", help="the submission .py file")
    c.add_argument("--timeout", type=float, default=300.0, help="seconds before a hanging submission counts as failed (default 300)")
    c.set_defaults(func=_check)

    s = sub.add_parser("submit", help="train + evaluate a submission over a study's datasets and seeds",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Train and evaluate a submission with the study's training protocol (steps, batch, "
                       "optimizer, seeds, datasets) over its own hyper-parameter grid, resumably; the runs enter the "
                       "study's leaderboard, plots and report, marked as a submission with its metadata.")
    s.add_argument("path", help="the submission .py file")
    s.add_argument("--study", default="quick", help="study whose protocol to use")
    s.add_argument("--jobs", type=positive_int, default=None, help="parallel cells")
    add_store_arg(s)
    s.set_defaults(func=_submit)


def _check(args) -> int:
    from tqdm import tqdm

    from benchmark.submission_check import CHECKS, check_submission

    if not args.timeout > 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    width = max(map(len, CHECKS))
    # each check's line as it ends; on a terminal, a bar names the check running now and the time it has taken
    with tqdm(total=len(CHECKS), desc="checks", unit="check", file=sys.stderr, disable=None, leave=False) as bar:
        def result(r):
            bar.write(f"{'PASS' if r[1] else 'FAIL'}  {r[0]:<{width}}  {r[2]}", file=sys.stdout)
            bar.update(1)

        results = check_submission(args.path, timeout=args.timeout, on_result=result,
                                   on_stage=lambda name: bar.set_postfix_str(f"running: {name}"))
    failed = [n for n, ok, _ in results if not ok]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _submit(args) -> int:
    from tqdm import tqdm

    from benchmark.cell_progress import watch_cells
    from benchmark.executors import run_local
    from benchmark.runner import default_jobs
    from benchmark.store import RunStore
    from benchmark.studies import get_study
    from benchmark.submission import submission_cells
    from results.pipeline import rebuild_outputs

    study = get_study(args.study)
    store = RunStore(args.store)
    store.prepare(study)
    cells = submission_cells(args.path, study)
    print(f"submission {cells[0].config.model}: {len(cells)} cells with the {study.name} protocol; store {store.root}")
    states = {}
    with tqdm(total=len(cells), desc=f"{cells[0].config.model} cells", unit="cell", file=sys.stdout) as bar, \
            watch_cells(study.name, store.study_dir(study.name), cells, bar):  # what each running cell is doing
        for res in run_local(study.name, cells, store.root, args.jobs or default_jobs(cells[0].threads)):
            states[res["state"]] = states.get(res["state"], 0) + 1
            bar.write(f"  cell {res['index']} failed: {res['error']}" if res["state"] == "failed"
                      else f"  cell {res['index']} {res['state']}", file=sys.stdout)
            bar.update(1)
    outputs = rebuild_outputs(store.study_dir(study.name), study.name, study.caveat)
    if outputs:
        print(outputs[0].read_text())
    return 1 if states.get("failed") else 0
