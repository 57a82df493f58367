"""UDR across a study (Duan et al. 2020): each run scored against the other seeds of its configuration
from the shared probe codes stored with every record, the paper's figure (UDR against each supervised
metric over all runs, Spearman ρ per panel) and the model-selection table (the run UDR picks per family
vs the run each supervised metric picks, and what picking without labels costs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.io import atomic_write_text
from core.layout import PROBE_CODES
from metrics.udr import compute_udr

from .formatting import MIN_SEEDS, TOO_FEW, fixed, markdown_table, significant
from .records import configurations

SELECTION_METRICS = (("mig", "discrete_mig"), ("mig_sampled", "mig"), ("dci", "disentanglement"), ("factor_vae", "eval_accuracy"),
                     ("beta_vae", "eval_accuracy"), ("sap", "SAP_score"))


class MissingProbeCodes(ValueError):
    """Some runs of the study have no stored probe codes."""


def _probe(record: dict) -> dict | None:
    path = Path(record["_path"]).parent / PROBE_CODES
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def study_udr(records: list[dict], kind: str = "spearman") -> list[dict]:
    """One row per run: cell index, family, hyper-parameters, seed, UDR (NaN alone in its configuration)."""
    missing = [r for r in records if not (Path(r["_path"]).parent / PROBE_CODES).exists()]
    if missing:
        cells = ", ".join(str(r["cell_index"]) for r in missing[:12]) + (" …" if len(missing) > 12 else "")
        raise MissingProbeCodes(f"{len(missing)} run(s) have no {PROBE_CODES} (cells {cells}); re-score them with "
                                "`python -m benchmark udr --study NAME --rescore` (needs their checkpoints)")
    rows = []
    for (dataset, fam, hp), recs in configurations(records):
        probes = [_probe(r) for r in recs]
        udr = [float("nan")] * len(recs)
        if len(recs) >= MIN_SEEDS:  # with two seeds both share one symmetric pair score: it ranks nothing
            udr = compute_udr([p["mean"] for p in probes], [p["kl_per_latent"] for p in probes], kind)["udr"]
        for r, u in zip(recs, udr):
            rows.append({"cell_index": r["cell_index"], "dataset": dataset, "family": fam, "hparams": hp,
                         "seed": r["cell"]["config"]["seed"], "seeds": len(recs), "udr": u, "record": r})
    return rows


UDR_ENTRY = {"primary": "udr", "higher_is_better": {"udr": True}, "version": "1",
             "protocol": "Duan et al. 2020 UDR (Spearman) against the other seeds of the configuration, on the shared probe codes"}


def has_probe_codes(records: list[dict]) -> bool:
    """Every run kept its probe codes (UDR needs them all)."""
    return all((Path(r["_path"]).parent / PROBE_CODES).exists() for r in records)


def with_udr(records: list[dict], rows: list[dict] | None = None) -> list[dict]:
    """The records, each with a pseudo-metric ``udr`` when every run has probe codes and some
    configuration has ≥ ``MIN_SEEDS`` seeds (copies: nothing stored changes); else the records unchanged.
    ``rows``: their :func:`study_udr`, when already computed."""
    if not records or not has_probe_codes(records):
        return records
    if all(len(recs) < MIN_SEEDS for _, recs in configurations(records)):
        return records
    by_cell = {row["cell_index"]: row["udr"] for row in (rows if rows is not None else study_udr(records))}
    out = []
    for r in records:
        u = by_cell.get(r["cell_index"])
        value = None if u is None or not np.isfinite(u) else round(float(u), 6)
        out.append({**r, "metrics": {**r["metrics"], "udr": {**UDR_ENTRY, "values": {"udr": value}}}})
    return out


NOT_YET = (f"Empty so far: a run has a UDR once its configuration has {MIN_SEEDS} seeds (with two, both share one "
           "pair score, which ranks nothing), and a rank correlation needs three runs with one.")


def _value(record: dict, metric: str, key: str):
    return record["metrics"].get(metric, {}).get("values", {}).get(key)


def selection_table(rows: list[dict]) -> list[dict]:
    """Per family (all its configurations and seeds): the runs UDR picks and, per supervised metric, the
    run that metric picks and the score lost by picking with UDR instead.

    UDR can tie (the score of a pair is symmetric, so few seeds share scores), and a user without labels
    then picks at random among the tied runs: ``udr_pick`` lists
    them all, and UDR's score is the mean over them (the expected score of that random pick)."""
    out = []
    for fam in sorted({r["family"] for r in rows}):
        runs = [r for r in rows if r["family"] == fam and np.isfinite(r["udr"])]
        if not runs:
            continue
        top = max(r["udr"] for r in runs)
        picks = sorted((r for r in runs if np.isclose(r["udr"], top, rtol=1e-9, atol=1e-12)), key=lambda r: r["cell_index"])
        line = {"family": fam, "runs": len(runs), "udr_pick": [r["cell_index"] for r in picks], "losses": {}}
        for metric, key in SELECTION_METRICS:
            scored = [(r, _value(r["record"], metric, key)) for r in runs]
            scored = [(r, v) for r, v in scored if v is not None]
            if not scored:
                continue
            best, best_v = max(scored, key=lambda t: (t[1], -t[0]["cell_index"]))
            mine = [_value(r["record"], metric, key) for r in picks]
            mine = None if any(v is None for v in mine) else float(np.mean(mine))
            line["losses"][f"{metric}.{key}"] = {"best_run": best["cell_index"], "best": best_v, "udr_pick": mine,
                                                 "lost": None if mine is None else best_v - mine}
        out.append(line)
    return out


