"""The run's progress bar says what each running cell is doing, from the files in the store."""

import json

from benchmark.cell_progress import cell_activity, watch_cells
from benchmark.studies import get_study
from core.layout import CLAIM, LOG, RESULT


def test_activity_names_each_started_cell_by_step_or_scoring(tmp_path):
    cells = get_study("smoke").cells  # 40 steps each
    dirs = [tmp_path / c.content_hash() for c in cells]
    for d in dirs:
        d.mkdir()
    assert cell_activity(tmp_path, cells) == ""  # nothing started
    (dirs[0] / CLAIM).write_text("{}")
    assert cell_activity(tmp_path, cells) == "cell 0: starting"  # claimed, no log yet
    lines = ['{"provenance": {}}'] + [json.dumps({"step": s, "loss": 1.0}) for s in (10, 20)]
    (dirs[0] / LOG).write_text("\n".join(lines) + "\n" + '{"step": 30, "lo')  # a torn last line is skipped
    for d in dirs[1:]:
        (d / LOG).write_text(json.dumps({"step": 40}) + "\n")
    (dirs[1] / CLAIM).write_text("{}")
    (dirs[2] / RESULT).write_text("{}")  # finished: not shown
    assert cell_activity(tmp_path, cells) == "cell 0: step 20/40; cell 1: scoring"
    (dirs[1] / CLAIM).unlink()  # released (stopped or paused): a log alone is not a running cell
    assert cell_activity(tmp_path, cells) == "cell 0: step 20/40"


def test_watch_cells_keeps_the_bars_postfix_current(tmp_path):
    cells = get_study("smoke").cells[:1]
    (tmp_path / cells[0].content_hash()).mkdir()
    (tmp_path / cells[0].content_hash() / LOG).write_text(json.dumps({"step": 10}) + "\n")
    (tmp_path / cells[0].content_hash() / CLAIM).write_text("{}")

    class Bar:
        said = []

        def set_postfix_str(self, text, refresh=True):
            self.said.append(text)

    import time

    bar = Bar()
    with watch_cells("smoke", tmp_path, cells, bar, every=0.05):
        deadline = time.monotonic() + 10
        while not bar.said and time.monotonic() < deadline:
            time.sleep(0.05)
    assert bar.said[0] == "cell 0: step 10/40" and bar.said[-1] == ""  # cleared when the run ends
