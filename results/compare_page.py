"""The report's run-vs-run page (``report/compare.html``): pick two runs, see every metric side by side with
the difference and which run it favours, and both run pages (training curves, traversals, reconstructions,
samples) next to each other. The runs' numbers are embedded as JSON; the pages are loaded from ``runs/``,
so the page stays small however many runs a study has. ``#a=HASH&b=HASH`` in the address picks the pair."""

from __future__ import annotations

import html
import json

from .formatting import finite_or_none
from .leaderboard import metric_label
from .records import metric_value, run_label

_COMPARE_JS = """
var pick = {}, sel = {a: document.getElementById('run-a'), b: document.getElementById('run-b')};
RUNS.forEach(function (r, i) {
  ['a', 'b'].forEach(function (k) { var o = document.createElement('option'); o.value = r.hash; o.textContent = r.label; sel[k].appendChild(o); });
});
function fmt(v) { return v === null ? 'n/a' : v.toFixed(4); }
function byHash(h) { return RUNS.find(function (r) { return r.hash === h; }); }
function show() {
  var a = byHash(sel.a.value), b = byHash(sel.b.value), rows = '';
  COLUMNS.forEach(function (c, i) {
    var x = a.values[i], y = b.values[i], d = (x === null || y === null) ? null : y - x, better = '';
    if (d !== null && d !== 0) { better = ((d > 0) === c.higher_is_better) ? 'B' : 'A'; }
    if (d === 0) { better = 'tie'; }
    rows += '<tr><td>' + c.label + ' ' + (c.higher_is_better ? '↑' : '↓') + '</td><td>' + fmt(x) + '</td><td>' + fmt(y) +
            '</td><td>' + (d === null ? 'n/a' : (d > 0 ? '+' : '') + d.toFixed(4)) + '</td><td>' + better + '</td></tr>';
  });
  document.getElementById('diff').tBodies[0].innerHTML = rows;
  document.getElementById('frame-a').src = 'runs/' + a.hash + '.html';
  document.getElementById('frame-b').src = 'runs/' + b.hash + '.html';
  history.replaceState(null, '', '#a=' + a.hash + '&b=' + b.hash);
}
var want = new URLSearchParams(location.hash.slice(1));
sel.a.value = byHash(want.get('a')) ? want.get('a') : RUNS[0].hash;
sel.b.value = byHash(want.get('b')) ? want.get('b') : RUNS[Math.min(1, RUNS.length - 1)].hash;
sel.a.addEventListener('change', show); sel.b.addEventListener('change', show);
show();
"""


def compare_body(records: list[dict], cols) -> tuple[str, str]:
    """(HTML body, script) of the comparison page for the complete ``records``, ``cols`` = the leaderboard's
    (metric, key, higher_is_better) columns; reconstruction (lower is better) comes first."""
    columns = [{"label": "reconstruction", "higher_is_better": False}] + [  # labels escaped: the script sets innerHTML
        {"label": html.escape(metric_label(n, k)), "higher_is_better": bool(hib)} for n, k, hib in cols]
    runs = [{"hash": r["cell_hash"], "label": f"cell {r['cell_index']}: {run_label(r)}",
             "values": [finite_or_none(r.get("training", {}).get("reconstruction"))]
             + [finite_or_none(metric_value(r, n, k)) for n, k, _ in cols]}
            for r in sorted(records, key=lambda r: r["cell_index"])]
    data = ("var RUNS = " + json.dumps(runs) + ";\nvar COLUMNS = " + json.dumps(columns) + ";\n").replace("</", "<\\/")
    body = "\n".join([
        "<p><a href='index.html'>← the study</a></p>",
        "<p>Run A <select id='run-a'></select> &nbsp; run B <select id='run-b'></select></p>",
        "<p class='note'>B − A for every metric; <em>better</em> names the run the metric's direction favours. "
        "One pair of runs is one draw each: compare configurations on the leaderboard and the stability page.</p>",
        "<table id='diff'><thead><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>better</th></tr></thead>"
        "<tbody></tbody></table>",
        "<div style='display: flex; gap: 1em;'>"
        "<iframe id='frame-a' title='run A' style='flex: 1; height: 2400px; border: 1px solid #ccc;'></iframe>"
        "<iframe id='frame-b' title='run B' style='flex: 1; height: 2400px; border: 1px solid #ccc;'></iframe></div>",
    ])
    return body, data + _COMPARE_JS
