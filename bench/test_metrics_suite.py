"""Whole metric suite on dSprites-shaped codes (grid [3, 6, 40, 32, 32], 10-d codes: 5 noisy factor
dims, 3 collapsed, 2 noise; ``docs/metrics.md``), disentanglement_lib study budgets, no encoder.

Ours: one shared 10,000/5,000 sample for MIG/DCI/SAP/modularity/unsupervised, factors fitted in
parallel on 2 workers. Reference: disentanglement_lib 1.5 run side by side when importable
(the tox ``bench`` env installs it), each metric with its own samples as in the study. The ratio is
printed. Run: ``tox -e bench -- bench/test_metrics_suite.py -s``.
"""

import time

import numpy as np
import pytest

from metrics import DEFAULT_METRICS, TableSource, evaluate_source

SIZES = (3, 6, 40, 32, 32)
TIMES: dict[str, float] = {}


def _codes():
    rng = np.random.default_rng(0)
    grid = np.indices(SIZES, dtype=np.int16).reshape(len(SIZES), -1).T
    cols = [2 * grid[:, k] / (SIZES[k] - 1) - 1 + rng.normal(0, 0.05, len(grid)) for k in range(5)]
    cols += [rng.normal(0, 0.01, len(grid)) for _ in range(3)] + [rng.normal(0, 1, len(grid)) for _ in range(2)]
    return np.stack(cols, 1).astype(np.float32), grid.astype(np.int64)


@pytest.fixture(scope="module")
def table():
    return _codes()


def test_suite_ours(benchmark, table):
    codes, grid = table
    src = TableSource(codes, grid, SIZES)
    result = benchmark.pedantic(lambda: evaluate_source(src, DEFAULT_METRICS, seed=0, n_jobs=2), rounds=1, iterations=1)
    TIMES["ours"] = benchmark.stats.stats.median
    benchmark.extra_info.update({m: r["seconds"] for m, r in result.items()})
    print("\nours: " + ", ".join(f"{m} {r['seconds']:.1f} s ({r['values'][r['primary']]:.4f})" for m, r in result.items()))
    print("dci values: " + ", ".join(f"{k} {v:.4f}" for k, v in result["dci"]["values"].items()))


def test_suite_ours_dci_fast(benchmark, table):
    """The same suite with ``dci_fast`` (the compiled fit without its tie simulation) for ``dci``."""
    codes, grid = table
    src = TableSource(codes, grid, SIZES)
    names = tuple("dci_fast" if m == "dci" else m for m in DEFAULT_METRICS)
    result = benchmark.pedantic(lambda: evaluate_source(src, names, seed=0, n_jobs=2), rounds=1, iterations=1)
    TIMES["ours_fast"] = benchmark.stats.stats.median
    benchmark.extra_info.update({m: r["seconds"] for m, r in result.items()})
    print("\nours with dci_fast: " + ", ".join(f"{m} {r['seconds']:.1f} s ({r['values'][r['primary']]:.4f})" for m, r in result.items()))
    print("dci_fast values: " + ", ".join(f"{k} {v:.4f}" for k, v in result["dci_fast"]["values"].items()))
    if "ours" in TIMES:
        print(f"suite speed-up of dci_fast vs dci (same run): {TIMES['ours'] / TIMES['ours_fast']:.1f}×")


