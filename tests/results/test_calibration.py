import json

import numpy as np
import pytest

from results.calibration import budget_table, build_calibration, separated_pairs, separation_summary
from results.records import load_records

from .fakes import metric, record


def test_separated_pairs_need_disjoint_seed_ranges():
    v = {"a": np.array([0.5, 0.6, 0.7]), "b": np.array([0.1, 0.2, 0.3]), "c": np.array([0.25, 0.4, 0.45])}
    assert separated_pairs(v) == [("a", "b"), ("a", "c")]  # b and c overlap (0.3 > 0.25)
    assert separated_pairs({"a": np.array([1.0]), "b": np.array([0.0])}) == []  # one seed: no spread, no claim


def _record(idx, model, seed, mig_by_step, sap_final):
    steps = sorted(mig_by_step)
    return record(idx, model, seed, {"mig": metric("discrete_mig", mig_by_step[steps[-1]]), "sap": metric("SAP_score", sap_final),
                                     "unsupervised": metric("x", 1.0, higher_is_better=False)},
                  reconstruction=1.0, config={"steps": steps[-1]},
                  snapshots=[{"step": s, "metrics": {"mig.discrete_mig": mig_by_step[s]}, "kl": 1.0, "active_latents": 3} for s in steps])


@pytest.fixture
def study_dir(tmp_path):
    recs = []
    for seed in range(3):
        # identical at 100 steps; separated on MIG at 200 steps; SAP (final only) separates too
        recs.append(_record(2 * seed, "vae", seed, {100: 0.1 + 0.01 * seed, 200: 0.1 + 0.01 * seed}, 0.01 + 0.001 * seed))
        recs.append(_record(2 * seed + 1, "tcvae", seed, {100: 0.1 + 0.01 * seed, 200: 0.3 + 0.01 * seed}, 0.05 + 0.001 * seed))
    for r in recs:
        (tmp_path / r["cell_hash"]).mkdir()
        (tmp_path / r["cell_hash"] / "result.json").write_text(json.dumps(r))
    return tmp_path


def test_budget_table_merges_snapshots_and_final_supervised_scores(study_dir):
    df = budget_table(load_records(study_dir))
    assert sorted(df["metric"].unique()) == ["mig.discrete_mig", "sap.SAP_score"]  # unsupervised is not a separation metric
    assert len(df[(df["metric"] == "mig.discrete_mig") & (df["step"] == 200)]) == 6  # final step not counted twice
    s = separation_summary(df).set_index(["step", "metric"])
    assert s.loc[(100, "mig.discrete_mig"), "separated"] == []
    assert s.loc[(200, "mig.discrete_mig"), "separated"] == [("tcvae", "vae")]
    assert s.loc[(200, "mig.discrete_mig"), "tcvae"] == pytest.approx((0.31, 0.01, 3))


def test_calibration_files_name_the_smallest_separating_budget(study_dir):
    md, png = build_calibration(study_dir, "t")
    text = md.read_text()
    assert "Smallest budget with every pair separated on ≥ 2 supervised metrics: 200 steps" in text
    assert "| 100 | mig.discrete_mig | 0.110 ± 0.010 | 0.110 ± 0.010 | 0/1: none |" in text
    assert png.stat().st_size > 5000
    assert md.read_bytes() == build_calibration(study_dir, "t")[0].read_bytes()


def test_pairs_name_configurations_of_one_family_by_what_tells_them_apart():
    from results.calibration import pair_names

    anneal = dict(anneal_steps=10000, c_max=25.0)
    recs = [record(0, "annealed", 0, {}, hparams={**anneal, "gamma": 10.0}),
            record(1, "annealed", 0, {}, hparams={**anneal, "gamma": 1000.0}),
            record(2, "betavae", 0, {}, hparams={"beta": 4.0}), record(3, "vae", 0, {}, hparams={})]
    assert pair_names(recs) == {"annealed (anneal_steps=10000, c_max=25, gamma=10)": "annealed (gamma=10)",
                                "annealed (anneal_steps=10000, c_max=25, gamma=1000)": "annealed (gamma=1000)",
                                "betavae (beta=4)": "betavae", "vae": "vae"}
