"""A self-contained static HTML report per study: the sortable leaderboard, the trade-off and
stability plots, and one page per run with its training curves, traversals, reconstructions and prior
samples, KL curves and MI heatmap. Images are embedded as base64 data URIs and the sorting script is
inline — no network assets."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from jinja2 import Environment

from core.io import atomic_write_text
from core.layout import LOG, RESULT, SAMPLES, TRAVERSALS

from .compare_page import compare_body
from .formatting import MIN_SEEDS, fixed
from .leaderboard import aggregate, glossary, metric_label, rank_column, ranked, table_cells
from .plots import kl_curve_plot, mi_heatmap
from .summary_figure import summary_plot
from .records import family_label, metric_value, trained_on
from .training_plots import run_curves_plot
from .stability_report import NO_REPLICATES, VARIANCE_HEADERS, has_seed_replicates, variance_rows

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {  // a filter box above every longer table
  if (table.tBodies[0].rows.length < 5) { return; }
  var box = document.createElement('input');
  box.type = 'search'; box.className = 'filter'; box.placeholder = 'filter rows: every word must appear (e.g. tcvae 6)';
  box.addEventListener('input', function () {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    Array.from(table.tBodies[0].rows).forEach(function (row) {
      var text = row.innerText.toLowerCase();
      row.style.display = words.every(function (w) { return text.indexOf(w) >= 0; }) ? '' : 'none';
    });
  });
  var anchor = table.parentElement.classList.contains('scroll') ? table.parentElement : table;
  anchor.parentElement.insertBefore(box, anchor);
});
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.style.cursor = 'pointer';
    th.title = 'click to sort (best first for metrics)';
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var first = th.textContent.indexOf('↑') >= 0 ? 'desc' : 'asc';  // ↑ metrics: best = largest first
      var dir = th.dataset.dir ? (th.dataset.dir === 'asc' ? 'desc' : 'asc') : first;
      table.querySelectorAll('th').forEach(function (o) { o.dataset.dir = ''; o.classList.remove('asc', 'desc'); });
      th.dataset.dir = dir; th.classList.add(dir);
      var asc = dir === 'asc';
      rows.sort(function (a, b) {
        var x = a.cells[col].innerText, y = b.cells[col].innerText;
        var nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx) !== isNaN(ny)) { return isNaN(nx) ? 1 : -1; }  // a missing value ("n/a", "–") is last either way
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
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; } td { white-space: nowrap; }
td.wrap { white-space: normal; max-width: 40em; }
.scroll { overflow-x: auto; max-width: 100%; }
th { background: #f0f0f0; } img { max-width: 100%; height: auto; border: 1px solid #eee; margin: 0.5em 0; }
th.asc::after { content: " ▲"; } th.desc::after { content: " ▼"; }
.note { color: #555; font-size: 13px; } input.filter { width: 28em; margin-top: 0.5em; padding: 3px; }
.caveat { background: #fff4d6; border: 1px solid #e0b040; padding: 0.6em 1em; } dl.glossary dt { font-weight: 600; margin-top: 0.4em; }
dl.glossary dd { margin-left: 1.5em; color: #333; }
</style></head><body>
<h1>{{ title }}</h1>
{{ body | safe }}
<script>{{ script | safe }}</script>
</body></html>
""")


def _glossary_html(cols) -> str:
    items = "".join(f"<dt>{html.escape(label)} <span class='note'>({direction})</span></dt><dd>{html.escape(definition)}</dd>"
                    for label, direction, definition in glossary(cols))
    return (f"<dl class='glossary'>{items}<dt>reconstruction <span class='note'>(lower is better)</span></dt>"
            "<dd>negative log-likelihood of the images, nats per image</dd></dl>"
            "<p class='note'>Protocols in full: docs/metrics.md of the suite.</p>")


_MINIBATCH = {"total_correlation", "mutual_information", "dimension_wise_kl"}


