"""The newer metrics (IRS, MCC, InfoMEC, DCI-ES) on a study's published probe codes — no model needed.

Each record keeps ``probe_codes.npz``: the mean codes of 10,000 fixed factor draws. The first 5,000 are the
training half (MCC's correlations, InfoMEC's NMI and InfoE fit, linear R²'s fit), the last 5,000 the test
half (InfoE, linear R² and DCI-ES's forests scores); IRS reads all 10,000. Values go to ``probe_metrics.json``
(computed once per metric — a metric added later is scored on the runs that lack it, the others are kept —
≈ 20 s a run on 2 cores), the page ``probe_metrics.md`` — per run, per configuration, and
the Spearman rank correlation of every metric with every other over the runs (all, and those that encode
the image) — and the figure ``probe_metrics_rank_correlation.png`` are rebuilt from that file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from core.io import atomic_write_json, atomic_write_text, read_json
from core.layout import PROBE_CODES
from metrics.dci_es import compute_dci_es
from metrics.infomec import compute_infomec
from metrics.irs import compute_irs
from metrics.mcc import compute_mcc

from .records import encodes_image, family_label, load_records

JSON, PAGE, FIGURE = "probe_metrics.json", "probe_metrics.md", "probe_metrics_rank_correlation.png"
NEW = (("IRS", "IRS"), ("MCC", "mcc"), ("linear R²", "linear_r2"), ("InfoM", "infom"), ("InfoE", "infoe"), ("InfoC", "infoc"),
       ("DCI-ES E", "explicitness"), ("DCI-ES I", "es_informativeness"))
STORED = (("MIG (dlib)", "mig", "discrete_mig"), ("MIG (Chen)", "mig_sampled", "mig"), ("DCI dis.", "dci", "disentanglement"),
          ("β-VAE", "beta_vae", "eval_accuracy"), ("FactorVAE", "factor_vae", "eval_accuracy"), ("SAP", "sap", "SAP_score"),
          ("modularity", "modularity_explicitness", "modularity_score"))
HALF = 5_000


def _irs(z, f, seed):
    return {"IRS": compute_irs(z, f)["IRS"]}


def _mcc(z, f, seed):
    return {k: v for k, v in compute_mcc(z[:HALF], f[:HALF], z[HALF:], f[HALF:]).items() if k in ("mcc", "linear_r2")}


def _infomec(z, f, seed):
    return {k: v for k, v in compute_infomec(z[:HALF], f[:HALF], z[HALF:], f[HALF:], seed=seed).items() if k != "active_latents"}


def _dci_es(z, f, seed):
    r = compute_dci_es(z[:HALF], f[:HALF], z[HALF:], f[HALF:], seed=seed, n_jobs=2)
    return {"explicitness": r["explicitness"], "es_informativeness": r["informativeness"]}


# each scorer with the keys it writes: a file missing any of a scorer's keys gets that scorer run
SCORERS = ((_irs, ("IRS",)), (_mcc, ("mcc", "linear_r2")), (_infomec, ("infom", "infoe", "infoc")),
           (_dci_es, ("explicitness", "es_informativeness")))


def score_probe(path: Path, seed: int = 0, have: dict | None = None) -> dict[str, float]:
    """Every newer metric on one run's probe codes; with ``have``, only the scorers whose keys it lacks
    run and its values are kept."""
    d = np.load(path)
    z, f = d["mean"].astype(np.float64), d["factors"].astype(np.int64)
    out = dict(have or {})
    for scorer, keys in SCORERS:
        if not all(k in out for k in keys):
            out.update({k: round(float(v), 6) for k, v in scorer(z, f, seed).items()})
    return out


def compute_probe_metrics(study_dir: str | Path, progress=None) -> Path:
    """Score every record's probe codes that ``probe_metrics.json`` lacks; returns the file."""
    study_dir = Path(study_dir)
    path = study_dir / JSON
    have = read_json(path) if path.exists() else {}
    for r in load_records(study_dir):
        folder = Path(r["_path"]).parent
        missing = any(k not in have.get(folder.name, {}) for _, keys in SCORERS for k in keys)
        if missing and (folder / PROBE_CODES).exists():
            have[folder.name] = score_probe(folder / PROBE_CODES, have=have.get(folder.name))
            atomic_write_json(path, have)
            if progress:
                progress(folder.name)
    return atomic_write_json(path, have)


