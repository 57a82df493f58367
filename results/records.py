"""Loading result records from a run store, robustly.

A record that cannot be parsed, is incomplete, or comes from an unknown schema is skipped with a
warning naming the file; older schemas are upgraded in :func:`upgrade`.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from core.layout import RESULT, SCHEMA_VERSION, STUDY
from core.record_schema import record_field_problem


def schema_problem(record: dict) -> str | None:
    """Why a record's schema cannot be read by this code (None when it can; older schemas would be upgraded here)."""
    version = record.get("schema_version")
    if version == SCHEMA_VERSION:
        return None
    return f"record schema {version!r} is not supported by this code (schema {SCHEMA_VERSION})"


def upgrade(record: dict, path: Path) -> dict | None:
    """Bring a record to the current schema, or None (with a warning) if that is impossible."""
    problem = schema_problem(record)
    if problem is None:
        return record
    warnings.warn(f"{path}: {problem}; skipped", stacklevel=3)
    return None


SHOWN_SKIPS = 5  # a store with thousands of torn records gets one line naming the first few, not a flood


def _skip_note(study_dir: Path, skipped: list[str]) -> str:
    shown = "; ".join(skipped[:SHOWN_SKIPS]) + (f"; … and {len(skipped) - SHOWN_SKIPS} more" if len(skipped) > SHOWN_SKIPS else "")
    return f"{len(skipped)} record(s) in {study_dir} skipped — {shown}"


def _study_name(study_dir: Path) -> str | None:
    """The study's name from its ``study.json`` (None without one)."""
    try:
        name = json.loads((study_dir / STUDY).read_text(encoding="utf-8")).get("study")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def _why_skipped(path: Path, rec, study_name: str | None) -> str | None:
    """Why a record file does not count (None when it does): every reader uses these rules."""
    if not isinstance(rec, dict):
        return f"{path}: not a record object"
    if problem := schema_problem(rec):
        return f"{path}: {problem}"
    if problem := record_field_problem(rec):
        return f"{path}: {problem} — restore the file or rerun the cell"
    if rec.get("cell_hash") != path.parent.name:  # a backup copy (CELL.bak) or a record copied into another cell
        return (f"{path}: the record of cell {rec.get('cell_hash')!r} in folder {path.parent.name!r} (a copy?) — only a "
                "cell's own folder counts")
    if study_name and rec.get("study") not in (None, study_name):
        return f"{path}: a record of study {rec.get('study')!r} in study {study_name!r}"
    return None


def load_records(study_dir: str | Path, include_failed: bool = False) -> list[dict]:
    """All usable records of a study folder, sorted by cell index (deterministic order). What it skips (links,
    unreadable or torn files, other schemas, wrong field types, copies, other studies' records) it names in
    one warning, counted."""
    out, skipped = [], []
    study_name = _study_name(Path(study_dir))
    for path in sorted(Path(study_dir).glob(f"*/{RESULT}")):
        if path.parent.is_symlink() or path.is_symlink():
            skipped.append(f"{path}: a link, not a cell's own record (remove the link)")
            continue
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            skipped.append(f"{path}: unreadable record ({type(exc).__name__})")
            continue
        if why := _why_skipped(path, rec, study_name):
            skipped.append(why)
            continue
        if rec.get("status") != "complete" and not include_failed:
            continue
        rec["_path"] = str(path)
        out.append(rec)
    if skipped:
        warnings.warn(_skip_note(Path(study_dir), skipped), stacklevel=2)
    return sorted(out, key=lambda r: (r.get("cell_index", 0), r.get("cell_hash", "")))


def hparam_items(rec: dict) -> dict[str, str]:
    """A record's hyper-parameters as displayed, sorted by name: numbers in ``%g`` form ("4", not "4.0");
    the dataset size the harness injects is not one."""
    hp = rec["cell"]["config"]["hparams"]
    return {k: f"{v:g}" if isinstance(v, (int, float)) else str(v) for k, v in sorted(hp.items()) if k != "dataset_size"}


