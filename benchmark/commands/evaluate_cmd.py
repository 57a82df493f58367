"""``python -m benchmark evaluate-codes CODES.npz``: score codes computed elsewhere."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate-codes",
        help="score precomputed codes (npz) with the metric suite",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Score codes computed elsewhere (another framework, an old run). The npz holds "
        "`codes` (N×D float), `factors` (N×K int class indices) and `factor_sizes` (K); optional "
        "`logvar` (N×D) enables the full-dataset sampled metrics and `factor_names` (K strings). When "
        "the rows cover the full factor grid, β-VAE and FactorVAE look codes up by factor vector; "
        "otherwise those metrics are refused. Prints one JSON object of metric values.",
    )
    p.add_argument("codes", help="path to CODES.npz")
    p.add_argument("--metrics", default=None, help="comma-separated metric names (default: every metric the codes allow)")
    p.add_argument("--seed", type=int, default=0, help="metric seed")
    p.add_argument("--preset", default="dlib", choices=["dlib", "quick"], help="dlib: disentanglement_lib study budgets; quick: smaller samples")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers for per-factor fits (DCI, SAP, explicitness)")
    p.add_argument("--full", action="store_true", help="print full records (protocol, settings, versions, timings), not only values")
    p.set_defaults(func=_evaluate_codes)


def _evaluate_codes(args: argparse.Namespace) -> int:
    import numpy as np

    from metrics import DEFAULT_METRICS, METRICS, TableSource, evaluate_source

    try:
        data = np.load(args.codes, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{args.codes}: not a readable npz file ({exc}); save with np.savez(path, codes=…, factors=…, factor_sizes=…)") from None
    missing = [k for k in ("codes", "factors", "factor_sizes") if k not in data.files]
    if missing:
        raise ValueError(f"{args.codes}: missing key(s) {', '.join(missing)}; expected codes (N×D), factors (N×K int), factor_sizes (K)")
    names = [str(n) for n in data["factor_names"]] if "factor_names" in data.files else None
    source = TableSource(data["codes"], data["factors"], data["factor_sizes"], names, data["logvar"] if "logvar" in data.files else None)
    if args.metrics:
        wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
        for m in wanted:
            METRICS.get(m)
        refused = [m for m in wanted if METRICS.get(m).needs == "factor_lookup" and not source.full]
        if refused:
            raise ValueError(f"{', '.join(refused)} need codes for the full factor grid (they fix a factor and look codes up "
                             f"by factor vector); these {len(source.codes_table):,} rows cover only part of the "
                             f"{int(np.prod(source.factor_sizes)):,}-point grid")
    else:
        wanted = [m for m in DEFAULT_METRICS if source.full or METRICS.get(m).needs != "factor_lookup"]
    result = evaluate_source(source, wanted, seed=args.seed, preset=args.preset, n_jobs=args.jobs)
    out = result if args.full else {m: r["values"] for m, r in result.items()}
    print(json.dumps(out, sort_keys=True))
    return 0
