"""A self-contained static HTML report per study: the sortable leaderboard, the trade-off and
stability plots, and one page per run with its traversals, KL curves and MI heatmap. Images are
embedded as base64 data URIs and the sorting script is inline — no network assets."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from jinja2 import Environment

from core.io import atomic_write_text
from core.layout import LOG, TRAVERSALS

from .leaderboard import aggregate, table_cells
from .plots import kl_curve_plot, mi_heatmap
from .records import family_label, load_records
from .stability import runs_table
from .stability_report import VARIANCE_HEADERS, variance_rows

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.style.cursor = 'pointer';
    th.title = 'click to sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[col].innerText, y = b.cells[col].innerText;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 12px; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
th { background: #f0f0f0; } img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #555; font-size: 13px; }
</style></head><body>
<h1>{{ title }}</h1>
{{ body | safe }}
<script>{{ script | safe }}</script>
</body></html>
""")


def _fmt(value) -> str:
    return "– (not finite)" if value is None else f"{value:.4f}"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="sortable"><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>'


def build_report(study_dir: str | Path, study: str) -> Path:
    d = Path(study_dir)
    records = load_records(d)
    if not records:
        raise ValueError(f"no complete records in {d}; run the study first")
    out = d / "report"
    (out / "runs").mkdir(parents=True, exist_ok=True)
    rows, cols = aggregate(records)
    parts = [f'<p class="note">{len(records)} runs; mean ± std over seeds (n); #k = rank; ↑ higher is better, ↓ lower. '
             "Click a column header to sort.</p>", "<h2>Leaderboard</h2>",
             _html_table(*table_cells(rows, cols))]
    for name, title in [("tradeoff.png", "Reconstruction vs disentanglement"), ("seed_spread.png", "Seed spread"),
                        ("rank_correlation.png", "Metric agreement"), ("kl_over_training.png", "Per-latent KL over training"),
                        ("budget_curves.png", "Metrics over the training budget"), ("best_traversals.png", "Traversals of the best run (discrete MIG)")]:
        if (d / name).exists():
            parts += [f"<h2>{title}</h2>", _img(d / name, title)]
    df, metric_names = runs_table(records)
    parts += ["<h2>Seed stability: share of each metric's variance explained by family, hyper-parameter and seed</h2>",
              _html_table(list(VARIANCE_HEADERS), [list(r) for r in variance_rows(df, metric_names)])]
    links = []
    for r in records:
        run_dir = Path(r["_path"]).parent
        fam, hp = family_label(r)
        label = f"{fam} ({hp or 'defaults'}), seed {r['cell']['config']['seed']}"
        page = out / "runs" / f"{r['cell_hash']}.html"
        body = [f"<p><a href='../index.html'>← {html.escape(study)}</a></p>"]
        metrics_rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{html.escape(v['primary'])}</td><td>{_fmt(v['values'][v['primary']])}</td>"
                               f"<td>{html.escape(v['protocol'])}</td></tr>" for m, v in sorted(r["metrics"].items()))
        body.append(f'<table class="sortable"><thead><tr><th>metric</th><th>value</th><th>score</th><th>protocol</th></tr></thead><tbody>{metrics_rows}</tbody></table>')
        kl_png = run_dir / "kl_curves.png"
        if (run_dir / LOG).exists():
            kl_curve_plot(run_dir, kl_png, f"Per-latent KL — {label}")
            body += ["<h2>Per-latent KL over training</h2>", _img(kl_png, "KL curves")]
        if (run_dir / TRAVERSALS).exists():
            body += ["<h2>Latent traversals</h2>", _img(run_dir / TRAVERSALS, "traversals")]
        if r.get("run", {}).get("mi_latent_factor"):
            mi_png = run_dir / "mi_heatmap.png"
            mi_heatmap(r["run"]["mi_latent_factor"], r["run"]["factor_names"], mi_png, f"MI — {label}")
            body += ["<h2>Factor × latent mutual information</h2>", _img(mi_png, "MI heatmap")]
        atomic_write_text(page, _PAGE.render(title=label, body="\n".join(body), script=_SORT_JS))
        links.append(f"<li><a href='runs/{r['cell_hash']}.html'>{html.escape(label)}</a></li>")
    parts += ["<h2>Runs</h2>", "<ul>" + "".join(links) + "</ul>"]
    return atomic_write_text(out / "index.html", _PAGE.render(title=f"Study {study}", body="\n".join(parts), script=_SORT_JS))
