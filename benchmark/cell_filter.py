"""Selecting cells of a study from the command line (``run --filter model=betavae,seed=0``)."""

from __future__ import annotations

from core.registry import Registry

from .studies import Cell


def filter_cells(cells, spec: str | None) -> list[Cell]:
    """``model=betavae,seed=0`` → cells matching every key; a key given twice matches any of its values
    (``model=vae,model=tcvae``). Keys: dataset, model, seed, index, or any hyper-parameter name. An
    unknown key, a word where a number belongs, or a filter no cell matches gives a one-line error."""
    cells = list(cells)
    if not spec:
        return cells
    wanted: dict[str, list[str]] = {}
    for part in spec.split(","):
        if "=" not in part:
            raise ValueError(f"filter {part!r} must look like key=value (e.g. model=betavae,seed=0)")
        k, v = part.split("=", 1)
        wanted.setdefault(k.strip(), []).append(v.strip())
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

    for k, values in wanted.items():
        numeric = all(isinstance(value(c, k), (int, float)) for c in cells if value(c, k) is not None)
        for v in values:
            try:
                float(v)
            except ValueError:
                if numeric:
                    raise ValueError(f"filter {k}={v}: {k} takes a number (e.g. {k}={_values(cells, k, value)[0]})") from None

    def match(c: Cell, k: str, v: str) -> bool:
        x = value(c, k)
        try:
            return x is not None and float(x) == float(v)
        except (TypeError, ValueError):
            return str(x) == v

    kept = [c for c in cells if all(any(match(c, k, v) for v in vs) for k, vs in wanted.items())]
    if not kept:
        for k, vs in wanted.items():
            if not any(match(c, k, v) for c in cells for v in vs):
                raise ValueError(f"filter {spec!r} matches none of the study's {len(cells)} cells: {k} takes "
                                 f"{', '.join(map(str, _values(cells, k, value)))}")
        raise ValueError(f"filter {spec!r} matches none of the study's {len(cells)} cells: no cell has all of these values together")
    return kept


def _values(cells, k: str, value) -> list:
    """The distinct values of key ``k`` among the cells, sorted."""
    found = {value(c, k) for c in cells} - {None}
    return sorted(found, key=lambda x: (not isinstance(x, (int, float)), x if isinstance(x, (int, float)) else str(x)))
