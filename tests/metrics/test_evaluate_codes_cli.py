import json

import numpy as np

from benchmark.cli import main

SIZES = (3, 4, 5)
GRID = np.indices(SIZES).reshape(3, -1).T


def _codes(rows):
    rng = np.random.default_rng(0)
    return rows / (np.asarray(SIZES) - 1) + rng.normal(0, 0.02, rows.shape)


def test_full_grid_scores_sampling_metrics(tmp_path, capsys):
    path = tmp_path / "codes.npz"
    np.savez(path, codes=_codes(GRID), factors=GRID, factor_sizes=np.array(SIZES))
    assert main(["evaluate-codes", str(path), "--metrics", "mig,factor_vae", "--preset", "quick"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mig"]["discrete_mig"] > 0.8 and out["factor_vae"]["eval_accuracy"] > 0.9


def test_partial_grid_refuses_lookup_metrics(tmp_path, capsys):
    path = tmp_path / "codes.npz"
    np.savez(path, codes=_codes(GRID[:40]), factors=GRID[:40], factor_sizes=np.array(SIZES))
    assert main(["evaluate-codes", str(path), "--metrics", "beta_vae,mig"]) == 2
    assert "beta_vae needs codes for every point of the factor grid" in capsys.readouterr().err
    assert main(["evaluate-codes", str(path), "--preset", "quick"]) == 0  # default set skips them
    out = json.loads(capsys.readouterr().out)
    assert "beta_vae" not in out and "mig" in out


def test_bad_files(tmp_path, capsys):
    path = tmp_path / "x.npz"
    np.savez(path, codes=np.zeros((3, 2)))
    assert main(["evaluate-codes", str(path)]) == 2
    assert "missing key(s) factors, factor_sizes" in capsys.readouterr().err
    nan = _codes(GRID)
    nan[0, 0] = np.nan
    np.savez(path, codes=nan, factors=GRID, factor_sizes=np.array(SIZES))
    assert main(["evaluate-codes", str(path)]) == 2
    assert "NaN" in capsys.readouterr().err
    np.savez(path, codes=_codes(GRID), factors=GRID, factor_sizes=np.array(SIZES))
    assert main(["evaluate-codes", str(path), "--metrics", "migg"]) == 2
    assert "Did you mean: mig" in capsys.readouterr().err


def test_metrics_all_names_what_it_skips_and_prints_valid_json(tmp_path, capsys):
    path = tmp_path / "codes.npz"
    np.savez(path, codes=_codes(GRID[:50]), factors=GRID[:50], factor_sizes=np.array(SIZES))
    quick = ["--preset", "quick"]
    assert main(["evaluate-codes", str(path), "--metrics", "all", *quick]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert {"mig", "irs", "mcc", "dci_es", "downstream_boosted_trees"} <= out.keys() and "beta_vae" not in out
    assert "beta_vae, factor_vae (need codes for every point" in captured.err and "mig_sampled, elbo_decomposition (need the full grid" in captured.err


def test_non_finite_values_are_printed_and_stored_as_null(tmp_path):
    from core.io import atomic_write_json, dumps_json, json_safe

    value = {"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": np.int64(3), "d": np.array([0.5, np.nan])}
    assert json_safe(value) == {"a": None, "b": [None, 1.5], "c": 3, "d": [0.5, None]}
    assert json.loads(dumps_json(value)) == {"a": None, "b": [None, 1.5], "c": 3, "d": [0.5, None]}
    assert "NaN" not in atomic_write_json(tmp_path / "r.json", value).read_text()