def _run_details(r: dict) -> list[str]:
    """Config, training summary (minibatch estimates labelled as such) and links for a run page."""
    cfg = r["cell"]["config"]
    keep = ("dataset", "model", "hparams", "seed", "steps", "batch_size", "lr", "architecture", "latent_dim", "precision")
    conf = "".join(f"<tr><td>{k}</td><td>{html.escape(json.dumps(cfg.get(k)))}</td></tr>" for k in keep if k in cfg)
    tr = r.get("training", {})
    chen = r["metrics"].get("elbo_decomposition", {}).get("values", {})
    rows = []
    for k, v in tr.items():
        if isinstance(v, (list, dict)):
            continue
        note = " (minibatch estimate at the training batch size: biased" + (f"; Chen's full-dataset value {fixed(chen[k])}" if chen.get(k) is not None else "") + ")" if k in _MINIBATCH else ""
        if k in _MINIBATCH and isinstance(v, (int, float)) and v < 0:  # a KL cannot be negative; its estimate can
            note += (" — negative: in a batch, each image's own posterior dominates its marginal, so minibatch-weighted"
                     " sampling under-estimates every log q(z_j) by up to ≈ log(dataset size) nats; comparable across runs"
                     " of one setting, not a KL in nats")
        shown = html.escape(v) if isinstance(v, str) else v if isinstance(v, int) else fixed(v)  # e.g. kl_per_latent_source
        rows.append(f"<tr><td class='wrap'>{html.escape(k)}{html.escape(note)}</td><td>{shown}</td></tr>")
    link = f"../../{html.escape(r['cell_hash'])}"
    return ["<h2>Configuration</h2>", f"<table>{conf}</table>", "<h2>End of training (mean of the last logged steps)</h2>",
            f"<table>{''.join(rows)}</table>",
            f"<p>Files: <a href='{link}/{RESULT}'>record ({RESULT})</a> · <a href='{link}/{LOG}'>training log ({LOG})</a></p>"]


def _fmt(value) -> str:
    return fixed(value, 4, missing="– (not finite)")


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="sortable"><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table></div>'


