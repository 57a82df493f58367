"""The published reference study v2 (cpu2): every committed record belongs to a cell of
the study and carries its probe codes; every committed table (leaderboard, calibration, stability, UDR)
rebuilds byte-identically from the committed records, training logs and probe codes, and every figure
that needs no model weights is rebuilt from them."""

import json
import shutil

import pytest

from benchmark.studies import get_study
from core.layout import LOG, PROBE_CODES, RESULT, STUDY
from tests.results.test_published_cpu import ROOT

PUBLISHED = ROOT / "results" / "store" / "cpu2"
RECORDS = sorted(PUBLISHED.glob(f"*/{RESULT}"))
pytestmark = pytest.mark.skipif(not RECORDS, reason="no cpu2 record committed yet")


def _copy(dst):
    study = dst / "cpu2"
    for rec in RECORDS:
        (study / rec.parent.name).mkdir(parents=True)
        for name in (RESULT, PROBE_CODES, LOG):
            if (rec.parent / name).exists():
                shutil.copy(rec.parent / name, study / rec.parent.name / name)
    shutil.copy(PUBLISHED / STUDY, study / STUDY)
    return study


def test_committed_records_are_cells_of_the_study_with_probe_codes():
    hashes = {c.content_hash() for c in get_study("cpu2").cells}
    for rec in RECORDS:
        assert rec.parent.name in hashes
        assert json.loads(rec.read_text())["status"] == "complete"
        assert (rec.parent / PROBE_CODES).exists(), f"{rec.parent.name} lacks its probe codes"


@pytest.mark.skipif(not (PUBLISHED / "leaderboard.md").exists(), reason="no cpu2 leaderboard committed yet")
def test_leaderboard_rebuilds_byte_identically(tmp_path):
    from results.leaderboard import build_leaderboard

    assert build_leaderboard(_copy(tmp_path), "cpu2").read_bytes() == (PUBLISHED / "leaderboard.md").read_bytes()


TABLES = ("leaderboard.md", "leaderboard.csv", "leaderboard.runs.csv", "calibration.md", "stability.md", "udr.md", "udr.json")
FIGURES = ("tradeoff.png", "kl_over_training.png", "budget_curves.png", "seed_spread.png", "rank_correlation.png",
           "udr_vs_metrics.png", "training_curves.png")


@pytest.mark.skipif(not (PUBLISHED / "leaderboard.md").exists(), reason="no cpu2 outputs committed yet")
def test_every_published_table_rebuilds_byte_identically(tmp_path):
    from results.pipeline import rebuild_outputs

    study = _copy(tmp_path)
    rebuilt = {p.name for p in rebuild_outputs(study, "cpu2")}
    for name in TABLES:
        assert (study / name).read_bytes() == (PUBLISHED / name).read_bytes(), f"{name} differs from its rebuild"
    # Figures are compared by presence, not bytes: their pixels depend on the installed matplotlib/freetype.
    assert set(FIGURES) <= rebuilt and all((PUBLISHED / name).exists() for name in FIGURES)
