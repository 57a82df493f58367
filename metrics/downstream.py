"""The downstream task: how well a simple classifier predicts each factor from the codes, for growing
training sets — disentanglement_lib's ``downstream_task.py`` (Locatello et al. 2019, "Challenging
Common Assumptions in the Unsupervised Learning of Disentangled Representations", ICML, §4.2/§5.4).

For each training size n in ``num_train`` (dlib: 10, 100, 1,000, 10,000) and every factor, a classifier
is fitted on n mean codes (N, D) → factor classes and scored by accuracy on the n training points and
on ``num_test`` (5,000) held-out points. Two predictors, as dlib's study binds them:

* ``downstream_logistic_regression``: ``LogisticRegressionCV(Cs=10, cv=KFold(5))`` — L2, lbfgs, 10
  inverse regularisations on a log grid, unshuffled 5-fold CV choosing C by accuracy (we pass
  ``scoring="accuracy"`` explicitly: scikit-learn 1.11 changes the default to log loss);
* ``downstream_boosted_trees``: ``GradientBoostingClassifier()`` with the library defaults, fitted by
  the bit-exact mirror :mod:`metrics.sklearn_gbt` (or scikit-learn itself where the mirror is not
  verified) with a seeded ``RandomState`` per factor — dlib leaves it to numpy's global RNG.

Values are named as dlib's: ``{n}:mean_train_accuracy``, ``{n}:mean_test_accuracy``,
``{n}:min_train_accuracy``, ``{n}:min_test_accuracy``, ``{n}:train_accuracy_factor_{k}``,
``{n}:test_accuracy_factor_{k}``; the headline ``mean_test_accuracy`` repeats the largest size's.

Sampling differs from dlib's only in which random points are drawn: dlib draws a fresh test set per
training size, we draw one test set shared by every size (and by every metric with the same budget),
so the sizes are compared on the same points. Deviation: a training sample in which a factor takes a
single value (a small n on a factor with few values, or a constant factor) makes dlib's classifiers
raise; here that factor is predicted as the constant class and the record says how often it happened
(``single_class_fits``). Factors are fitted in parallel (joblib); the numbers do not depend on it.
Protocol: ``docs/metrics.md#downstream-task``.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from joblib import Parallel, delayed

from . import sklearn_gbt
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"
PREDICTORS = ("logistic_regression", "boosted_trees")


def _logistic_regression_cv():
    """dlib's ``logistic_regression_cv`` with the scoring pinned to accuracy (its default when dlib was
    written) and the legacy fitted attributes kept, where this scikit-learn knows those arguments."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    known = inspect.signature(LogisticRegressionCV).parameters
    extra = {k: v for k, v in (("scoring", "accuracy"), ("use_legacy_attributes", True)) if k in known}
    return LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), **extra)


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, predictor: str,
                seed: int | np.random.RandomState = 0, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (n_train,), (n_test,) of ``predictor`` fitted on codes x_train (n, D) → labels y_train (n,).

    ``seed`` seeds the boosted trees' tie-breaking (a ``RandomState`` is drawn from as scikit-learn
    would, so a shared stream can be replayed; ``threads``: the mirror's parallel trees, same fit). A
    single-class training sample predicts that class (the reference classifiers raise)."""
    classes = np.unique(y_train)
    if len(classes) < 2:
        return np.full(len(x_train), classes[0]), np.full(len(x_test), classes[0])
    if predictor == "boosted_trees":
        if sklearn_gbt.mirrors_installed_sklearn():
            _, pred_train, pred_test = sklearn_gbt.fit_gbt(x_train, y_train, x_test, random_state=seed, threads=threads)
            return pred_train, pred_test
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(random_state=seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed))
    elif predictor == "logistic_regression":
        model = _logistic_regression_cv()
    else:
        raise ValueError(f"unknown downstream predictor {predictor!r}; use one of {', '.join(PREDICTORS)}")
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # lbfgs stops at 100 iterations as in the reference (ConvergenceWarning); scikit-learn's
        # announcements of future defaults concern arguments the protocol pins
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model.fit(x_train, y_train)
    return model.predict(x_train), model.predict(x_test)


def factor_accuracies(codes_train, factors_train, codes_test, factors_test, predictor: str, seed: int = 0,
                      n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-factor train and test accuracy (K,), (K,) and the number of single-class fits.

    Factor k's classifier gets seed ``default_rng(seed).integers(2**31 - 1, size=K)[k]``."""
    k = factors_train.shape[1]
    seeds = np.random.default_rng(seed).integers(2**31 - 1, size=k)
    if predictor == "boosted_trees" and sklearn_gbt.mirrors_installed_sklearn():  # parallel trees inside each fit
        fits = [fit_predict(codes_train, factors_train[:, j], codes_test, predictor, int(seeds[j]), n_jobs) for j in range(k)]
    else:
        fits = Parallel(n_jobs=n_jobs)(
            delayed(fit_predict)(codes_train, factors_train[:, j], codes_test, predictor, int(seeds[j])) for j in range(k))
    train = np.array([np.mean(p == factors_train[:, j]) for j, (p, _) in enumerate(fits)])
    test = np.array([np.mean(p == factors_test[:, j]) for j, (_, p) in enumerate(fits)])
    single = sum(len(np.unique(factors_train[:, j])) < 2 for j in range(k))
    return train, test, int(single)


