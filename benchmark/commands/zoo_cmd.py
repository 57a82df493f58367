"""``zoo list``, ``zoo verify`` and ``zoo draw``: the published trained models."""

from __future__ import annotations

from .common import add_store_arg


def register(sub) -> None:
    p = sub.add_parser("zoo", help="published trained models: list them, check one against its record",
                       description="The model zoo: every cell that kept its final weights (weights.pt beside its record). "
                       "Load one in Python with benchmark.zoo.load(study, cell, device).")
    zs = p.add_subparsers(dest="zoo_command", required=True)
    ls = zs.add_parser("list", help="models with weights in a study")
    ls.add_argument("--study", default="cpu2", help="study name")
    add_store_arg(ls)
    ls.set_defaults(func=_list)
    v = zs.add_parser("verify", help="reload a model and compare its probe codes with the record's")
    v.add_argument("cell", help="cell index or hash")
    v.add_argument("--study", default="cpu2", help="study name")
    v.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    add_store_arg(v)
    v.set_defaults(func=_verify)
    dr = zs.add_parser("draw", help="redraw a model's reconstructions and prior samples (samples.png) from its weights")
    dr.add_argument("cells", nargs="+", help="cell indices or hashes")
    dr.add_argument("--study", default="cpu2", help="study name")
    dr.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    add_store_arg(dr)
    dr.set_defaults(func=_draw)


def _list(args) -> int:
    from benchmark.zoo import list_models

    rows = list_models(args.study, args.store)
    for m in rows:
        mig = "n/a" if m.mig is None else f"{m.mig:.3f}"
        print(f"{m.index:>4}  {m.cell_hash}  {m.label:<55} MIG {mig}  {m.weights_bytes / 1e6:.1f} MB")
    print(f"{len(rows)} model(s) with weights in study {args.study!r}" +
          (" (cells 0-14 of cpu2 were published before weights were kept)" if args.study == "cpu2" else ""))
    return 0


def _verify(args) -> int:
    from benchmark.zoo import verify

    diff = verify(args.study, args.cell, args.device, args.store)
    print(f"cell {args.cell} of {args.study}: probe mean codes reproduced, max |Δ| = {diff:.3g}")
    return 0 if diff < 1e-4 else 1


def _draw(args) -> int:
    from benchmark.zoo import draw

    for cell in args.cells:
        print(f"cell {cell} of {args.study}: {draw(args.study, cell, args.device, args.store)}")
    return 0
