"""``check-submission``, ``submit`` and ``evaluate`` (external encoders)."""

from __future__ import annotations

import argparse
import json

from .study_cmds import add_store_arg


def register(sub) -> None:
    c = sub.add_parser("check-submission", help="check a model file on the tiny dataset in seconds",
                       description="Load a submission file and check it on the tiny dataset: metadata validity, output "
                       "shapes, finite losses, that the loss falls over a few dozen steps, determinism for a seed, and "
                       "that a checkpoint saves and reloads. Prints PASS/FAIL per check. Submission code runs as you.")
    c.add_argument("path", help="the submission .py file")
    c.set_defaults(func=_check)

    s = sub.add_parser("submit", help="train + evaluate a submission over a study's datasets and seeds",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Train and evaluate a submission with the study's training protocol (steps, batch, "
                       "optimizer, seeds, datasets) over its own hyper-parameter grid, resumably; the runs enter the "
                       "study's leaderboard, plots and report, marked as a submission with its metadata.")
    s.add_argument("path", help="the submission .py file")
    s.add_argument("--study", default="quick", help="study whose protocol to use")
    s.add_argument("--jobs", type=int, default=None, help="parallel cells")
    add_store_arg(s)
    s.set_defaults(func=_submit)

    e = sub.add_parser("evaluate", help="score any encoder (TorchScript file or module:function) with the metric suite",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Score a representation without training: --encoder FILE.pt (TorchScript, returns mean "
                       "codes or (mean, log-variance)) or module:function (importable; images (B, C, 64, 64) float32 "
                       "tensor → (B, D) codes or (mean, log-variance)). The result enters the study's 'external "
                       "representations' leaderboard section. Nothing is stored if the encoder fails its checks.")
    e.add_argument("--encoder", required=True, help="FILE.pt or module:function")
    e.add_argument("--dataset", required=True, help="dataset name")
    e.add_argument("--data-path", default=None, help="file/folder for official-file datasets")
    e.add_argument("--name", default=None, help="label in the leaderboard (default: the encoder's name)")
    e.add_argument("--metrics", default=None, help="comma-separated metrics (default: the standard suite)")
    e.add_argument("--preset", default="dlib", choices=["dlib", "quick"], help="metric sample budgets")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--study", default="quick", help="study whose leaderboard lists the result")
    add_store_arg(e)
    e.set_defaults(func=_evaluate)


def _check(args) -> int:
    from benchmark.submission_check import check_submission

    results = check_submission(args.path)
    width = max(len(name) for name, _, _ in results)
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
    failed = [n for n, ok, _ in results if not ok]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _submit(args) -> int:
    from benchmark.commands.study_cmds import rebuild_outputs
    from benchmark.executors import run_local
    from benchmark.runner import default_jobs
    from benchmark.store import RunStore
    from benchmark.studies import get_study
    from benchmark.submission_check import submission_cells

    study = get_study(args.study)
    store = RunStore(args.store)
    store.prepare(study)
    cells = submission_cells(args.path, study)
    print(f"submission {cells[0].config.model}: {len(cells)} cells with the {study.name} protocol; store {store.root}")
    states = {}
    for res in run_local(study.name, cells, store.root, args.jobs or default_jobs(cells[0].threads)):
        states[res["state"]] = states.get(res["state"], 0) + 1
        if res["state"] == "failed":
            print(f"  cell {res['index']} failed: {res['error']}")
        else:
            print(f"  cell {res['index']} {res['state']}")
    outputs = rebuild_outputs(study.name, store)
    if outputs:
        print(outputs[0].read_text())
    return 1 if states.get("failed") else 0


def _evaluate(args) -> int:
    from benchmark.external import evaluate_external

    path, record = evaluate_external(args.encoder, args.dataset, args.data_path, args.name, args.metrics, args.preset,
                                     args.seed, args.study, args.store)
    print(json.dumps({m: r["values"] for m, r in record["metrics"].items()}, sort_keys=True))
    print(f"stored {path}")
    return 0
