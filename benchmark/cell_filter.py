"""Selecting cells of a study from the command line (``run --filter model=betavae,seed=0``)."""

from __future__ import annotations

from core.registry import Registry

from .studies import Cell


def filter_cells(cells, spec: str | None) -> list[Cell]:
    """``model=betavae,seed=0`` → cells matching every key; keys: dataset, model, seed, index, or any
    hyper-parameter name. Unknown keys give a one-line error with suggestions."""
    if not spec:
        return list(cells)
    wanted = {}
    for part in spec.split(","):
        if "=" not in part:
            raise ValueError(f"filter {part!r} must look like key=value (e.g. model=betavae,seed=0)")
        k, v = part.split("=", 1)
        wanted[k.strip()] = v.strip()
    keys = Registry("filter key")
    for k in ["dataset", "model", "seed", "index"] + sorted({h for c in cells for h, _ in c.config.hparams}):
        keys.register(k, k)
    for k in wanted:
        keys.get(k)

    def value(c: Cell, k: str):
        if k == "index":
            return c.index
        if k in ("dataset", "model", "seed"):
            return getattr(c.config, k)
        return dict(c.config.hparams).get(k)

    def match(c: Cell, k: str, v: str) -> bool:
        x = value(c, k)
        try:
            return x is not None and float(x) == float(v)
        except (TypeError, ValueError):
            return str(x) == v

    return [c for c in cells if all(match(c, k, v) for k, v in wanted.items())]
