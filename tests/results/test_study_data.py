"""A rebuild reads the study's records and each run's training log once and computes UDR once, for every output."""

import shutil

from core import layout
from results import pipeline, records, udr_report
from results.study_data import load_study


def test_rebuild_reads_the_store_and_each_log_once_and_computes_udr_once(smoke_store, tmp_path, monkeypatch):
    study = tmp_path / "smoke"
    shutil.copytree(smoke_store / "smoke", study)
    loads, udrs, logs = [], [], []
    real_load, real_udr = records.load_records, udr_report.study_udr
    monkeypatch.setattr("results.study_data.load_records", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    monkeypatch.setattr(udr_report, "study_udr", lambda *a, **k: udrs.append(a) or real_udr(*a, **k))
    monkeypatch.setattr("results.study_data.read_log", lambda d: logs.append(d.name) or layout.read_log(d))
    outputs = pipeline.rebuild_outputs(study, "smoke")
    assert {p.name for p in outputs} >= {"leaderboard.md", "leaderboard.csv", "stability.md", "udr.md", "index.html"}
    assert len(loads) == 1 and len(udrs) == 1
    # the study's KL and training curves and every run page's two figures share one reading per run
    assert sorted(logs) == sorted(p.parent.name for p in study.glob("*/result.json"))
    assert all((study / name / "kl_curves.png").exists() for name in logs)


def test_study_data_separates_complete_and_failed_runs(smoke_store):
    data = load_study(smoke_store / "smoke")
    assert [r["cell_index"] for r in data.records] == [0, 1, 2] == [r["cell_index"] for r in data.every_run]
    df, metrics = data.runs
    assert len(df) == 3 and "mig.discrete_mig" in metrics
    assert data.records_with_udr is data.records_with_udr  # computed once, then kept
