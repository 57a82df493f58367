"""Benchmark: the full protocol on three dSprites models of the released net, before and after the
evaluation-speed work, side by side, in one process.

The models: a well-trained one (a published ``cpu2`` model from the zoo, β-TCVAE β = 6), a collapsed one
(capacity-annealed at γ = 1000 for ``--collapse-steps``) and a barely trained one (β-VAE β = 4,
``--short-steps`` = 200) — the last two trained in the setup. Each is scored with every metric dSprites
allows at the ``dlib`` preset (``evaluate --metrics all``), as the harness now does (grid encoded two
batches at a time, per-factor fits on ``--threads`` cores, the joint entropy of overlapping codes by
the matrix-product kernel). "Before" times the parts that changed, the old way, on the same model:

- grid encode: one encoder on ``--threads`` intra-op threads, on 1/``--scale`` of the grid (× scale);
- ``dci`` and ``downstream_boosted_trees``: one job (the trees of a stage one after the other);
- ``elbo_decomposition``: the pruned tree for the joint entropy whatever the codes, at
  1/``--scale`` of its samples (× scale: its cost is linear in them).

Every other metric runs the same code before and after, so it is timed once. The values of the changed
metrics are compared (DCI and the downstream task must be identical, entropies within 1e-9).

Run: ``python bench/evaluation_speed.py`` (≈ 45 min on 2 cores); ``--runs short`` for one model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.evaluation_paths import cpu_flags  # noqa: E402

CHANGED = ("dci", "downstream_boosted_trees", "elbo_decomposition")


def _models(which: list[str], args) -> dict:
    from benchmark import zoo
    from benchmark.checkpoint import load_trained_model
    from benchmark.config import RunConfig
    from benchmark.training import train

    out = {}
    for name in which:
        t = time.perf_counter()
        if name == "trained":
            out[name] = (zoo.load("cpu2", args.trained_cell), f"cpu2 cell {args.trained_cell} from the zoo")
            continue
        model, hp, steps = ("annealed", (("c_max", 25.0), ("gamma", 1000.0), ("anneal_steps", 100_000)), args.collapse_steps) \
            if name == "collapsed" else ("betavae", (("beta", 4.0),), args.short_steps)
        folder = tempfile.mkdtemp(prefix=f"bench_speed_{name}_")
        cfg = RunConfig(dataset="dsprites", model=model, hparams=hp, steps=steps, lr=1e-4, eval_samples=64,
                        checkpoint_every=steps, log_every=max(1, steps // 4), device="cpu")
        train(cfg, folder, threads=args.threads)
        out[name] = (load_trained_model(folder)[1], f"{model} {dict(hp)}, {steps} steps (trained in {time.perf_counter() - t:.0f} s)")
    return out


def _before(model, ds, source, results: dict, args) -> dict:
    """Seconds and values of the changed parts, the old way."""
    import metrics.entropy_tree as tree
    from metrics import torch_representation
    from metrics.evaluate import evaluate_source, metric_settings
    from metrics.registry import METRICS

    serial = torch_representation(model.encode, "cpu")[1]  # not parallel_safe: one encoder, intra-op threads
    n = len(ds) // args.scale
    t = time.perf_counter()
    for i in range(0, n, 1024):
        serial(ds.observations(ds.index_to_factors(np.arange(i, min(n, i + 1024)))))
    before = {"grid_encode": (time.perf_counter() - t) * len(ds) / n}
    saved = tree.DENSE_ABOVE
    for name in CHANGED:
        spec = METRICS.get(name)
        settings = metric_settings(spec, "dlib")
        k = 1
        if name == "elbo_decomposition":
            tree.DENSE_ABOVE = math.inf  # the tree for every joint entropy, as before
            k = args.scale
        try:
            overrides = {name: {"num_samples": settings["num_samples"] // k}} if k > 1 else None
            rec = evaluate_source(source, [name], seed=0, preset="dlib", n_jobs=1,
                                  plan=[(spec, {**settings, **(overrides or {}).get(name, {})})])[name]
        finally:
            tree.DENSE_ABOVE = saved
        before[name] = rec["seconds"] * k
        if k == 1:
            same = rec["values"] == results[name]["values"]
        else:  # fewer samples: compare the new kernel at the same budget instead
            tree.DENSE_ABOVE = saved
            again = evaluate_source(source, [name], seed=0, preset="dlib", n_jobs=1,
                                    plan=[(spec, {**settings, "num_samples": settings["num_samples"] // k})])[name]
            same = all(abs(again["values"][key] - v) <= 1e-9 * max(1.0, abs(v))
                       for key, v in rec["values"].items() if isinstance(v, float))
        before[name + ":same_values"] = bool(same)
    return before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="short,collapsed,trained", help="comma-separated: short, collapsed, trained")
    ap.add_argument("--trained-cell", type=int, default=17)
    ap.add_argument("--collapse-steps", type=int, default=2000)
    ap.add_argument("--short-steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=int, default=10, help="'before' encode and elbo_decomposition at 1/K of their work (× K)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from datasets import get_dataset
    from benchmark.evaluation import metric_names
    from metrics import GridSource, torch_representation
    from metrics.evaluate import evaluate_source

    print(f"host: {cpu_flags()}; torch {torch.__version__}, {args.threads} threads", flush=True)
    ds = get_dataset("dsprites")
    names = metric_names("all", ds)
    report = {"host": cpu_flags(), "threads": args.threads, "runs": {}}
    for run, (model, label) in _models(args.runs.split(","), args).items():
        model.eval()
        posterior = torch_representation(model.encode, "cpu", parallel_safe=True)[1]
        t = time.perf_counter()
        source = GridSource(ds, posterior)  # what `evaluate` does on the table path
        encode = time.perf_counter() - t
        res = evaluate_source(source, names, seed=0, preset="dlib", n_jobs=args.threads)
        total = time.perf_counter() - t
        before = _before(model, ds, source, res, args)
        old_total = total - encode + before["grid_encode"] + sum(before[m] - res[m]["seconds"] for m in CHANGED if m in res)
        print(f"\n{run}: {label}\n  {'part':<34}{'before s':>10}{'now s':>10}{'ratio':>8}")
        rows = [("grid encode (737,280 images)", before["grid_encode"], encode)]
        rows += [(m, before.get(m, res[m]["seconds"]), res[m]["seconds"]) for m in names]
        for part, old, new in rows:
            mark = "" if part not in CHANGED else ("  same values" if before[part + ":same_values"] else "  VALUES DIFFER")
            print(f"  {part:<34}{old:>10.1f}{new:>10.1f}{old / max(new, 1e-9):>8.2f}{mark}")
        print(f"  {'total':<34}{old_total:>10.1f}{total:>10.1f}{old_total / total:>8.2f}", flush=True)
        report["runs"][run] = {"model": label, "total_s": round(total, 1), "before_total_s": round(old_total, 1),
                               "grid_encode_s": encode, "before": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in before.items()},
                               "seconds": {m: r["seconds"] for m, r in res.items()}}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
