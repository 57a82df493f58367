"""Benchmark: score one trained dSprites conv model with the whole suite, both ways, in one run.

- **table**: the factor grid encoded once (737,280 images), every metric served from it, Chen's
  entropies with the default kernel (expansion + pruning, ``metrics.entropy.entropies``);
- **render**: every metric renders and encodes its own samples, Chen's entropies with the dense
  reference kernel (``metrics.entropy.entropies_dense``).

The suite: every metric of the ``dlib`` preset at full budgets plus ``mig_sampled`` and
``elbo_decomposition``. The model is trained in the setup (``--steps``, default 300). Prints the
per-metric seconds of both paths, the grid encode time and images/s, and the ratios; values of the
two paths side by side. ``--quick`` runs the ``quick`` preset (a smoke test of this script).

Run: ``python bench/evaluation_paths.py`` (≈ 40 min on 2 cores: the render path is the slow one)
or ``python bench/evaluation_paths.py --only table``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

import torch


def cpu_flags() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return platform.processor()
    model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in out.splitlines() if l.startswith("Flags")), [])
    keep = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))
    return f"{model}; {os.cpu_count()} cores; {' '.join(keep)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["table", "render"], default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--render-scale", type=int, default=1,
                    help="render path only: run beta_vae, factor_vae, mig_sampled and elbo_decomposition at 1/K of their "
                    "budgets and multiply their seconds by K (their cost is linear in images encoded / entropy samples)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    import metrics.elbo_decomposition as elbo_mod
    import metrics.mig_sampled as mig_mod
    from benchmark.checkpoint import load_trained_model
    from benchmark.config import RunConfig
    from benchmark.training import train
    from datasets import get_dataset
    from metrics import DEFAULT_METRICS, METRICS, evaluate, torch_representation
    from metrics.entropy import entropies, entropies_dense

    print(f"host: {cpu_flags()}; torch {torch.__version__}, {args.threads} threads")
    out = tempfile.mkdtemp(prefix="bench_eval_")
    cfg = RunConfig(dataset="dsprites", model="tcvae", hparams=(("beta", 6.0),), steps=args.steps, lr=1e-3, eval_samples=100,
                    checkpoint_every=args.steps, log_every=max(1, args.steps // 4), device="cpu")
    t = time.perf_counter()
    train(cfg, out, threads=args.threads)
    print(f"setup: trained {args.steps} steps in {time.perf_counter() - t:.0f} s")
    _, model = load_trained_model(out)
    rep, posterior = torch_representation(model.encode, "cpu")
    ds = get_dataset("dsprites")
    names = DEFAULT_METRICS + ("mig_sampled", "elbo_decomposition")
    preset = "quick" if args.quick else "dlib"
    results = {}
    for path in (["table", "render"] if args.only is None else [args.only]):
        kernel = entropies if path == "table" else entropies_dense
        mig_mod.entropies = elbo_mod.entropies = kernel
        k = args.render_scale if path == "render" else 1
        scaled = {"beta_vae": ("num_train", "num_eval"), "factor_vae": ("num_train", "num_eval", "num_variance_estimate"),
                  "mig_sampled": ("num_samples",), "elbo_decomposition": ("num_samples",)} if k > 1 else {}
        overrides = {m: {key: METRICS.get(m).defaults[key] // k for key in keys} for m, keys in scaled.items()}
        t = time.perf_counter()
        res = evaluate(rep, ds, names, seed=0, preset=preset, posterior_fn=posterior, code_path=path, overrides=overrides,
                       n_jobs=args.threads)
        total = time.perf_counter() - t
        for m in scaled:
            total += res[m]["seconds"] * (k - 1)
            res[m]["seconds"] = round(res[m]["seconds"] * k, 1)
        if scaled:
            print(f"(render path: {', '.join(scaled)} run at 1/{k} of their budgets, seconds ×{k})")
        encode = next((r.get("grid_encode_seconds") for r in res.values() if "grid_encode_seconds" in r), None)
        results[path] = {"total_s": round(total, 1), "encode_s": encode, "metrics": {m: r["seconds"] for m, r in res.items()},
                         "values": {m: r["values"][r["primary"]] for m, r in res.items()}}
        line = ", ".join(f"{m} {r['seconds']:.1f} s" for m, r in res.items())
        print(f"{path}: total {total:.1f} s" + (f" (grid encode {encode:.1f} s = {len(ds) / encode:,.0f} images/s)" if encode else "")
              + f"\n  {line}", flush=True)
    mig_mod.entropies = elbo_mod.entropies = entropies
    if len(results) == 2:
        a, b = results["table"], results["render"]
        print(f"render / table: {b['total_s'] / a['total_s']:.1f}×")
        for m in names:
            print(f"  {m:<24} table {a['metrics'][m]:8.1f} s  render {b['metrics'][m]:8.1f} s  values {a['values'][m]!r:.8} | {b['values'][m]!r:.8}")
        full = ("mig_sampled", "elbo_decomposition")
        ent_a = sum(a["metrics"][m] for m in full)
        ent_b = sum(b["metrics"][m] for m in full)
        print(f"Chen's metrics (entropy kernels): default {ent_a:.1f} s vs dense {ent_b:.1f} s = {ent_b / ent_a:.1f}×")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host": cpu_flags(), "steps": args.steps, "preset": preset, **results}, f, indent=1)


if __name__ == "__main__":
    main()