def trained_on(rec: dict) -> str:
    """What trained a record's model: ``cpu`` (also every record written before provenance existed — all
    were CPU runs), or e.g. ``cuda NVIDIA H200 tf32`` from the record's ``provenance``."""
    prov = rec.get("provenance") or {}
    if not isinstance(prov, dict) or prov.get("device_type") != "cuda":
        return "cpu"
    precision = prov.get("precision", "fp32")
    return " ".join(x for x in ("cuda", str(prov.get("gpu", "")), "" if precision == "fp32" else str(precision)) if x)


def family_label(rec: dict) -> tuple[str, str]:
    """(model family, hyper-parameter label) of a record; submissions are marked as such, and so are GPU-trained
    runs (``betavae [cuda NVIDIA H200]``): their seeds never average with CPU-trained ones unseen."""
    cfg = rec["cell"]["config"]
    label = ", ".join(f"{k}={v}" for k, v in hparam_items(rec).items())
    family = f"{cfg['model']} [submission]" if cfg.get("submission") else cfg["model"]
    device = trained_on(rec)
    return (family if device == "cpu" else f"{family} [{device}]"), label


def configurations(records: list[dict]) -> list[tuple[tuple[str, str, str], list[dict]]]:
    """Records grouped by configuration — (dataset, family, hyper-parameter label) — in sorted order;
    the seeds of one configuration are one group."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        fam, hp = family_label(r)
        groups.setdefault((r["cell"]["config"]["dataset"], fam, hp), []).append(r)
    return sorted(groups.items())


def load_external(study_dir: str | Path) -> list[dict]:
    """Records of external representations (``python -m benchmark evaluate``), sorted by path."""
    out = []
    for path in sorted(Path(study_dir).glob(f"external/*/{RESULT}")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            warnings.warn(f"{path}: unreadable record; skipped", stacklevel=2)
            continue
        rec = upgrade(rec, path)
        if rec and rec.get("status") == "complete":
            out.append(rec)
    return out


def metric_columns(records: list[dict]) -> list[tuple[str, str, bool]]:
    """(metric, value key, higher_is_better) for each primary metric value present, sorted."""
    cols = {}
    for r in records:
        for name, m in r["metrics"].items():
            cols[(name, m["primary"])] = bool(m["higher_is_better"].get(m["primary"], True))
    return [(n, k, hib) for (n, k), hib in sorted(cols.items())]


def metric_value(rec: dict, metric: str, key: str) -> float | None:
    """A record's finite value of ``metric``'s ``key``, else None (missing, non-numeric, NaN or inf)."""
    v = rec.get("metrics", {}).get(metric, {}).get("values", {}).get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def best_run(records: list[dict], metric: str = "mig", key: str = "discrete_mig", higher_is_better: bool = True) -> dict | None:
    """The one place that decides "the best run by a metric": the run with the best finite value (ties to
    the lowest cell index); None when no run has one. Every figure or table that names a best run uses it."""
    scored = [(v, r) for r in records if (v := metric_value(r, metric, key)) is not None]
    if not scored:
        return None
    sign = 1.0 if higher_is_better else -1.0
    return max(scored, key=lambda vr: (sign * vr[0], -vr[1].get("cell_index", 0)))[1]


def run_label(rec: dict) -> str:
    """"family (hyper-parameters), seed s" — how figures and tables name one run."""
    fam, hp = family_label(rec)
    return f"{fam} ({hp or '—'}), seed {rec['cell']['config']['seed']}"


def encodes_image(rec: dict) -> bool:
    """Whether a run's codes carry information about the image: Chen's index-code MI above 0.01 nats (the
    collapsed annealed γ = 1000 runs have 0 while their KL is ≈ 25 nats); without that metric, active latents."""
    mi = rec.get("metrics", {}).get("elbo_decomposition", {}).get("values", {}).get("mutual_information")
    return mi > 0.01 if isinstance(mi, (int, float)) else bool(rec.get("training", {}).get("active_latents", 1))
