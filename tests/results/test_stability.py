import numpy as np
import pandas as pd
import pytest

from results.stability import bootstrap_ci, rank_correlation, rank_flip_probability, seed_spread, variance_decomposition


def _table(family_effect, hp_effect, seed_sd, seeds=20, rng=None):
    rng = rng or np.random.default_rng(0)
    rows = []
    for f, fe in enumerate(family_effect):
        for h, he in enumerate(hp_effect):
            for s in range(seeds):
                rows.append({"family": f"f{f}", "hparams": f"h{h}", "seed": s, "m": fe + he + seed_sd * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_variance_decomposition_known_answers():
    only_seed = variance_decomposition(_table([0, 0], [0, 0], 1.0), "m")
    assert only_seed["seed"] == pytest.approx(1.0, abs=0.1) and only_seed["family"] < 0.05
    only_family = variance_decomposition(_table([0, 10], [0, 0], 0.01), "m")
    assert only_family["family"] == pytest.approx(1.0, abs=1e-3)
    # exact: two families, no seed noise, hp effect ±1 around family means 0 and 4
    df = _table([0, 4], [-1, 1], 0.0, seeds=3)
    shares = variance_decomposition(df, "m")
    assert shares == pytest.approx({"family": 4 / 5, "hyperparameter": 1 / 5, "seed": 0.0})
    assert sum(shares.values()) == pytest.approx(1.0)


def test_rank_flip_probability_extremes():
    separated = _table([0, 100], [0], 1.0, seeds=5)
    assert rank_flip_probability(separated, "m") == pytest.approx(0.0)
    identical = _table([0] * 12, [0], 1.0, seeds=30)
    p = rank_flip_probability(identical, "m", n_boot=400)
    # same distribution: E over pairs of P(flip) = E[Φ(−|Z|)] = 0.25 for a normal mean difference Z
    assert 0.15 < p < 0.35


def test_seed_spread_and_bootstrap():
    df = _table([0], [0, 5], 1.0, seeds=50)
    s = seed_spread(df, "m")
    assert list(s["n"]) == [50, 50]
    assert (s["ci_low"] < s["mean"]).all() and (s["mean"] < s["ci_high"]).all()
    assert s["std"].iloc[0] == pytest.approx(1.0, abs=0.25)
    assert bootstrap_ci(np.array([3.0]), np.random.default_rng(0)) == (3.0, 3.0)


def test_fewer_than_three_seeds_get_no_interval_and_the_others_keep_theirs():
    """Two seeds bound nothing (a bootstrap "CI" of two values is their min–max): n/a; a group with enough
    seeds keeps the interval the bootstrap gave it before (the short group's resamples are still drawn)."""
    df = _table([0], [0, 5], 1.0, seeds=4)
    df = df[~((df["hparams"] == "h0") & (df["seed"] >= 2))]
    short = seed_spread(df, "m")
    assert list(short["n"]) == [2, 4] and short[["ci_low", "ci_high"]].iloc[0].isna().all()
    rng = np.random.default_rng(0)
    bootstrap_ci(df[df["hparams"] == "h0"]["m"].to_numpy(), rng)
    assert tuple(short[["ci_low", "ci_high"]].iloc[1]) == bootstrap_ci(df[df["hparams"] == "h1"]["m"].to_numpy(), rng)
    assert np.isnan(seed_spread(df[df["seed"] == 0], "m")["std"]).all()  # one seed: no std either


def test_rank_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    df = pd.DataFrame({"a": x, "b": 2 * x + 1, "c": -x})
    rho = rank_correlation(df, ["a", "b", "c"])
    assert rho.loc["a", "b"] == pytest.approx(1.0) and rho.loc["a", "c"] == pytest.approx(-1.0)


def test_single_seed_studies_do_not_decompose_variance():
    import pandas as pd

    from results.stability_report import has_seed_replicates, variance_rows

    one = pd.DataFrame({"family": ["vae", "betavae"], "hparams": ["", "beta=4"], "seed": [0, 0], "reconstruction": [1.0, 2.0],
                        "mig.discrete_mig": [0.1, 0.2]})
    assert not has_seed_replicates(one) and variance_rows(one, ["mig.discrete_mig"]) == []
    two = pd.concat([one, one.assign(seed=1, **{"mig.discrete_mig": [0.15, 0.25]})])
    assert has_seed_replicates(two) and len(variance_rows(two, ["mig.discrete_mig"])) == 2


def test_stability_page_prints_every_table_through_the_shared_formatter(tmp_path):
    """Rank correlations with two decimals and the eval-seed table with four, as aligned markdown rows."""
    import json

    from core.layout import EVAL_SEEDS, RESULT
    from results.stability_report import build_stability

    from .fakes import metric, record

    for idx, (model, seed, mig) in enumerate([("vae", 0, 0.1), ("vae", 1, 0.12), ("tcvae", 0, 0.3), ("tcvae", 1, 0.25)]):
        d = tmp_path / f"h{idx:04d}"
        d.mkdir()
        rec = record(idx, model, seed, {"mig": metric("discrete_mig", mig)}, reconstruction=50.0 + 10 * mig)
        (d / RESULT).write_text(json.dumps(rec))
        if idx == 0:
            (d / EVAL_SEEDS).write_text(json.dumps({"0": {"mig.discrete_mig": 0.1}, "1": {"mig.discrete_mig": 0.1002}}))
    text = build_stability(tmp_path, "t")[0].read_text()
    assert "| mig.discrete_mig | 1.00 | 1.00 |" in text  # MIG and reconstruction rise together here
    assert "| metric | runs | eval seeds | mean std over eval seeds |" in text
    assert "| mig.discrete_mig | 1 | 2 | 0.0001 |" in text
    assert "-0.00" not in text


def test_ordering_claims_use_stated_one_sided_tests():
    from results.ordering import ordering_rows

    def rec(model, seed, mig):
        return {"cell": {"config": {"model": model, "dataset": "dsprites", "hparams": {}, "seed": seed}}, "cell_index": seed,
                "metrics": {"mig": {"values": {"discrete_mig": mig}}}}

    recs = [rec("tcvae", s, 0.3 + 0.01 * s) for s in range(3)] + [rec("betavae", s, 0.1 + 0.01 * s) for s in range(3)]
    rows = {(r["claim"], r["metric"]): r for r in ordering_rows(recs)}
    r = rows[("tcvae > betavae", "MIG (dlib)")]
    assert r["beyond_spread"] and r["mann_whitney_p"] == pytest.approx(0.05)  # 1 / C(6, 3): the floor at 3 vs 3
    assert r["welch_p"] < 0.001
    assert ("betavae > vae", "MIG (dlib)") not in rows  # a family that is absent gives no row
