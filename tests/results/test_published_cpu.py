"""The first CPU reference study (README, superseded by cpu2): its committed leaderboard and budget table rebuild
byte-identically from its committed records with ``python -m benchmark leaderboard --study cpu``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmark.studies import get_study

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "results" / "store" / "cpu"


def _copy_records(dst: Path) -> Path:
    study = dst / "cpu"
    for rec in PUBLISHED.glob("*/result.json"):
        (study / rec.parent.name).mkdir(parents=True)
        shutil.copy(rec, study / rec.parent.name / "result.json")
    shutil.copy(PUBLISHED / "study.json", study / "study.json")
    return study


def test_committed_records_cover_every_cell_of_the_cpu_study():
    hashes = {p.parent.name for p in PUBLISHED.glob("*/result.json")}
    cells = get_study("cpu").cells
    assert hashes == {c.content_hash() for c in cells}, "results/store/cpu must hold one record per cell of the cpu study"


def test_leaderboard_rebuilds_byte_identically_from_committed_records(tmp_path):
    study = _copy_records(tmp_path)
    env = {**os.environ, "BENCHMARK_STORE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "benchmark", "leaderboard", "--study", "cpu"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    rebuilt = (study / "leaderboard.md").read_bytes()
    assert rebuilt == (PUBLISHED / "leaderboard.md").read_bytes()
    assert out.strip() == rebuilt.decode().strip()


def test_budget_table_rebuilds_byte_identically(tmp_path):
    from results.calibration import build_calibration

    md = build_calibration(_copy_records(tmp_path), "cpu")[0]
    assert md.read_bytes() == (PUBLISHED / "calibration.md").read_bytes()


def test_every_published_table_rebuilds_byte_identically(tmp_path):
    from results.leaderboard import build_leaderboard
    from results.stability_report import build_stability
    from results.study_data import load_study

    study = _copy_records(tmp_path)
    data = load_study(study)
    rebuilt = [build_leaderboard(study, "cpu", fmt, data=data) for fmt in ("csv", "runs-csv")] + build_stability(study, "cpu", data)
    for path in rebuilt:
        if path.suffix in (".md", ".csv"):
            assert path.read_bytes() == (PUBLISHED / path.name).read_bytes(), f"{path.name} differs from its rebuild"
