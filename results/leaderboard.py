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

from .formatting import MIN_SEEDS, MISSING, fixed, over_seeds
from .records import configurations, encodes_image, family_label, load_external, metric_columns, metric_value

FORMATS = ("md", "csv", "latex", "html", "runs-csv")


def metric_label(name: str, key: str) -> str:
    """The human name of a metric value ("MIG (dlib)"), or ``name.key`` for one the registry does not know."""
    from metrics import METRICS

    if name in METRICS and METRICS.get(name).label and METRICS.get(name).primary == key:
        return METRICS.get(name).label
    if name == "udr":
        return "UDR (no labels)"
    return f"{name}.{key}"


def glossary(cols) -> list[tuple[str, str, str]]:
    """(human name, direction, one-line definition) of each metric column."""
    from metrics import METRICS

    out = []
    for name, key, hib in cols:
        spec = METRICS.get(name) if name in METRICS else None
        definition = (spec.definition or spec.protocol) if spec else (
            "agreement of a run with the other seeds of its configuration up to permutation and sign of the latents "
            "(Duan et al. 2020); needs no ground-truth factors" if name == "udr" else "(not a registered metric)")
        out.append((metric_label(name, key), "higher is better" if hib else "lower is better", definition))
    return out


def aggregate(records: list[dict]) -> tuple[list[dict], list[tuple[str, str, bool]]]:
    """One row per (dataset, family, hyper-parameters): per-metric mean, std, n; reconstruction."""
    cols = metric_columns(records)
    rows = []
    for (dataset, fam, hp), recs in configurations(records):
        row = {"dataset": dataset, "family": fam, "hparams": hp, "n": len(recs), "seeds": sorted(r["cell"]["config"]["seed"] for r in recs),
               "collapsed": not any(map(encodes_image, recs))}
        recon = [r["training"].get("reconstruction") for r in recs if r.get("training", {}).get("reconstruction") is not None]
        row["reconstruction"] = (float(np.mean(recon)), float(np.std(recon, ddof=1)) if len(recon) > 1 else 0.0, len(recon))
        for name, key, _ in cols:
            vals = [v for r in recs if (v := metric_value(r, name, key)) is not None]  # finite numbers only: null, NaN, text never count
            row[f"{name}.{key}"] = (float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, len(vals)) if vals else None
        rows.append(row)
    for name, key, hib in cols:  # competition ranks on the shown (3-decimal) means: equal shown → equal rank
        col = f"{name}.{key}"
        # a collapsed configuration (its codes say nothing about the image) scores "perfectly" on lower-is-better
        # independence measures (TC 0): it is shown but not ranked there; nor is one with fewer than MIN_SEEDS values
        scored = [r for r in rows if r[col] and r[col][2] >= MIN_SEEDS and (hib or not r["collapsed"])]
        shown = {id(r): round(r[col][0], 3) * (1 if hib else -1) for r in scored}
        for r in scored:
            r[f"rank.{col}"] = 1 + sum(shown[id(o)] > shown[id(r)] for o in scored)
    return rows, cols


def _cell(v, seeds: int | None = None) -> str:
    """A metric's "mean ± std (n=k)"; the n is left out when it equals ``seeds`` (compact tables)."""
    if v is None:
        return MISSING
    return over_seeds(*v, show_n=v[2] != seeds) if v[2] > 1 else over_seeds(*v)


