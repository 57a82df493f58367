"""``evaluate-codes`` (codes computed elsewhere) and ``evaluate`` (any encoder): scoring without training."""

from __future__ import annotations

import argparse
import sys

from core.io import dumps_json

from .common import add_store_arg, available_cores, positive_int


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
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names, or 'all' for every metric the codes allow (default: the standard "
                   "suite, less the metrics these codes cannot serve, named on stderr)")
    p.add_argument("--seed", type=int, default=0, help="metric seed")
    p.add_argument("--preset", default="dlib", choices=["dlib", "quick"], help="dlib: disentanglement_lib study budgets; quick: smaller samples")
    p.add_argument("--jobs", type=positive_int, default=1, help="parallel workers for per-factor fits (DCI, SAP, explicitness)")
    p.add_argument("--full", action="store_true", help="print full records (protocol, settings, versions, timings), not only values")
    p.set_defaults(func=_evaluate_codes)

    e = sub.add_parser(
        "evaluate", help="score a trained run (--run) or any encoder (--encoder) with the metric suite",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="--run RUN_DIR: score a trained run folder (from `train` or a study) and print one JSON object "
        "(values, settings, code source and seconds per metric, encode seconds); nothing in the folder changes. "
        "--encoder: score a representation without training — FILE.pt2 (a torch.export program, best with a dynamic batch "
        "dimension; one exported at a fixed batch size runs in chunks of that size; FILE.pt TorchScript is still read, but torch deprecates it) or module:function (images (B, C, 64, 64) "
        "float32 → (B, D) codes or (mean, log-variance)); the result enters the study's 'external representations' "
        "leaderboard section, and nothing is stored if the encoder fails its checks. On deterministic datasets every "
        "metric reads its codes from the whole factor grid, encoded once (--code-path).",
        epilog="examples:\n  python -m benchmark evaluate --run runs/b4 --metrics all\n"
        "  python -m benchmark evaluate --run runs/b4 --metrics mig,mig_sampled --preset quick\n"
        "  python -m benchmark evaluate --encoder enc.pt2 --dataset dsprites --name my-encoder",
    )
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", default=None, help="a trained run folder (holds config.json and checkpoint.pt)")
    what.add_argument("--encoder", default=None, help="FILE.pt2, FILE.pt or module:function")
    e.add_argument("--dataset", default=None, help="dataset name (--encoder only; a run knows its dataset)")
    e.add_argument("--data-path", default=None, help="file/folder for official-file datasets")
    e.add_argument("--name", default=None, help="--encoder: label in the leaderboard (default: the encoder's name)")
    e.add_argument("--metrics", default=None, help="comma-separated metrics, or 'all' (default: the standard suite)")
    e.add_argument("--preset", default="dlib", choices=["dlib", "quick"], help="metric sample budgets")
    e.add_argument("--seed", type=int, default=0, help="metric seed")
    e.add_argument("--code-path", default="auto", choices=["auto", "table", "render"],
                   help="table: encode the factor grid once; render: encode each metric's samples; auto: whichever encodes fewer")
    e.add_argument("--device", default="auto", help="auto (--run: CUDA if present; --encoder: where its weights live, else CUDA if present), cpu, cuda, cuda:N")
    e.add_argument("--jobs", type=positive_int, default=available_cores(),
                   help="--run: parallel workers for per-factor fits (DCI, SAP, explicitness); the values do not depend on it")
    e.add_argument("--study", default="quick", help="--encoder: study whose leaderboard lists the result")
    e.add_argument("--batch-timeout", type=positive_int, default=600, metavar="SECONDS",
                   help="--encoder: the longest one batch may take; a batch that runs longer (a hang) stops the command "
                        "with an error and nothing stored")
    add_store_arg(e)
    e.set_defaults(func=_evaluate)



_NPZ_HINT = "save with np.savez(path, codes=…, factors=…, factor_sizes=…)"


BYTES_PER_VALUE = 24 * 8  # peak working memory per float64 value of codes, factors and logvar (measured ≈ 17×, 2·10⁶ rows)


