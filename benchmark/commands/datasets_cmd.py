"""``python -m benchmark datasets [show NAME --out FILE.png]``."""

from __future__ import annotations

import argparse
from .common import int_at_most, output_file


def register(sub) -> None:
    p = sub.add_parser(
        "datasets",
        help="list datasets, or draw a factor-sweep picture of one",
        description="List every dataset with its factors and sizes. `datasets show NAME --out FILE.png` "
        "writes a picture with one row per factor, that factor sweeping its values while the others "
        "stay at the middle of their range.",
    )
    p.set_defaults(func=_list)
    s = p.add_subparsers(dest="action", metavar="ACTION")
    show = s.add_parser("show", help="write a factor-sweep picture", description="Write a factor-sweep PNG.")
    show.add_argument("name", help="dataset name (see `python -m benchmark datasets`)")
    show.add_argument("--out", required=True, type=output_file(".png"), help="output PNG path")
    show.add_argument("--columns", type=int_at_most(64, "each row shows one factor's values; more columns only repeat them"),
                      default=10, help="images per row (1-64)")
    show.add_argument("--data-path", default=None, help="file/folder for official-file datasets")
    show.add_argument("--seed", type=int, default=0, help="seed for stochastic datasets")
    show.set_defaults(func=_show)


def _list(args: argparse.Namespace) -> int:
    from datasets import DATASETS, OFFICIAL_LOADERS, get_dataset

    print("Procedural datasets (rendered on the fly, no download):")
    for name in DATASETS:
        print("  " + get_dataset(name).describe())
        ds = get_dataset(name)
        for f in ds.factors:
            vals = f.values
            span = f"{vals[0]:.4g} … {vals[-1]:.4g}" if len(vals) > 1 else f"{vals[0]:.4g}"
            print(f"      {f.name:<14} {f.size:>4} values  {span}")
    print("Official-file loaders (pass --data-path):")
    for name in OFFICIAL_LOADERS:
        print(f"  {name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from datasets import get_dataset
    from datasets.preview import save_factor_sweep

    ds = get_dataset(args.name, args.data_path)
    out = save_factor_sweep(ds, args.out, columns=args.columns, seed=args.seed)
    print(f"wrote {out}")
    return 0