def _picks(cells: list[int]) -> str:
    return f"cell {cells[0]}" if len(cells) == 1 else "cells " + ", ".join(map(str, cells)) + " (tie)"


def rank_correlations(rows: list[dict]) -> dict[str, tuple[float, int]]:
    """Spearman ρ between UDR and each supervised metric over all runs with both: {metric: (ρ, n)}."""
    from scipy import stats

    out = {}
    for metric, key in SELECTION_METRICS:
        pairs = [(r["udr"], _value(r["record"], metric, key)) for r in rows]
        pairs = [(u, v) for u, v in pairs if v is not None and np.isfinite(u)]
        if len(pairs) >= 3:
            out[f"{metric}.{key}"] = (float(stats.spearmanr(*zip(*pairs)).statistic), len(pairs))
    return out


def build_udr(study_dir: str | Path, study: str, kind: str = "spearman", data=None) -> list[Path]:
    """udr.json, udr.md and udr_vs_metrics.png in the study folder (``data``: the study's
    :class:`results.study_data.StudyData`, loaded here when not given)."""
    from .plots import udr_scatter
    from .study_data import load_study

    d = Path(study_dir)
    data = data or load_study(d)
    records = data.records
    if not records:
        raise ValueError(f"no complete records in {d}; run the study first")
    rows = data.udr_rows if kind == "spearman" and data.udr_rows is not None else study_udr(records, kind)
    rho = rank_correlations(rows)
    sel = selection_table(rows)
    data = {"study": study, "correlation": kind, "runs": [{k: v for k, v in r.items() if k != "record"} for r in rows],
            "rank_correlation": {m: {"rho": v[0], "n": v[1]} for m, v in rho.items()}, "selection": sel}
    text = json.dumps(significant(data), indent=1, sort_keys=True, allow_nan=True).replace("NaN", "null")
    paths = [atomic_write_text(d / "udr.json", text + "\n")]
    lines = [f"# UDR — study `{study}` ({len(rows)} runs, {kind} correlation)", "",
             "Unsupervised Disentanglement Ranking (Duan et al. 2020): each run against the other seeds of its "
             "configuration, on the shared probe codes. Few seeds per configuration make each UDR a noisy "
             "estimate: read the ranks, not the decimals.", ""]
    lines += markdown_table(("cell", "family", "hyper-parameters", "seed", "UDR"),
                            [(r["cell_index"], r["family"], r["hparams"] or "—", r["seed"], TOO_FEW if r["seeds"] < MIN_SEEDS else fixed(r["udr"]))
                             for r in rows])
    lines += ["", "## Spearman rank correlation of UDR with supervised metrics (all runs)", ""]
    lines += markdown_table(("metric", "ρ", "runs"), [(m, fixed(v[0], 2), v[1]) for m, v in rho.items()])
    if not rho:
        lines += ["", NOT_YET]
    lines += ["", "## Model selection without labels", "",
              "Per family: the run UDR would keep, the run each supervised metric would keep, and the score lost "
              "by trusting UDR. Where UDR ties, its score is the mean over the tied runs (a random pick among "
              "them).", ""]
    lines += markdown_table(("family", "runs", "UDR picks", "metric", "metric picks", "best", "UDR's pick", "lost"),
                            [(s["family"], s["runs"], _picks(s["udr_pick"]), m, f"cell {v['best_run']}", fixed(v["best"]),
                              fixed(v["udr_pick"]), fixed(v["lost"])) for s in sel for m, v in s["losses"].items()])
    if not sel:
        lines += ["", NOT_YET]
    paths.append(atomic_write_text(d / "udr.md", "\n".join(lines) + "\n"))
    paths.append(udr_scatter(rows, rho, SELECTION_METRICS, d / "udr_vs_metrics.png"))
    return paths