def _rows(study_dir: Path) -> list[dict]:
    scores = read_json(study_dir / JSON)
    rows = []
    for r in load_records(study_dir):
        cell = Path(r["_path"]).parent.name
        if cell not in scores:
            continue
        fam, hp = family_label(r)
        row = {"run": f"{fam} ({hp or '—'}), seed {r['cell']['config']['seed']}", "config": f"{fam} ({hp or '—'})",
               "encodes": encodes_image(r), **scores[cell]}
        for label, metric, key in STORED:
            row[label] = r["metrics"].get(metric, {}).get("values", {}).get(key)
        rows.append(row)
    return rows


def _rank_matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    x = np.array([[np.nan if r[n] is None else r[n] for n in names] for r in rows], dtype=float)
    out = np.full((len(names), len(names)), np.nan)
    for i in range(len(names)):
        for j in range(len(names)):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            if ok.sum() >= 3 and np.ptp(x[ok, i]) > 0 and np.ptp(x[ok, j]) > 0:
                out[i, j] = spearmanr(x[ok, i], x[ok, j])[0]
    return out


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}"


def build_probe_metrics_page(study_dir: str | Path, study: str) -> list[Path]:
    """The page and figure from ``probe_metrics.json`` and the records ([] when the file is absent)."""
    study_dir = Path(study_dir)
    if not (study_dir / JSON).exists():
        return []
    rows = _rows(study_dir)
    new = [label for label, _ in NEW]
    keys = dict((label, key) for label, key in NEW)
    for r in rows:
        for label in new:
            r[label] = r.pop(keys[label]) if keys[label] != label else r[label]
    names = new + [label for label, _, _ in STORED]
    lines = [f"# Newer metrics on the published probe codes — study `{study}`", "",
             "IRS, MCC, linear R², InfoMEC and DCI-ES (explicitness E and its forests' informativeness I) computed from each run's committed probe codes (mean codes of 10,000 fixed "
             "factor draws; first 5,000 fit, last 5,000 test; `results/probe_metrics.py`), beside the record's own "
             "scores. The leaderboard is unchanged. Rebuilt by `python -m benchmark probe-metrics --study "
             f"{study}`.", "", "## Per configuration (mean ± std over seeds)", "",
             "| configuration | n | " + " | ".join(new) + " |", "|---|---|" + "---|" * len(new)]
    configs: dict[str, list[dict]] = {}
    for r in rows:
        configs.setdefault(r["config"], []).append(r)
    for cfg, rs in configs.items():
        cells = [f"{np.mean([r[n] for r in rs]):.3f} ± {np.std([r[n] for r in rs], ddof=1) if len(rs) > 1 else 0:.3f}" for n in new]
        lines.append(f"| {cfg} | {len(rs)} | " + " | ".join(cells) + " |")
    lines += ["", "## Every run", "", "| run | " + " | ".join(new) + " |", "|---|" + "---|" * len(new)]
    lines += [f"| {r['run']} | " + " | ".join(_fmt(r[n]) for n in new) + " |" for r in rows]
    for title, subset in (("all runs", rows), ("runs that encode the image (index-code MI > 0.01 nats)", [r for r in rows if r["encodes"]])):
        m = _rank_matrix(subset, names)
        lines += ["", f"## Spearman rank correlation over {title} (n = {len(subset)})", "",
                  "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| {a} | " + " | ".join(_fmt(m[i, j]) for j in range(len(names))) + " |" for i, a in enumerate(names)]
    page = atomic_write_text(study_dir / PAGE, "\n".join(lines) + "\n")
    return [page, _figure(study_dir / FIGURE, _rank_matrix([r for r in rows if r["encodes"]], names), names,
                          sum(r["encodes"] for r in rows))]


def _figure(path: Path, m: np.ndarray, names: list[str], n: int) -> Path:
    from .plots import plt, save_figure

    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    im = ax.imshow(np.nan_to_num(m), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            v = m[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if not np.isnan(v) and abs(v) > 0.45 else "black")
    ax.set_title(f"Spearman rank correlation of metrics over the {n} runs that encode the image")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return save_figure(fig, path)