def table_cells(rows, cols, compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """(headers, body) of the leaderboard as formatted strings: the one table every format renders.
    ``compact`` (the HTML report) names a metric's n only where it differs from the row's seeds."""
    headers = ["dataset", "family", "hyper-parameters", "seeds", "reconstruction ↓"] + [
        f"{metric_label(n, k)} {'↑' if hib else '↓'}" for n, k, hib in cols
    ]
    body = [[r["dataset"], r["family"], (r["hparams"] or "—") + (" (collapsed)" if r.get("collapsed") else ""), str(r["n"]),
             _cell(r["reconstruction"], r["n"] if compact else None)]
            + [_cell(r[f"{n}.{k}"], r["n"] if compact else None) + (f" #{r[f'rank.{n}.{k}']}" if r.get(f"rank.{n}.{k}") else "")
               for n, k, _ in cols]
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

    if fmt == "latex":
        esc = {"↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$", "β": r"$\beta$", "#": r"\#", "_": r"\_", "%": r"\%",
               "&": r"\&", "—": "--", "–": "--"}

        def tex(cell: str) -> str:
            return "".join(esc.get(ch, ch) for ch in cell)

        table = tabulate([[tex(c) for c in row] for row in body], headers=[tex(h) for h in headers], tablefmt="latex_raw",
                         disable_numparse=True)
        table = table.replace("\\hline", "\\midrule", 2).replace("\\hline", "\\bottomrule").replace("\\midrule", "\\toprule", 1)
        plain = title.replace("—", "-").replace("`", "")
        return f"% {plain}: mean +- std over seeds (n), #k = rank. Needs \\usepackage{{booktabs}}.\n{table}\n"
    table_fmt = {"md": "github", "html": "html"}[fmt]
    table = tabulate(body, headers=headers, tablefmt=table_fmt, disable_numparse=True)
    if fmt == "md":
        return (f"# {title}\n\nmean ± std over seeds (n); #k = rank by that metric among configurations with at least "
                f"{MIN_SEEDS} seeds (fewer bound nothing, so they are listed unranked), equal shown values share a rank "
                f"(↑ higher is better, ↓ lower); *collapsed*: no run of the configuration encodes the image (index-code "
                f"MI ≤ 0.01 nats), so it is not ranked on lower-is-better metrics.\n\n{table}\n")
    return table + "\n"


def runs_csv(records: list[dict]) -> str:
    """One row per run: cell, dataset, family, seed, every hyper-parameter, reconstruction and every
    metric value (``metric.key`` columns) — the tidy table for pandas (``pd.read_csv``)."""
    hp_keys = sorted({k for r in records for k in r["cell"]["config"]["hparams"] if k != "dataset_size"})
    value_keys = sorted({(n, k) for r in records for n, m in r["metrics"].items() for k, v in m["values"].items()
                         if isinstance(v, (int, float)) or v is None})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["cell_index", "cell_hash", "dataset", "family", "seed", *hp_keys, "reconstruction", "kl",
                *[f"{n}.{k}" for n, k in value_keys]])
    for r in records:
        cfg, tr = r["cell"]["config"], r.get("training", {})
        vals = [r["metrics"].get(n, {}).get("values", {}).get(k) for n, k in value_keys]
        w.writerow([r["cell_index"], r.get("cell_hash", ""), cfg["dataset"], family_label(r)[0], cfg["seed"],
                    *[cfg["hparams"].get(k, "") for k in hp_keys], _num(tr.get("reconstruction")), _num(tr.get("kl")),
                    *[_num(v) for v in vals]])
    return buf.getvalue()


def _num(v) -> str:
    return "" if v is None else f"{v:.6g}"


DEFAULT_RANK = ("mig", "discrete_mig")  # the leaderboard's default rank score: dlib's discrete MIG


def rank_column(cols, rank_by: str | None = None) -> tuple[str, str, bool] | None:
    """The (metric, key, higher_is_better) column the leaderboard is sorted by: ``rank_by`` as ``METRIC``
    (its headline value) or ``METRIC.KEY``; by default dlib's discrete MIG, else the first column."""
    if not cols:
        return None
    if rank_by is None:
        return next((c for c in cols if c[:2] == DEFAULT_RANK), cols[0])
    for c in cols:
        if rank_by in (c[0], f"{c[0]}.{c[1]}"):
            return c
    raise ValueError(f"--rank-by {rank_by!r} is not a column of this leaderboard; use one of "
                     f"{', '.join(f'{n}.{k}' for n, k, _ in cols)}")


def ranked(rows, col: tuple[str, str, bool] | None) -> list[dict]:
    """Rows sorted best-first by ``col``'s mean; rows without a value last, in their original order."""
    if col is None:
        return list(rows)
    key, sign = f"{col[0]}.{col[1]}", (-1.0 if col[2] else 1.0)
    return sorted(rows, key=lambda r: (r[key] is None, sign * r[key][0] if r[key] else 0.0))


def best_per_family(rows, cols, col: tuple[str, str, bool] | None = None) -> list[dict]:
    """For each family, its best hyper-parameter row by the rank score ``col`` (default :func:`rank_column`),
    families in rank order."""
    col = col or rank_column(cols)
    best: dict[str, dict] = {}
    for r in ranked(rows, col):
        best.setdefault(r["family"], r)
    return list(best.values())


def build_leaderboard(study_dir: str | Path, study: str, fmt: str = "md", out_dir: str | Path | None = None,
                      rank_by: str | None = None, data=None) -> Path:
    """Rebuild ``leaderboard.<fmt>`` (and the per-family best view for md) from stored records."""
    path = Path(out_dir or study_dir) / f"leaderboard.{fmt.replace('runs-csv', 'runs.csv')}"
    atomic_write_text(path, leaderboard_text(study_dir, study, fmt, rank_by, data))
    return path


def leaderboard_text(study_dir: str | Path, study: str, fmt: str = "md", rank_by: str | None = None, data=None) -> str:
    """The leaderboard of the stored records as text in ``fmt``, rows sorted best-first by the rank score
    (``rank_by``, see :func:`rank_column`; writes nothing). ``data``: the study's
    :class:`results.study_data.StudyData`, loaded here when not given."""
    from .study_data import load_study

    if fmt not in FORMATS:
        raise ValueError(f"Unknown leaderboard format {fmt!r}; choose one of {', '.join(FORMATS)}")
    records = (data or load_study(study_dir)).records_with_udr
    if fmt == "runs-csv":
        return runs_csv(records)
    rows, cols = aggregate(records)
    col = rank_column(cols, rank_by)
    rows = ranked(rows, col)
    by = f", ranked by {metric_label(col[0], col[1])}" if col else ""
    text = render(rows, cols, fmt, f"Leaderboard — study `{study}` ({len(records)} runs{by})")
    if fmt == "md":
        best = best_per_family(rows, cols, col)
        if len(best) < len(rows):  # only when some family has several configurations
            text += (f"\n## Best configuration per family (by {metric_label(col[0], col[1])})\n\n"
                     + render(best, cols, "md", "best").split("\n\n", 2)[2])
        text += "\n## Metrics\n\n" + "".join(f"- **{label}** ({direction}): {definition}.\n"
                                            for label, direction, definition in glossary(cols))
        text += "- **reconstruction** (lower is better): the negative log-likelihood of the images, nats per image.\n"
        subs = sorted({(r["cell"]["config"]["model"], json.dumps(r.get("submission", {}), sort_keys=True)) for r in records if r["cell"]["config"].get("submission")})
        if subs:
            text += "\n## Submissions\n\n" + "".join(
                f"- **{name}** {m.get('version', '')} — {', '.join(m.get('authors', []))}: {m.get('description', '')} "
                f"({m.get('citation', '')}; {m.get('code_url', '')})\n" for name, meta in subs for m in [json.loads(meta)])
        external = load_external(study_dir)
        if external:
            from tabulate import tabulate

            ext_cols = sorted({(n, m["primary"]) for r in external for n, m in r["metrics"].items()})
            body = [[r["name"], r["dataset"], r["encoder"]] + [fixed(r["metrics"][n]["values"][k]) if n in r["metrics"] else MISSING for n, k in ext_cols]
                    for r in external]
            text += "\n## External representations\n\n" + tabulate(body, headers=["name", "dataset", "encoder"] + [f"{n}.{k}" for n, k in ext_cols],
                                                                      tablefmt="github", disable_numparse=True) + "\n"
    return text
