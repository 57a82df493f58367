"""Field types of a result record, checked on read: a record edited by hand or by a tool (a metric value
turned into a string, an index into a word) is skipped with the file and field named, instead of
stopping every output with a traceback."""

from __future__ import annotations

from numbers import Real

STATUSES = ("complete", "failed")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _bad_value(x, where: str) -> str | None:
    """The first field under ``where`` that is not a number, null, or a list/object of them."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, Real):  # NaN and ±inf are values too: outputs show them as missing and never rank them
        return None
    if isinstance(x, list):
        return next((p for i, v in enumerate(x) if (p := _bad_value(v, f"{where}[{i}]"))), None)
    if isinstance(x, dict):
        return next((p for k, v in x.items() if (p := _bad_value(v, f"{where}.{k}"))), None)
    return f"{where} is {type(x).__name__} {str(x)[:40]!r}, not a number"


def record_field_problem(rec: dict) -> str | None:
    """Why a record's fields cannot be used (None when they can): the wrong type where outputs read it."""
    if not _is_int(rec.get("cell_index")) or rec["cell_index"] < 0:
        return f"cell_index is {rec.get('cell_index')!r}, not a whole number ≥ 0"
    if not isinstance(rec.get("cell_hash"), str):
        return f"cell_hash is {rec.get('cell_hash')!r}, not a string"
    if rec.get("status") not in STATUSES:
        return f"status is {rec.get('status')!r}, not one of {', '.join(STATUSES)}"
    cfg = rec.get("cell", {}).get("config") if isinstance(rec.get("cell"), dict) else None
    if not isinstance(cfg, dict):
        return "cell.config is missing or not an object"
    if not isinstance(cfg.get("model"), str) or not isinstance(cfg.get("dataset"), str):
        return "cell.config.model and cell.config.dataset must be strings"
    if not isinstance(cfg.get("hparams"), dict):
        return "cell.config.hparams is not an object"
    if not _is_int(cfg.get("seed")):
        return f"cell.config.seed is {cfg.get('seed')!r}, not a whole number"
    if rec["status"] != "complete":
        return None
    metrics = rec.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        return "a complete record without metrics"
    for name, m in metrics.items():
        if not isinstance(m, dict) or not isinstance(m.get("values"), dict):
            return f"metrics.{name}.values is missing or not an object"
        if problem := _bad_value(m["values"], f"metrics.{name}.values"):
            return problem
    return None