def _npz_shapes(path: str) -> dict[str, tuple]:
    """The shape of each array in an npz archive, from the headers alone (nothing is loaded)."""
    import zipfile

    import numpy as np

    shapes = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                shape = (np.lib.format.read_array_header_1_0(f) if version == (1, 0) else np.lib.format.read_array_header_2_0(f))[0]
            shapes[name.removesuffix(".npy")] = tuple(shape)
    return shapes


def _check_fits_in_memory(path: str) -> None:
    """Refuse, before loading, codes whose scoring would not fit in the memory this process has."""
    import math

    from core.memory import available_memory

    try:
        shapes = _npz_shapes(path)
    except Exception:  # a damaged archive: _load_npz says what is wrong with it
        return
    values = sum(math.prod(shapes[k]) for k in ("codes", "factors", "logvar") if k in shapes)
    need, have = values * BYTES_PER_VALUE, available_memory()
    if have is not None and need > have:
        rows = shapes.get("codes", (0,))[0]
        raise ValueError(f"{path} holds {rows:,} rows ({values:,} values): scoring needs ≈ {need / 2**30:.1f} GiB, more than the "
                         f"{have / 2**30:.1f} GiB available — score a random subset of rows, or use a machine with more memory")


def _load_npz(path: str) -> dict:
    """The arrays of an npz file, read eagerly, or a one-line error saying what the file is instead."""
    import zipfile

    import numpy as np

    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not an npz file; {_NPZ_HINT}") from None
    if head[:6] == b"\x93NUMPY":
        raise ValueError(f"{path} is a single-array .npy file, not an npz archive; {_NPZ_HINT}")
    if head[:4] != b"PK\x03\x04":
        raise ValueError(f"{path} is not an npz archive (it does not start like a zip file); {_NPZ_HINT}")
    _check_fits_in_memory(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        reason = "it holds Python objects, which are never unpickled" if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{path} is a damaged or truncated npz archive ({reason}); {_NPZ_HINT}") from None
    missing = [k for k in ("codes", "factors", "factor_sizes") if k not in data]
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(missing)}; expected codes (N×D), factors (N×K int), factor_sizes (K)")
    return data


def _evaluate_codes(args: argparse.Namespace) -> int:
    import numpy as np

    from metrics import TableSource, evaluate_source, select_metrics

    data = _load_npz(args.codes)
    names = [str(n) for n in data["factor_names"]] if "factor_names" in data else None
    source = TableSource(data["codes"], data["factors"], data["factor_sizes"], names, data.get("logvar"))
    rows = (f"these {len(source.codes_table):,} rows (part of the {int(np.prod(source.factor_sizes)):,}-point grid)"
            if not source.full else "these codes (no `logvar`)")
    wanted, note = select_metrics(args.metrics, grid_codes=source.full, grid_posterior="logvar" in data, codes=rows)
    if note:
        print(note, file=sys.stderr)
    result = evaluate_source(source, wanted, seed=args.seed, preset=args.preset, n_jobs=args.jobs, progress=True)
    out = result if args.full else {m: r["values"] for m, r in result.items()}
    print(dumps_json(out, sort_keys=True))
    return 0


def _evaluate(args) -> int:
    if args.run:
        from benchmark.evaluation import evaluate_run_folder

        result = evaluate_run_folder(args.run, args.metrics, args.preset, args.seed, args.code_path, args.device, args.jobs,
                                     progress=True)  # a bar on stderr when it is a terminal; stdout stays JSON
        print(dumps_json(result, sort_keys=True, indent=1))
        return 0
    if not args.dataset:
        raise ValueError("--encoder needs --dataset NAME (see `python -m benchmark datasets`)")
    from benchmark.external import evaluate_external

    path, record = evaluate_external(args.encoder, args.dataset, args.data_path, args.name, args.metrics, args.preset,
                                     args.seed, args.study, args.store, device=args.device, batch_timeout=args.batch_timeout,
                                     progress=True)
    print(dumps_json({m: r["values"] for m, r in record["metrics"].items()}, sort_keys=True))
    print(f"stored {path}")
    return 0
