"""Stored run records for the results tests: the fields ``results.records.load_records`` reads, no more."""


def metric(key: str, value, *, higher_is_better: bool = True) -> dict:
    """One metric entry of a record, holding a single value ``key``."""
    return {"values": {key: value}, "primary": key, "higher_is_better": {key: higher_is_better}, "protocol": "p", "version": "1"}


def record(idx: int, model: str, seed: int, metrics: dict, *, hparams: dict | None = None, reconstruction: float = 50.0,
           config: dict | None = None, **fields) -> dict:
    """A complete record of cell ``idx`` (hash ``h{idx:04d}``) on dSprites; ``fields`` add or replace top-level keys."""
    return {"schema_version": 1, "status": "complete", "cell_index": idx, "cell_hash": f"h{idx:04d}",
            "cell": {"config": {"dataset": "dsprites", "model": model, "hparams": hparams or {}, "seed": seed, **(config or {})}},
            "training": {"reconstruction": reconstruction}, "metrics": metrics, **fields}
