"""DCI-ES: explicitness E and size S beside disentanglement, completeness and informativeness
(Eastwood, Nicolicioiu, von Kügelgen, Kekić, Träuble, Dittadi & Schölkopf 2023, "DCI-ES: An Extended
Disentanglement Framework with Connections to Identifiability", ICLR).

Explicitness asks how much probe capacity the factors need. Per factor j, probes of increasing capacity
— random forests (100 trees) of depth d in the authors' grid {1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32}
on a raw depth axis — are fitted on mean codes (10,000 train) and scored on held-out codes (5,000):
loss = 1 − accuracy. The loss–capacity curve keeps the best loss so far (y_i ← min_{k≤i} y_k); its area
above its own minimum y*, AULCC_j = Σ_i (x_{i+1} − x_i)·½[(y_i − y*) + (y_{i+1} − y*)], is compared with
the area Z_j/2 under a loss falling in a straight line from the baseline l_b,j to 0 across the grid:
E_j = 1 − 2·AULCC_j / Z_j, Z_j = (x_max − x_min)·l_b,j; E = mean_j E_j. E = 1 when the smallest probe
is already as good as the best, 0 for the straight line, negative for slower curves. **A flat curve
scores E = 1 whatever its loss**: read E next to ``informativeness`` (the best probe's test accuracy).

The baseline loss l_b,j is measured, not hard-coded: 1 − the frequency of factor j's most common value
in the training sample (the loss of always predicting it). Every factor is a classification target
(factors are class indices here; the authors regress continuous factors with R², where l_b = 1).
``disentanglement`` and ``completeness`` use dlib's formulas on the importance matrix of each factor's
best probe (mean decrease in impurity), the deepest among equally good ones: a forest of stumps, each
normalised to importance 1 on whichever of its √D candidate features it drew, spreads importance onto
unrelated latents (identity codes on a 360-point grid: D = 0.54 from the shallowest equal probe, 0.69
from the deepest); ``size`` S = K / D, the number of factors over the number of
code dimensions (1 for a code as small as the factors, smaller for larger codes).

Engines: ``"truncate"`` (default) fits one fully grown forest per factor and reads the forest of depth d
off it by stopping every tree at depth d (node values are the class fractions there, as a depth-d leaf
holds): one fit instead of twelve, and the same distribution as fitting ``max_depth=d`` (each node's
feature draw is independent of the others; the trees share their bootstrap samples across depths).
``"refit"`` fits ``max_depth=d`` forests one by one, as the authors do — the reference, kept for the
test that the two agree. Protocol: ``docs/metrics.md#dci-es``.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestClassifier

from .dci import completeness, disentanglement
from .spec import MetricSpec, ro
from .utils import check_codes

VERSION = "1"
DEPTHS = (1, 2, 3, 4, 8, 10, 12, 14, 16, 18, 20, 32)  # the authors' random-forest capacity grid
ENGINES = ("truncate", "refit")


def loss_capacity_explicitness(capacities: np.ndarray, losses: np.ndarray, baseline_loss: float) -> float:
    """E_j of one loss–capacity curve (capacities increasing, losses at each), Eastwood et al. 2023 §4."""
    x = np.asarray(capacities, dtype=np.float64)
    y = np.minimum.accumulate(np.asarray(losses, dtype=np.float64))  # best loss up to each capacity
    above = y - y.min()
    aulcc = float(np.sum(np.diff(x) * 0.5 * (above[:-1] + above[1:])))
    z = (x[-1] - x[0]) * baseline_loss
    if z <= 0:  # a factor with one value (nothing to predict) or a one-point grid
        return 1.0
    return 1.0 - 2.0 * aulcc / z


def _truncated_tree(tree, x32: np.ndarray, depths) -> tuple[np.ndarray, np.ndarray]:
    """One fitted tree stopped at each depth: class fractions (len(depths), n, C) for x32 (n, D) and
    impurity-decrease importances (len(depths), D) from the splits above each depth."""
    t = tree.tree_
    left, right, feature, threshold = t.children_left, t.children_right, t.feature, t.threshold
    value = t.value[:, 0, :]  # (nodes, C): weighted class fractions at every node
    value = value / value.sum(axis=1, keepdims=True)
    node = np.zeros(len(x32), dtype=np.int64)
    probs = np.empty((len(depths), len(x32), value.shape[1]))
    at = 0
    for level in range(max(depths) + 1):
        while at < len(depths) and depths[at] == level:
            probs[at] = value[node]
            at += 1
        inner = left[node] != -1
        if not inner.any():
            for k in range(at, len(depths)):
                probs[k] = value[node]
            break
        f = np.where(inner, feature[node], 0)
        go_left = x32[np.arange(len(x32)), f] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)
    # node depths, then the impurity decrease of each split credited to its feature, per depth limit
    depth = np.zeros(t.node_count, dtype=np.int64)
    frontier = np.zeros(1, dtype=np.int64)
    while frontier.size:  # level by level from the root
        frontier = frontier[left[frontier] != -1]
        depth[left[frontier]] = depth[right[frontier]] = depth[frontier] + 1
        frontier = np.concatenate([left[frontier], right[frontier]])
    w, imp = t.weighted_n_node_samples, t.impurity
    inner = np.flatnonzero(left != -1)
    gain = w[inner] * imp[inner] - w[left[inner]] * imp[left[inner]] - w[right[inner]] * imp[right[inner]]
    importances = np.zeros((len(depths), x32.shape[1]))
    for k, d in enumerate(depths):
        keep = depth[inner] < d
        np.add.at(importances[k], feature[inner][keep], gain[keep])
        total = importances[k].sum()
        if total > 0:
            importances[k] /= total
    return probs, importances


def _forest_importances(per_tree: np.ndarray) -> np.ndarray:
    """scikit-learn's forest importances from per-tree normalised ones (trees, D): mean over the trees
    that split, renormalised."""
    used = per_tree[per_tree.sum(axis=1) > 0]
    if len(used) == 0:
        return np.zeros(per_tree.shape[1])
    mean = used.mean(axis=0)
    return mean / mean.sum()


def probe_curve(codes_train, y_train, codes_test, y_test, depths=DEPTHS, n_estimators: int = 100, seed: int = 0,
                engine: str = "truncate") -> tuple[np.ndarray, np.ndarray]:
    """Test losses (len(depths),) and importances (len(depths), D) of random forests of each depth."""
    depths = tuple(int(d) for d in depths)
    if engine == "refit":
        losses, imps = [], []
        for d in depths:
            m = RandomForestClassifier(n_estimators=n_estimators, max_depth=d, random_state=seed).fit(codes_train, y_train)
            losses.append(1.0 - np.mean(m.predict(codes_test) == y_test))
            imps.append(m.feature_importances_)
        return np.array(losses), np.array(imps)
    if engine != "truncate":
        raise ValueError(f"unknown DCI-ES engine {engine!r}; use one of {', '.join(ENGINES)}")
    m = RandomForestClassifier(n_estimators=n_estimators, random_state=seed).fit(codes_train, y_train)
    x32 = np.asarray(codes_test, dtype=np.float32)  # as scikit-learn predicts
    probs = np.zeros((len(depths), len(x32), len(m.classes_)))
    per_tree = np.empty((n_estimators, len(depths), x32.shape[1]))
    for i, tree in enumerate(m.estimators_):
        p, per_tree[i] = _truncated_tree(tree, x32, depths)
        probs += p
    pred = m.classes_[np.argmax(probs, axis=2)]  # (depths, n_test)
    losses = 1.0 - np.mean(pred == np.asarray(y_test)[None, :], axis=1)
    imps = np.stack([_forest_importances(per_tree[:, k]) for k in range(len(depths))])
    return losses, imps


def compute_dci_es(codes_train, factors_train, codes_test, factors_test, depths=DEPTHS, n_estimators: int = 100,
                   seed: int = 0, n_jobs: int = 1, engine: str = "truncate") -> dict[str, float]:
    """The pure core: codes (N, D), factors (N, K) → explicitness, size, informativeness, D and C."""
    codes_train, factors_train = check_codes(codes_train, factors_train, min_samples=2, name="dci_es")
    codes_test, factors_test = check_codes(codes_test, factors_test, min_samples=1, name="dci_es")
    depths = tuple(int(d) for d in depths)
    if len(depths) < 2 or list(depths) != sorted(set(depths)) or depths[0] < 1:
        raise ValueError(f"dci_es: depths must be at least two increasing positive depths; got {list(depths)}")
    k, dims = factors_train.shape[1], codes_train.shape[1]
    seeds = np.random.default_rng(seed).integers(2**31 - 1, size=k)
    curves = Parallel(n_jobs=n_jobs)(
        delayed(probe_curve)(codes_train, factors_train[:, j], codes_test, factors_test[:, j], depths, n_estimators,
                             int(seeds[j]), engine) for j in range(k))
    out: dict[str, float] = {}
    explicit, best_acc, r = [], [], np.zeros((dims, k))
    for j, (losses, imps) in enumerate(curves):
        baseline = 1.0 - np.bincount(factors_train[:, j] - factors_train[:, j].min()).max() / len(factors_train)
        explicit.append(loss_capacity_explicitness(depths, losses, baseline))
        best = len(losses) - 1 - int(np.argmin(losses[::-1]))  # the most informative probe, deepest among ties
        best_acc.append(1.0 - losses[best])
        r[:, j] = imps[best]
        out[f"explicitness_factor_{j}"] = float(explicit[-1])
        out[f"baseline_loss_factor_{j}"] = float(baseline)
    out.update(explicitness=float(np.mean(explicit)), size=k / dims, informativeness=float(np.mean(best_acc)),
               disentanglement=disentanglement(r), completeness=completeness(r))
    return out


def _run_dci_es(ctx, s, rng):
    c, f = ctx.sample("train", s["num_train"])
    ct, ft = ctx.sample("test", s["num_test"])
    return compute_dci_es(c, f, ct, ft, s["depths"], s["n_estimators"], seed=int(rng.integers(2**31)), n_jobs=ctx.n_jobs)


SPECS = (
    MetricSpec("dci_es", "explicitness",
               ro(explicitness=True, size=True, informativeness=True, disentanglement=True, completeness=True), VERSION,
               "Eastwood et al. 2023 DCI-ES: mean codes; per factor random-forest probes (100 trees) of depth 1–32 (the "
               "authors' grid, raw depth axis), loss 1 − test accuracy, E = 1 − 2·AULCC/((d_max − d_min)·l_b) with l_b the "
               "majority-class loss of the training sample; depth-d forests read off one full forest by truncation; "
               "D and C from the best probe's impurity importances; size = factors / code dimensions",
               ro(num_train=10_000, num_test=5_000, depths=DEPTHS, n_estimators=100, probe="random_forest"),
               _run_dci_es, quick=ro(num_train=2_000, num_test=1_000),
               label="DCI-ES explicitness",
               definition="how little probe capacity the factors need: 1 − 2 × area of the best-loss-vs-forest-depth curve "
                          "above its minimum over a linear fall (Eastwood et al. 2023); a flat curve scores 1 whatever its "
                          "loss — read it next to informativeness"),
)
