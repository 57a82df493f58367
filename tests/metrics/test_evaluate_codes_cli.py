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
    assert "beta_vae need codes for the full factor grid" in capsys.readouterr().err
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
