"""Leaderboards rebuilt from stored records only: rows are model family × hyper-parameters, each
metric as mean ± std over seeds with n; ranks respect each metric's ``higher_is_better``. Same
records → byte-identical files (sorted rows, fixed float formatting, no timestamps)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from core.io import atomic_write_text

from .records import family_label, load_external, load_records, metric_columns

FORMATS = ("md", "csv", "latex", "html")


def aggregate(records: list[dict]) -> tuple[list[dict], list[tuple[str, str, bool]]]:
    """One row per (dataset, family, hyper-parameters): per-metric mean, std, n; reconstruction."""
    cols = metric_columns(records)
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        fam, hp = family_label(r)
        groups.setdefault((r["cell"]["config"]["dataset"], fam, hp), []).append(r)
    rows = []
    for (dataset, fam, hp), recs in sorted(groups.items()):
        row = {"dataset": dataset, "family": fam, "hparams": hp, "n": len(recs), "seeds": sorted(r["cell"]["config"]["seed"] for r in recs)}
        recon = [r["training"].get("reconstruction") for r in recs if r.get("training", {}).get("reconstruction") is not None]
        row["reconstruction"] = (float(np.mean(recon)), float(np.std(recon, ddof=1)) if len(recon) > 1 else 0.0, len(recon))
        for name, key, _ in cols:
            vals = [r["metrics"][name]["values"][key] for r in recs
                    if name in r["metrics"] and r["metrics"][name]["values"][key] is not None]  # null: not finite
            row[f"{name}.{key}"] = (float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, len(vals)) if vals else None
        rows.append(row)
    for name, key, hib in cols:
        col = f"{name}.{key}"
        scored = sorted((r for r in rows if r[col]), key=lambda r: (-r[col][0] if hib else r[col][0], r["family"], r["hparams"]))
        for rank, r in enumerate(scored, 1):
            r[f"rank.{col}"] = rank
    return rows, cols


def _cell(v) -> str:
    return "–" if v is None else f"{v[0]:.3f} ± {v[1]:.3f} (n={v[2]})"


def table_cells(rows, cols) -> tuple[list[str], list[list[str]]]:
    """(headers, body) of the leaderboard as formatted strings: the one table every format renders."""
    headers = ["dataset", "family", "hyper-parameters", "seeds", "reconstruction ↓"] + [
        f"{n}.{k} {'↑' if hib else '↓'}" for n, k, hib in cols
    ]
    body = [[r["dataset"], r["family"], r["hparams"] or "—", str(r["n"]), _cell(r["reconstruction"])]
            + [_cell(r[f"{n}.{k}"]) + (f" #{r[f'rank.{n}.{k}']}" if r.get(f"rank.{n}.{k}") else "") for n, k, _ in cols]
            for r in rows]
    return headers, body


def render(rows, cols, fmt: str, title: str) -> str:
    headers, body = table_cells(rows, cols)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["dataset", "family", "hparams", "n"] + ["reconstruction_mean", "reconstruction_std"]
                   + [f"{n}.{k}_{s}" for n, k, _ in cols for s in ("mean", "std", "n", "rank")])
        for r in rows:
            vals = []
            for n, k, _ in cols:
                v = r[f"{n}.{k}"]
                vals += [f"{v[0]:.6g}", f"{v[1]:.6g}", v[2], r.get(f"rank.{n}.{k}", "")] if v else ["", "", 0, ""]
            w.writerow([r["dataset"], r["family"], r["hparams"], r["n"], f"{r['reconstruction'][0]:.6g}", f"{r['reconstruction'][1]:.6g}"] + vals)
        return buf.getvalue()
    from tabulate import tabulate

    table_fmt = {"md": "github", "latex": "latex_booktabs", "html": "html"}[fmt]
    table = tabulate(body, headers=headers, tablefmt=table_fmt, disable_numparse=True)
    if fmt == "md":
        return f"# {title}\n\nmean ± std over seeds (n); #k = rank by that metric (↑ higher is better, ↓ lower).\n\n{table}\n"
    return table + "\n"


def best_per_family(rows, cols) -> list[dict]:
    """For each family, its best hyper-parameter row by the first higher-is-better metric's mean."""
    key = next((f"{n}.{k}" for n, k, hib in cols if hib), None)
    best = {}
    for r in rows:
        if key and r[key] and (r["family"] not in best or r[key][0] > best[r["family"]][key][0]):
            best[r["family"]] = r
    return [best[f] for f in sorted(best)]


def build_leaderboard(study_dir: str | Path, study: str, fmt: str = "md", out_dir: str | Path | None = None) -> Path:
    """Rebuild ``leaderboard.<fmt>`` (and the per-family best view for md) from stored records."""
    path = Path(out_dir or study_dir) / f"leaderboard.{fmt}"
    atomic_write_text(path, leaderboard_text(study_dir, study, fmt))
    return path


def leaderboard_text(study_dir: str | Path, study: str, fmt: str = "md") -> str:
    """The leaderboard of the stored records as text in ``fmt`` (writes nothing)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown leaderboard format {fmt!r}; choose one of {', '.join(FORMATS)}")
    records = load_records(study_dir)
    rows, cols = aggregate(records)
    text = render(rows, cols, fmt, f"Leaderboard — study `{study}` ({len(records)} runs)")
    if fmt == "md":
        text += "\n## Best configuration per family\n\n" + render(best_per_family(rows, cols), cols, "md", "best").split("\n\n", 2)[2]
        subs = sorted({(r["cell"]["config"]["model"], json.dumps(r.get("submission", {}), sort_keys=True)) for r in records if r["cell"]["config"].get("submission")})
        if subs:
            text += "\n## Submissions\n\n" + "".join(
                f"- **{name}** {m.get('version', '')} — {', '.join(m.get('authors', []))}: {m.get('description', '')} "
                f"({m.get('citation', '')}; {m.get('code_url', '')})\n" for name, meta in subs for m in [json.loads(meta)])
        external = load_external(study_dir)
        if external:
            from tabulate import tabulate

            ext_cols = sorted({(n, m["primary"]) for r in external for n, m in r["metrics"].items()})
            body = [[r["name"], r["dataset"], r["encoder"]] + [f"{r['metrics'][n]['values'][k]:.3f}" if n in r["metrics"] and r["metrics"][n]["values"][k] is not None else "–" for n, k in ext_cols]
                    for r in external]
            text += "\n## External representations\n\n" + tabulate(body, headers=["name", "dataset", "encoder"] + [f"{n}.{k}" for n, k in ext_cols],
                                                                      tablefmt="github", disable_numparse=True) + "\n"
    return text
