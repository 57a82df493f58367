"""``leaderboard``, ``stability`` and ``report``: outputs rebuilt from a study's stored records."""

from __future__ import annotations

import argparse

from .common import add_store_arg, existing_study_dir, os_error_line, output_file


def register(sub) -> None:
    sb = sub.add_parser("stability", help="seed-stability analysis of a study (tables + plots)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="Per-configuration spread over seeds with bootstrap CIs, the share of each metric's variance "
                        "explained by family / hyper-parameter / seed, Spearman correlation between metrics, the rank-flip "
                        "probability, and (with --eval-seeds) evaluation-seed stability: trained models re-scored under "
                        "several metric seeds (no training). Writes stability.md and plots into the study folder.")
    sb.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    sb.add_argument("--eval-seeds", type=int, default=0, help="re-score models under this many extra metric seeds")
    sb.add_argument("--eval-runs", type=int, default=4, help="how many runs to re-score for evaluation-seed stability")
    add_store_arg(sb)
    sb.set_defaults(func=_stability)

    pm = sub.add_parser("probe-metrics", help="IRS, MCC, InfoMEC and DCI-ES from every run's stored probe codes (no model needed)",
                        description="Scores each record's probe_codes.npz with the newer metrics (IRS, MCC, linear R², InfoM/E/C, DCI-ES explicitness) "
                        "once into probe_metrics.json, then writes probe_metrics.md (per run, per configuration, Spearman "
                        "rank correlations with every stored metric) and a rank-correlation figure. The leaderboard is unchanged.")
    pm.add_argument("--study", default="cpu2", help="study name")
    add_store_arg(pm)
    pm.set_defaults(func=_probe_metrics)

    rp = sub.add_parser("report", help="write the self-contained HTML report of a study",
                        description="One static HTML page per study (sortable leaderboard, plots, stability) plus a page per run.")
    rp.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    add_store_arg(rp)
    rp.set_defaults(func=_report)

    ud = sub.add_parser("udr", help="unsupervised model selection (UDR) across the seeds of each configuration",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="UDR (Duan et al. 2020) of every run against the other seeds of its configuration, from the "
                        "shared probe codes each scored run stores; writes udr.json, udr.md (per-run UDR, its rank correlation "
                        "with the supervised metrics, and the model-selection table) and udr_vs_metrics.png.",
                        epilog="example:\n  python -m benchmark udr --study smoke --correlation lasso")
    ud.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    ud.add_argument("--correlation", default="spearman", choices=["spearman", "lasso"], help="latent similarity")
    ud.add_argument("--rescore", action="store_true", help="first compute missing probe codes from the runs' checkpoints")
    add_store_arg(ud)
    ud.set_defaults(func=_udr)

    lb = sub.add_parser("leaderboard", help="rebuild the leaderboard from stored records",
                        description="Rebuild the leaderboard deterministically from stored records only (same records → same "
                        "bytes): writes leaderboard.<format> into the study folder and prints it, or writes only --out. "
                        "runs-csv is one row per run with every metric value and hyper-parameter (for pandas).")
    lb.add_argument("--study", default="quick", help="study name (see `python -m benchmark studies`)")
    lb.add_argument("--format", default="md", choices=["md", "csv", "latex", "html", "runs-csv"], help="output format")
    lb.add_argument("--out", default=None, help="write the table to this file instead of the study folder and stdout")
    lb.add_argument("--rank-by", default=None, metavar="METRIC[.KEY]",
                    help="the score rows are sorted by, best first, and the best configuration per family is chosen by "
                         "(default: mig.discrete_mig, dlib's discrete MIG, where the study has it)")
    add_store_arg(lb)
    lb.set_defaults(func=_leaderboard)


SUFFIXES = {"md": (".md", ".markdown", ".txt"), "csv": (".csv",), "runs-csv": (".csv",), "latex": (".tex",),
            "html": (".html", ".htm")}


def _leaderboard(args) -> int:
    import sys

    from benchmark.store import RunStore
    from core.io import atomic_write_text
    from results.leaderboard import leaderboard_text

    if args.out is not None:  # checked before any work: the format decides the file's ending
        try:
            output_file(*SUFFIXES[args.format])(args.out)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"--out: {exc}") from None
    d = existing_study_dir(RunStore(args.store), args.study)
    text = leaderboard_text(d, args.study, args.format, args.rank_by)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    try:
        atomic_write_text(d / f"leaderboard.{args.format.replace('runs-csv', 'runs.csv')}", text)
    except OSError as exc:  # a read-only store still shows its leaderboard
        print(f"note: leaderboard not stored: {os_error_line(exc)}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def _stability(args) -> int:
    from benchmark.evaluation import rescore_eval_seeds
    from benchmark.store import RunStore
    from benchmark.studies import get_study
    from results.stability_report import build_stability

    store = RunStore(args.store)
    d = existing_study_dir(store, args.study)
    if args.eval_seeds:
        rescore_eval_seeds(get_study(args.study), store, args.eval_seeds, args.eval_runs)
    paths = build_stability(d, args.study)
    print(paths[0].read_text())
    print("outputs: " + ", ".join(str(p) for p in paths))
    return 0


def _report(args) -> int:
    from benchmark.store import RunStore
    from results.report import build_report

    from benchmark.studies import STUDIES, get_study

    store = RunStore(args.store)
    caveat = get_study(args.study).caveat if args.study in STUDIES else ""
    print(f"wrote {build_report(existing_study_dir(store, args.study), args.study, caveat)}")
    return 0



def _udr(args) -> int:
    from benchmark.store import RunStore
    from results.udr_report import build_udr

    store = RunStore(args.store)
    d = existing_study_dir(store, args.study)
    if args.rescore:
        from benchmark.evaluation import rescore_probes

        print(f"probe codes written for {rescore_probes(d)} run(s)")
    paths = build_udr(d, args.study, args.correlation)
    print(paths[1].read_text())
    print("outputs: " + ", ".join(str(p) for p in paths))
    return 0


def _probe_metrics(args) -> int:
    from tqdm import tqdm

    from benchmark.store import RunStore
    from results.probe_metrics import build_probe_metrics_page, compute_probe_metrics

    from .common import existing_study_dir

    d = existing_study_dir(RunStore(args.store), args.study)
    with tqdm(desc="probe codes scored", unit="run") as bar:
        compute_probe_metrics(d, progress=lambda cell: bar.update(1))
    for path in build_probe_metrics_page(d, args.study):
        print(path)
    return 0