def _runs_table(records: list[dict], cols) -> str:
    """Every run, complete or failed: cell, configuration, seed, what trained it, status, steps,
    reconstruction and each metric's headline value; the cell links to its page (failed runs have none)."""
    head = ["cell", "family", "hyper-parameters", "seed", "trained on", "status", "steps", "reconstruction ↓"] + [
        f"{metric_label(n, k)} {'↑' if hib else '↓'}" for n, k, hib in cols]
    trs = []
    for r in records:
        fam, hp = family_label(r)
        cfg, done = r["cell"]["config"], r.get("status") == "complete"
        cell = (f"<a href='runs/{html.escape(r['cell_hash'])}.html'>{r['cell_index']}</a>" if done else str(r["cell_index"]))
        status = "complete" if done else f"{r.get('status')}: {str(r.get('error', '')).splitlines()[0][:80] if r.get('error') else ''}"
        cells = [fam, hp or "—", str(cfg["seed"]), trained_on(r), status, str(cfg.get("steps", "")),
                 fixed(r.get("training", {}).get("reconstruction"), missing=MISSING_CELL)]
        cells += [fixed(metric_value(r, n, k), missing=MISSING_CELL) for n, k, _ in cols]
        trs.append(f"<tr><td>{cell}</td>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<div class="scroll"><table class="sortable runs"><thead><tr>{th}</tr></thead><tbody>{"".join(trs)}</tbody></table></div>'


MISSING_CELL = "n/a"  # a missing or non-finite value in a table cell (sorts last: it is not a number)


def build_report(study_dir: str | Path, study: str, caveat: str = "", data=None) -> Path:
    """``report/index.html``, ``report/compare.html`` and one page per run, from the study's stored records
    (``data``: its :class:`results.study_data.StudyData`, loaded here when not given); ``caveat`` (what a
    short study cannot show) is a banner at the top."""
    from .study_data import load_study

    d = Path(study_dir)
    data = data or load_study(d)
    every_run, records = list(data.every_run), data.records  # the runs table lists failed runs too
    if not records:
        raise ValueError(f"no complete records in {d}; run the study first")
    out = d / "report"
    (out / "runs").mkdir(parents=True, exist_ok=True)
    rows, cols = aggregate(data.records_with_udr)
    rows = ranked(rows, rank_column(cols))
    summary_png = summary_plot(rows, cols, d / "summary.png")
    csvs = [(name, what) for name, what in (("leaderboard.csv", "leaderboard"), ("leaderboard.runs.csv", "every run (tidy, for pandas)"))
            if (d / name).exists()]
    parts = [f"<p class='caveat'><strong>Caveat:</strong> {html.escape(caveat)}.</p>"] if caveat else []
    parts += [f'<p class="note">{len(records)} runs; mean ± std over seeds (n); #k = rank among configurations with ≥ {MIN_SEEDS} seeds; ↑ higher is better, ↓ lower. '
             "Click a column header to sort it best-first; click again to reverse; type in a box above a table to filter its rows.</p>",
             "<h2>At a glance</h2>", _img(summary_png, "summary: every family on every metric"),
             "<h2>Leaderboard</h2>", _html_table(*table_cells(rows, cols, compact=True)),
             "<p class='note'>Download: " + " · ".join(f"<a href='../{n}'>{html.escape(w)} ({n})</a>" for n, w in csvs) + "</p>"
             if csvs else "",
             "<h2>Runs</h2>", "<p class='note'><a href='compare.html'>Compare two runs side by side →</a></p>",
             _runs_table(every_run, cols),
             "<h2>Metrics</h2>", _glossary_html(cols)]
    for name, title in [("tradeoff.png", "Reconstruction vs disentanglement"), ("seed_spread.png", "Seed spread"),
                        ("rank_correlation.png", "Metric agreement"), ("training_curves.png", "Training curves per configuration (one line per seed)"),
                        ("kl_over_training.png", "Per-latent KL over training"),
                        ("budget_curves.png", "Metrics over the training budget"), ("best_traversals.png", "Traversals of the best run (discrete MIG)"),
                        ("udr_vs_metrics.png", "UDR (no labels) against supervised metrics")]:
        if (d / name).exists():
            parts += [f"<h2>{title}</h2>", _img(d / name, title)]
    df, metric_names = data.runs
    parts += ["<h2>Seed stability: share of each metric's variance explained by family, hyper-parameter and seed</h2>",
              _html_table(list(VARIANCE_HEADERS), [list(r) for r in variance_rows(df, metric_names)]) if has_seed_replicates(df)
              else f"<p class='note'>{html.escape(NO_REPLICATES)}</p>"]
    links = []
    for r in records:
        run_dir = Path(r["_path"]).parent
        fam, hp = family_label(r)
        label = f"{fam} ({hp or 'defaults'}), seed {r['cell']['config']['seed']}"
        page = out / "runs" / f"{r['cell_hash']}.html"
        body = [f"<p><a href='../index.html'>← {html.escape(study)}</a> · "
                f"<a href='../compare.html#a={html.escape(r['cell_hash'])}'>compare this run with another</a></p>"]
        body += _run_details(r)
        metrics_rows = "".join(f"<tr><td>{html.escape(metric_label(m, v['primary']))}</td><td>{_fmt(v['values'][v['primary']])}</td>"
                               f"<td>{'higher' if v['higher_is_better'].get(v['primary'], True) else 'lower'} is better</td>"
                               f"<td>{html.escape(v['protocol'])}</td></tr>" for m, v in sorted(r["metrics"].items()))
        body.append("<h2>Metrics</h2>")
        body.append(f'<table class="sortable"><thead><tr><th>metric</th><th>score</th><th>direction</th><th>protocol</th></tr></thead>'
                    f'<tbody>{metrics_rows}</tbody></table>')
        log = data.logs[run_dir]  # read once for both figures (and shared with the study's curves)
        curves = run_curves_plot(log, run_dir / "training_curves.png", f"Training — {label}")
        if curves:
            body += ["<h2>Training curves (every logged term of the objective)</h2>", _img(curves, "training curves")]
        kl_png = run_dir / "kl_curves.png"
        if log:
            kl_curve_plot(log, kl_png, f"Per-latent KL — {label}")
            body += ["<h2>Per-latent KL over training</h2>", _img(kl_png, "KL curves")]
        if (run_dir / TRAVERSALS).exists():
            body += ["<h2>Latent traversals</h2>", _img(run_dir / TRAVERSALS, "traversals")]
        if (run_dir / SAMPLES).exists():
            body += ["<h2>Reconstructions and prior samples</h2>", _img(run_dir / SAMPLES, "reconstructions and prior samples")]
        if r.get("run", {}).get("mi_latent_factor"):
            mi_png = run_dir / "mi_heatmap.png"
            mi_heatmap(r["run"]["mi_latent_factor"], r["run"]["factor_names"], mi_png, f"MI — {label}")
            body += ["<h2>Factor × latent mutual information</h2>", _img(mi_png, "MI heatmap")]
        atomic_write_text(page, _PAGE.render(title=label, body="\n".join(body), script=_SORT_JS))
        links.append(f"<li><a href='runs/{r['cell_hash']}.html'>{html.escape(label)}</a></li>")
    parts += ["<h2>Run pages</h2>", "<ul>" + "".join(links) + "</ul>"]
    body, script = compare_body(records, cols)
    atomic_write_text(out / "compare.html", _PAGE.render(title=f"Study {study}: compare two runs", body=body, script=script))
    return atomic_write_text(out / "index.html", _PAGE.render(title=f"Study {study}", body="\n".join(parts), script=_SORT_JS))
