"""The run-vs-run page embeds every complete run's numbers, escaped, and nothing else."""

import json
import re

from results.compare_page import compare_body
from results.leaderboard import aggregate
from results.records import metric_value
from results.study_data import load_study


def test_compare_page_embeds_each_run_and_escapes_what_it_puts_into_html(smoke_store):
    records = load_study(smoke_store / "smoke").records
    _, cols = aggregate(records)
    body, script = compare_body(records, cols + [("<img src=x onerror=alert(1)>", "k", True)])
    runs = json.loads(re.search(r"var RUNS = (.*);\n", script).group(1))
    columns = json.loads(re.search(r"var COLUMNS = (.*);\n", script).group(1))
    assert [r["cell_index"] for r in records] == [int(r["label"].split(":")[0].split()[1]) for r in runs]
    assert runs[0]["values"][1:-1] == [metric_value(records[0], n, k) for n, k, _ in cols]
    assert runs[0]["values"][0] == records[0]["training"]["reconstruction"]
    assert all(r["values"][-1] is None for r in runs)  # a metric no run has: null, shown as n/a
    assert "<img" not in json.dumps(columns) and "&lt;img" in columns[-1]["label"]
    assert "</script" not in script.lower()
