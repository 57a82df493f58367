"""The newer metrics on cpu2's committed probe codes: the page rebuilds byte for byte from the committed
scores and records, and (slow) the scores themselves are recomputed from the probe codes."""

import json
import shutil

import pytest

from core.layout import PROBE_CODES, RESULT, STUDY
from results.probe_metrics import FIGURE, JSON, PAGE, build_probe_metrics_page, score_probe
from tests.results.test_published_cpu import ROOT

PUBLISHED = ROOT / "results" / "store" / "cpu2"
pytestmark = pytest.mark.skipif(not (PUBLISHED / JSON).exists(), reason="no cpu2 probe metrics committed")


def test_probe_metrics_page_rebuilds_byte_identically(tmp_path):
    study = tmp_path / "cpu2"
    scores = json.loads((PUBLISHED / JSON).read_text())
    for cell in scores:
        (study / cell).mkdir(parents=True)
        shutil.copy(PUBLISHED / cell / RESULT, study / cell / RESULT)
    shutil.copy(PUBLISHED / STUDY, study / STUDY)
    shutil.copy(PUBLISHED / JSON, study / JSON)
    paths = build_probe_metrics_page(study, "cpu2")
    assert [p.name for p in paths] == [PAGE, FIGURE]
    assert (study / PAGE).read_bytes() == (PUBLISHED / PAGE).read_bytes()
    from results.records import encodes_image as _encodes
    from results.records import load_records

    text = (study / PAGE).read_text()
    records = load_records(study)
    collapsed = [r for r in records if r["cell"]["config"]["hparams"].get("gamma") == 1000.0]
    assert collapsed and not any(map(_encodes, collapsed))  # the γ = 1000 runs encode nothing
    assert f"(n = {sum(map(_encodes, records))})" in text and "| IRS | MCC |" in text


@pytest.mark.slow
def test_committed_probe_scores_recompute_from_the_probe_codes():
    scores = json.loads((PUBLISHED / JSON).read_text())
    cell = sorted(scores)[0]
    again = score_probe(PUBLISHED / cell / PROBE_CODES)
    assert again == pytest.approx(scores[cell], abs=1e-4)
