"""A study may grow by appending cells (cpu2 v2.1); it may never change the cells it already holds."""

from dataclasses import replace

import pytest

from benchmark.store import RunStore
from benchmark.studies import Study, get_study
from core.io import read_json
from core.layout import STUDY


def test_a_study_grows_by_appending_cells_and_refuses_any_other_change(tmp_path):
    full = get_study("smoke")
    first = Study("smoke", full.description, full.cells[:2])
    store = RunStore(tmp_path)
    store.prepare(first)
    store.prepare(full)  # cells appended: accepted and recorded
    assert read_json(tmp_path / "smoke" / STUDY)["cells"] == [c.content_hash() for c in full.cells]
    changed = Study("smoke", full.description, (full.cells[0], replace(full.cells[1], eval_seed=7), full.cells[2]))
    before = (tmp_path / "smoke" / STUDY).read_bytes()
    with pytest.raises(ValueError, match="different definition"):
        store.prepare(changed)
    with pytest.raises(ValueError, match="different definition"):
        store.prepare(first)  # shrinking is a different definition too
    assert (tmp_path / "smoke" / STUDY).read_bytes() == before


def test_cpu2_extension_keeps_the_published_cells():
    cells = get_study("cpu2").cells
    published = read_json(__import__("pathlib").Path(__file__).resolve().parents[2] / "results" / "store" / "cpu2" / STUDY)["cells"]
    assert [c.content_hash() for c in cells[:15]] == published[:15]
    assert len(cells) == 30 and [c.index for c in cells] == list(range(30))
    assert {c.config.model for c in cells[24:]} == {"factorvae", "dipvae1"} and all(c.threads == 2 for c in cells[15:])
