"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018, ICLR), as
disentanglement_lib's ``dci.py``.

Per factor j, a ``GradientBoostingClassifier`` with the library defaults (100 stages, learning rate
0.1, depth 3) on raw codes (10,000 train / 5,000 test); R[:, j] = |feature_importances_| (D × K).
Disentanglement = Σ_i ρ_i (1 − H_K(R[i, :])), ρ_i = Σ_j R[i, j] / Σ R; completeness = Σ_j ρ_j
(1 − H_D(R[:, j])); informativeness = mean accuracy over factors (train and test; dlib calls them
``train_loss``/``test_loss``). The reference leaves the trees' tie-breaking to numpy's global RNG;
we pass a seeded ``RandomState`` per factor, so DCI is reproducible from the metric seed. With ``n_jobs``
> 1 the mirror grows each boosting stage's trees (one per class) in parallel threads, scikit-learn's
fit runs factors in parallel processes; the fitted models and numbers do not depend on the workers.

Engines (the numbers of the first two are identical):

* ``"mirror"`` (default when the installed scikit-learn is one :mod:`metrics.sklearn_gbt` was
  verified against): scikit-learn's fit replicated in compiled code, bit for bit;
* ``"sklearn"``: ``GradientBoostingClassifier`` itself (the fallback for other releases);
* ``"fast"`` (metric ``dci_fast``): the mirror without its introsort simulation inside runs of equal
  code values; equal to the others except where such runs change a rounding that decides a split.

Protocol: ``docs/metrics.md#dci``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from . import sklearn_gbt
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"
FAST_VERSION = "2"  # 1: metrics.gbt with its own random feature order (retired)
ENGINES = ("mirror", "sklearn", "fast")


def default_engine() -> str:
    """``"mirror"`` where it is verified against the installed scikit-learn, else ``"sklearn"``."""
    return "mirror" if sklearn_gbt.mirrors_installed_sklearn() else "sklearn"


def _fit_factor(x_train, y_train, x_test, y_test, seed: int, engine: str, threads: int = 1):
    """Importances and train/test accuracy of ``GradientBoostingClassifier(random_state=RandomState(seed))``."""
    if engine == "sklearn":
        model = GradientBoostingClassifier(random_state=np.random.RandomState(seed))
        model.fit(x_train, y_train)
        imp, pred_train, pred_test = model.feature_importances_, model.predict(x_train), model.predict(x_test)
    else:
        imp, pred_train, pred_test = sklearn_gbt.fit_gbt(x_train, y_train, x_test, random_state=seed, exact_ties=engine == "mirror",
                                                         threads=threads)
    return np.abs(imp), float(np.mean(pred_train == y_train)), float(np.mean(pred_test == y_test))


def importance_matrix(codes_train, factors_train, codes_test, factors_test, seed: int = 0, n_jobs: int = 1,
                      engine: str | None = None):
    """(D, K) importances and per-factor train/test accuracies. Factors are fitted largest first so
    that parallel workers finish together."""
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"unknown DCI engine {engine!r}; use one of {', '.join(ENGINES)}")
    k = factors_train.shape[1]
    seeds = np.random.default_rng(seed).integers(2**31 - 1, size=k)
    by_size = sorted(range(k), key=lambda j: -len(np.unique(factors_train[:, j])))
    if engine == "sklearn":  # scikit-learn's own fit: factors in parallel processes
        done = Parallel(n_jobs=n_jobs)(
            delayed(_fit_factor)(codes_train, factors_train[:, j], codes_test, factors_test[:, j], int(seeds[j]), engine)
            for j in by_size
        )
    else:  # the mirror: one factor at a time, each stage's trees (one per class) in n_jobs threads
        done = [_fit_factor(codes_train, factors_train[:, j], codes_test, factors_test[:, j], int(seeds[j]), engine, n_jobs)
                for j in by_size]
    out = [None] * k
    for j, res in zip(by_size, done):
        out[j] = res
    r = np.stack([o[0] for o in out], axis=1)
    return r, np.array([o[1] for o in out]), np.array([o[2] for o in out])


def disentanglement(r: np.ndarray) -> float:
    per_code = 1.0 - scipy.stats.entropy(r.T + 1e-11, base=r.shape[1])
    if r.sum() == 0.0:
        r = np.ones_like(r)
    return float(np.sum(per_code * (r.sum(axis=1) / r.sum())))  # dlib's association: equal bits


def completeness(r: np.ndarray) -> float:
    per_factor = 1.0 - scipy.stats.entropy(r + 1e-11, base=r.shape[0])
    if r.sum() == 0.0:
        r = np.ones_like(r)
    return float(np.sum(per_factor * (r.sum(axis=0) / r.sum())))


def compute_dci(codes_train, factors_train, codes_test, factors_test, seed: int = 0, n_jobs: int = 1,
                engine: str | None = None) -> dict[str, float]:
    """The pure core: codes (N, D), factors (N, K) → disentanglement, completeness, informativeness.

    ``engine``: see the module docstring (default :func:`default_engine`; ``"fast"`` is ``dci_fast``)."""
    name = "dci_fast" if engine == "fast" else "dci"
    codes_train, factors_train = check_codes(codes_train, factors_train, name=name)
    codes_test, factors_test = check_codes(codes_test, factors_test, name=name)
    r, train_acc, test_acc = importance_matrix(codes_train, factors_train, codes_test, factors_test, seed, n_jobs, engine)
    return {
        "disentanglement": disentanglement(r),
        "completeness": completeness(r),
        "informativeness_train": float(train_acc.mean()),
        "informativeness_test": float(test_acc.mean()),
    }


# ----- registry entry: protocol, defaults and how to run it from an EvalContext --------------------


def _run_dci(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_dci(c, f, ct, ft, seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)


def _run_dci_fast(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_dci(c, f, ct, ft, seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs, engine="fast")


SPECS = (
    MetricSpec("dci", "disentanglement", ro(disentanglement=True, completeness=True, informativeness_train=True, informativeness_test=True), VERSION,
               "Eastwood & Williams 2018 as disentanglement_lib dci: mean codes, GradientBoostingClassifier defaults per factor, seeded "
               "RandomState; fitted by metrics.sklearn_gbt (scikit-learn 1.9's fit, bit-equal) or scikit-learn itself",
               ro(num_train=10_000, num_test=5_000), _run_dci, quick=ro(num_train=500, num_test=250), suite=True,
               label="DCI disentanglement",
               definition="importance-weighted 1 − entropy of each code's gradient-boosting importances over factors (Eastwood & Williams 2018)"),
    MetricSpec("dci_fast", "disentanglement", ro(disentanglement=True, completeness=True, informativeness_train=True, informativeness_test=True), FAST_VERSION,
               "Eastwood & Williams 2018 as disentanglement_lib dci, fitted by metrics.sklearn_gbt without simulating scikit-learn's "
               "introsort inside runs of equal code values: equal to `dci` except where a sum over such a run rounds differently "
               "and that decides a split",
               ro(num_train=10_000, num_test=5_000), _run_dci_fast, quick=ro(num_train=500, num_test=250), suite=False,
               label="DCI disentanglement (fast fit)",
               definition="DCI disentanglement with the boosted trees fitted without simulating scikit-learn's tie order"),
)