def size_scores(num_train: int, train_acc: np.ndarray, test_acc: np.ndarray) -> dict[str, float]:
    """dlib's value names for one training size."""
    n = str(num_train)
    out = {f"{n}:mean_train_accuracy": float(np.mean(train_acc)), f"{n}:mean_test_accuracy": float(np.mean(test_acc)),
           f"{n}:min_train_accuracy": float(np.min(train_acc)), f"{n}:min_test_accuracy": float(np.min(test_acc))}
    for i, (a, b) in enumerate(zip(train_acc, test_acc)):
        out[f"{n}:train_accuracy_factor_{i}"] = float(a)
        out[f"{n}:test_accuracy_factor_{i}"] = float(b)
    return out


def compute_downstream(train_sets, codes_test, factors_test, predictor: str, seed: int = 0,
                       n_jobs: int = 1) -> dict[str, float]:
    """The pure core. ``train_sets``: (codes (n, D), factors (n, K)) per training size, smallest first;
    the test codes (M, D) and factors (M, K) are shared. Returns dlib's keys for every size, the headline
    ``mean_test_accuracy`` (the largest size's) and ``single_class_fits``."""
    name = f"downstream_{predictor}"
    if predictor not in PREDICTORS:
        raise ValueError(f"unknown downstream predictor {predictor!r}; use one of {', '.join(PREDICTORS)}")
    if not train_sets:
        raise ValueError(f"{name}: num_train must list at least one training size, e.g. [10, 100, 1000, 10000]")
    codes_test, factors_test = check_codes(codes_test, factors_test, min_samples=1, name=name)
    out: dict[str, float] = {}
    single = 0
    for i, (codes, factors) in enumerate(train_sets):
        codes, factors = check_codes(codes, factors, min_samples=2, name=name)
        if codes.shape[1] != codes_test.shape[1] or factors.shape[1] != factors_test.shape[1]:
            raise ValueError(f"{name}: training and test codes/factors must have the same columns; got "
                             f"{codes.shape[1]}/{factors.shape[1]} and {codes_test.shape[1]}/{factors_test.shape[1]}")
        train_acc, test_acc, s = factor_accuracies(codes, factors, codes_test, factors_test, predictor,
                                                   seed=seed + i, n_jobs=n_jobs)
        out.update(size_scores(len(codes), train_acc, test_acc))
        single += s
    out["mean_test_accuracy"] = out[f"{len(train_sets[-1][0])}:mean_test_accuracy"]
    out["single_class_fits"] = single
    return out


# ----- registry entries ---------------------------------------------------------------------------


def _sizes(s) -> list[int]:
    sizes = [int(n) for n in np.atleast_1d(s["num_train"])]
    if sorted(sizes) != sizes or len(set(sizes)) != len(sizes) or sizes[0] < 1:
        raise ValueError(f"downstream: num_train must be distinct positive sizes in increasing order; got {sizes}")
    return sizes


def _runner(predictor: str):
    def run(ctx, s, rng):
        train_sets = [ctx.sample("train", n) for n in _sizes(s)]
        ct, ft = ctx.sample("test", s["num_test"])
        return compute_downstream(train_sets, ct, ft, predictor, seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)

    return run


def _directions(sizes=(10, 100, 1_000, 10_000)):
    keys = {"mean_test_accuracy": True, "single_class_fits": False}
    for n in sizes:
        keys.update({f"{n}:{k}": True for k in ("mean_train_accuracy", "mean_test_accuracy", "min_train_accuracy", "min_test_accuracy")})
    return ro(keys)


_DEFAULTS = ro(num_train=(10, 100, 1_000, 10_000), num_test=5_000, batch_size=16)
_QUICK = ro(num_train=(10, 100, 1_000), num_test=1_000)
_PROTOCOL = ("Locatello et al. 2019 as disentanglement_lib compute_downstream_task with {bound}: mean codes, per factor "
             "{fit} at each training size, accuracy on 5,000 held-out points shared by the sizes; mean_test_accuracy is the "
             "largest size's")


def _spec(predictor: str, bound: str, fit: str, label: str, model: str) -> MetricSpec:
    """One downstream metric: the shared protocol, defaults and value names with its predictor."""
    return MetricSpec(f"downstream_{predictor}", "mean_test_accuracy", _directions(), VERSION, _PROTOCOL.format(bound=bound, fit=fit),
                      _DEFAULTS, _runner(predictor), quick=_QUICK, label=f"downstream accuracy ({label})",
                      definition=f"test accuracy of {model} predicting each factor from the codes (Locatello et al. 2019)")


SPECS = (
    _spec("logistic_regression", "logistic_regression_cv", "LogisticRegressionCV(Cs=10, cv=KFold(5), accuracy)",
          "logistic regression", "a cross-validated logistic regression"),
    _spec("boosted_trees", "gradient_boosting_classifier", "GradientBoostingClassifier defaults (seeded RandomState; "
          "metrics.sklearn_gbt, bit-equal to scikit-learn)", "boosted trees", "gradient-boosted trees"),
)