def test_dci_engines(benchmark, table):
    """DCI alone on one 10,000/5,000 sample, 2 workers: scikit-learn's fit against its compiled
    mirror (metrics.sklearn_gbt) in the same run; the numbers must be identical."""
    from metrics import dci

    codes, grid = table
    rng = np.random.default_rng(0)
    tr, te = rng.integers(0, len(codes), 10_000), rng.integers(0, len(codes), 5_000)
    args = (codes[tr], grid[tr], codes[te], grid[te])
    dci.compute_dci(codes[tr[:600]], grid[tr[:600]], codes[te[:300]], grid[te[:300]], engine="mirror")  # compile outside the timing
    t0 = time.perf_counter()
    ref = dci.compute_dci(*args, seed=0, n_jobs=2, engine="sklearn")
    t_ref = time.perf_counter() - t0
    ours = benchmark.pedantic(lambda: dci.compute_dci(*args, seed=0, n_jobs=2, engine="mirror"), rounds=1, iterations=1)
    t_ours = benchmark.stats.stats.median
    t0 = time.perf_counter()
    fast = dci.compute_dci(*args, seed=0, n_jobs=2, engine="fast")
    t_fast = time.perf_counter() - t0
    benchmark.extra_info.update(sklearn_s=t_ref, mirror_s=t_ours, fast_s=t_fast)
    print(f"\nDCI: scikit-learn {t_ref:.1f} s, mirror {t_ours:.1f} s ({t_ref / t_ours:.1f}×), fast {t_fast:.1f} s ({t_ref / t_fast:.1f}×)")
    print(f"identical values: {ours == ref}; fast differs by {max(abs(fast[k] - ref[k]) for k in ref):.2e}")
    assert ours == ref


def test_suite_reference(benchmark, table):
    pytest.importorskip("gin")
    import sys
    import types

    import gin

    if "gin.tf" not in sys.modules:
        sys.modules["gin.tf"] = gin.tf = types.ModuleType("gin.tf")
    dlib = pytest.importorskip("disentanglement_lib.evaluation.metrics.dci")  # noqa: F841
    from disentanglement_lib.evaluation.metrics import (
        beta_vae,
        dci,
        factor_vae,
        mig,
        modularity_explicitness,
        sap_score,
        unsupervised_metrics,
    )

    gin.parse_config("discretizer.discretizer_fn = @histogram_discretizer\ndiscretizer.num_bins = 20")
    codes, grid = table
    bases = np.array([40960 * 6, 40960, 1024, 32, 1])

    class Data:
        num_factors, factors_num_values, observation_shape = 5, list(SIZES), [5]

        def sample_factors(self, n, rs):
            return np.stack([rs.randint(s, size=n) for s in SIZES], 1)

        def sample_observations_from_factors(self, f, rs):
            return f

        def sample_observations(self, n, rs):
            return self.sample_factors(n, rs)

        def sample(self, n, rs):
            f = self.sample_factors(n, rs)
            return f, f

    def rep(f):
        return codes[f @ bases]

    def run():
        t = {}
        for name, fn, kw in [
            ("beta_vae", beta_vae.compute_beta_vae_sklearn, dict(batch_size=64, num_train=10000, num_eval=5000)),
            ("factor_vae", factor_vae.compute_factor_vae, dict(batch_size=64, num_train=10000, num_eval=5000, num_variance_estimate=10000)),
            ("mig", mig.compute_mig, dict(num_train=10000)),
            ("dci", dci.compute_dci, dict(num_train=10000, num_test=5000)),
            ("sap", sap_score.compute_sap, dict(num_train=10000, num_test=5000, continuous_factors=False)),
            ("modularity", modularity_explicitness.compute_modularity_explicitness, dict(num_train=10000, num_test=5000)),
            ("unsupervised", unsupervised_metrics.unsupervised_metrics, dict(num_train=10000)),
        ]:
            np.random.seed(0)
            t0 = time.perf_counter()
            if name == "factor_vae":
                gin.bind_parameter("prune_dims.threshold", 0.05)
            fn(Data(), rep, np.random.RandomState(0), None, **kw)
            t[name] = time.perf_counter() - t0
        return t

    t = benchmark.pedantic(run, rounds=1, iterations=1)
    TIMES["reference"] = benchmark.stats.stats.median
    print("\nreference: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))
    if "ours" in TIMES:
        print(f"suite speed-up vs disentanglement_lib: {TIMES['reference'] / TIMES['ours']:.1f}×")
    if "ours_fast" in TIMES:
        print(f"suite speed-up with dci_fast vs disentanglement_lib: {TIMES['reference'] / TIMES['ours_fast']:.1f}×")
