"""UDR across a study from stored records and probe codes: per-run scores, the figure, the selection table."""

import json

import numpy as np
import pytest

from core.layout import PROBE_CODES, RESULT
from results.records import load_records
from results.udr_report import MissingProbeCodes, build_udr, study_udr

from .fakes import metric, record


def _record(idx, model, seed, mig):
    return record(idx, model, seed, {"mig": metric("discrete_mig", mig)})


@pytest.fixture
def study(tmp_path):
    """Two families × 3 seeds. 'aligned' runs are permutations of one factorial code (UDR 1); 'mixed'
    runs are random rotations of it (low UDR); MIG follows the same order."""
    rng = np.random.default_rng(0)
    base = np.indices((6, 6, 6)).reshape(3, -1).T.astype(np.float32)
    idx = 0
    for model in ("aligned", "mixed"):
        for seed in range(3):
            if model == "aligned":
                codes = base[:, rng.permutation(3)] * rng.choice([-1, 1], 3)
            else:
                codes = base @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
            d = tmp_path / f"h{idx:04d}"
            d.mkdir()
            (d / RESULT).write_text(json.dumps(_record(idx, model, seed, 0.5 if model == "aligned" else 0.1 + 0.01 * seed)))
            np.savez(d / PROBE_CODES, mean=codes.astype(np.float32), kl_per_latent=np.ones(3, np.float32),
                     factors=np.zeros((len(codes), 3), np.int32))
            idx += 1
    return tmp_path


def test_udr_separates_aligned_from_rotated_runs(study):
    rows = study_udr(load_records(study))
    by = {r["cell_index"]: r["udr"] for r in rows}
    assert [by[i] for i in range(3)] == pytest.approx([1.0] * 3)
    assert max(by[i] for i in range(3, 6)) < 0.9


def test_outputs_and_selection_table(study):
    paths = build_udr(study, "t")
    assert [p.name for p in paths] == ["udr.json", "udr.md", "udr_vs_metrics.png"]
    data = json.loads(paths[0].read_text())
    assert data["rank_correlation"]["mig.discrete_mig"]["n"] == 6
    assert data["rank_correlation"]["mig.discrete_mig"]["rho"] > 0.5
    sel = {s["family"]: s for s in data["selection"]}
    assert sel["aligned"]["losses"]["mig.discrete_mig"]["lost"] == 0.0
    assert sel["aligned"]["udr_pick"] == [0, 1, 2]  # three permuted copies of one code tie at UDR 1
    assert "Model selection without labels" in paths[1].read_text() and "| cells 0, 1, 2 (tie) |" in paths[1].read_text()
    assert paths[2].stat().st_size > 10_000


def test_a_study_with_one_seed_per_configuration_says_why_its_tables_are_empty(study):
    from results.udr_report import NOT_YET
    for i in (1, 2, 4, 5):  # one seed of each family left
        (study / f"h{i:04d}" / RESULT).unlink()
    text = build_udr(study, "t")[1].read_text()
    assert text.count(NOT_YET) == 2 and "| 0 | aligned | — | 0 | n/a (n < 3) |" in text


def test_a_udr_tie_is_a_random_pick_among_the_tied_runs():
    from results.udr_report import selection_table
    rows = [{"family": "vae", "cell_index": i, "udr": u, "record": _record(i, "vae", i, mig)}
            for i, u, mig in [(0, 0.3, 0.10), (1, 0.3, 0.20), (2, 0.1, 0.40), (3, float("nan"), 0.9)]]
    (sel,) = selection_table(rows)
    assert sel["udr_pick"] == [0, 1] and sel["runs"] == 3  # the run without a UDR is not a candidate
    mig = sel["losses"]["mig.discrete_mig"]
    assert mig["best_run"] == 2 and mig["udr_pick"] == pytest.approx(0.15) and mig["lost"] == pytest.approx(0.25)


def test_missing_probe_codes_name_the_runs_and_the_fix(study):
    (study / "h0004" / PROBE_CODES).unlink()
    with pytest.raises(MissingProbeCodes, match=r"\(cells 4\); re-score them with `python -m benchmark udr --study NAME --rescore`"):
        study_udr(load_records(study))


def test_leaderboard_and_runs_table_carry_udr(study):
    from results.leaderboard import leaderboard_text

    text = leaderboard_text(study, "t")
    assert "UDR (no labels) ↑" in text and "1.000 ± 0.000 (n=3) #1" in text
    assert "udr.udr" in leaderboard_text(study, "t", "runs-csv").splitlines()[0]
    assert not (study / "h0000" / "result.json").read_text().count('"udr"')  # stored records are untouched
