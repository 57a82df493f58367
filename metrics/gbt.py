"""Gradient-boosted trees for DCI: scikit-learn's ``GradientBoostingClassifier()`` model, fitted fast.

disentanglement_lib's DCI fits ``GradientBoostingClassifier()`` per factor: log-loss, 100 stages,
learning rate 0.1, depth-3 regression trees (squared error, best splitter, all features, at least
one sample per leaf), a prior-probability start and one Newton step per leaf. For a 40-class factor
that is 4,000 trees over the same codes, and scikit-learn sorts every node's samples again for every
tree. Here the codes are sorted once per feature and each tree keeps those orders partitioned by
node (a stable partition per split), so a node's best split is one linear scan per feature, in a
compiled (numba) loop. The rules are scikit-learn's:

* codes are cast to float32, as its trees do; a split may only fall between sorted values more than
  1e-7 apart, at their midpoint (float64), and a sample goes left when ``x <= threshold``;
* a node is split when it is shallower than 3, holds at least 2 samples and its residual variance
  exceeds machine epsilon; the split maximises Σ_left²/n_left + Σ_right²/n_right, features visited in
  a random order, the first strictly best split kept;
* leaf values: (K−1)/K · mean(residual) / mean(p(1−p)) for K > 2 classes, mean(residual) /
  mean(p(1−p)) for two (binomial loss, one tree per stage); the start is the symmetric multinomial
  logit of the training class frequencies (the logit of the positive class for two);
* importances: per tree, Σ over its splits of n·impurity − n_l·impurity_l − n_r·impurity_r, over n;
  averaged over the trees that split at all, then normalised to sum to 1.

What is *not* reproduced is scikit-learn's random stream. When several features induce the same
partition of a node (common in deep nodes holding a handful of samples) the split goes to whichever
is visited first, so the importances shift between tied features from one ``random_state`` to the
next — in scikit-learn as here. disentanglement_lib leaves that stream unseeded. The results are
therefore equal to scikit-learn's in distribution, not bit for bit; ``tests/metrics/test_gbt.py``
checks that they differ from a scikit-learn fit by no more than scikit-learn's fits differ from each
other across seeds, and that with ties impossible (one feature) they agree to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FEATURE_THRESHOLD = 1e-7  # scikit-learn's minimum gap between sorted values for a split
EPSILON = np.finfo(np.float64).eps
MAX_NODES = 2**4 - 1  # depth 3
TIE_TOLERANCE = 1e-10  # relative: splits scoring this close are ties (identical partitions up to rounding)


@njit(cache=True)
def _xorshift(state):
    x = state[0]
    x ^= x << np.uint64(13)  # uint64 arithmetic wraps
    x ^= x >> np.uint64(7)
    x ^= x << np.uint64(17)
    state[0] = x
    return x


@njit(cache=True)
def _grow_tree(x, order, y, seed, max_depth, perm, tmp, goes_left, leaf_of, feature, threshold, left, right, importance):
    """One regression tree on residuals ``y`` (n,), depth-first like scikit-learn's builder.

    x: (F, n) float64 values of float32 codes, one row per feature; order: (F, n) each feature's
    sorted sample order.
    Writes the tree into feature/threshold/left/right (node arrays, -1 = leaf), the leaf of each
    training sample into ``leaf_of`` and the unnormalised impurity decrease per feature into
    ``importance``. Returns the node count.
    """
    n_features, n = x.shape
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) | np.uint64(1)
    for f in range(n_features):
        for i in range(n):
            perm[f, i] = order[f, i]
    feats = np.arange(n_features)
    # stack of (start, end, depth, node id); children pushed right then left, so left is grown first
    st_start = np.empty(64, np.int64)
    st_end = np.empty(64, np.int64)
    st_depth = np.empty(64, np.int64)
    st_node = np.empty(64, np.int64)
    st_start[0], st_end[0], st_depth[0], st_node[0] = 0, n, 0, 0
    top = 1
    n_nodes = 1
    for k in range(feature.shape[0]):
        feature[k] = -1
        left[k] = -1
        right[k] = -1
    while top > 0:
        top -= 1
        s, e, depth, node = st_start[top], st_end[top], st_depth[top], st_node[top]
        cnt = e - s
        total = 0.0
        total_sq = 0.0
        for i in range(s, e):
            v = y[perm[0, i]]
            total += v
            total_sq += v * v
        impurity = total_sq / cnt - (total / cnt) ** 2
        if depth >= max_depth or cnt < 2 or impurity <= EPSILON:
            for i in range(s, e):
                leaf_of[perm[0, i]] = node
            continue
        # random feature order (Fisher–Yates), first strictly best split kept
        for i in range(n_features - 1, 0, -1):
            j = np.int64(_xorshift(state) % np.uint64(i + 1))
            feats[i], feats[j] = feats[j], feats[i]
        best = -1.0  # proxies are ≥ 0
        best_f = -1
        best_p = -1
        for fi in range(n_features):
            f = feats[fi]
            xf = x[f]
            pf = perm[f]
            sum_left = 0.0
            for p in range(s, e - 1):
                a = pf[p]
                sum_left += y[a]
                if xf[pf[p + 1]] <= xf[a] + FEATURE_THRESHOLD:
                    continue
                n_left = p - s + 1.0
                sum_right = total - sum_left
                proxy = sum_left * sum_left / n_left + sum_right * sum_right / (cnt - n_left)
                if proxy > best + TIE_TOLERANCE * best:  # rounding-level differences are ties: first visited wins
                    best, best_f, best_p = proxy, f, p
        if best_f < 0:
            for i in range(s, e):
                leaf_of[perm[0, i]] = node
            continue
        lo = x[best_f, perm[best_f, best_p]]
        hi = x[best_f, perm[best_f, best_p + 1]]
        thr = lo / 2.0 + hi / 2.0
        if thr == hi or thr == np.inf or thr == -np.inf:
            thr = lo
        n_left = 0
        sl = 0.0
        sql = 0.0
        for i in range(s, e):
            a = perm[0, i]
            gl = x[best_f, a] <= thr
            goes_left[a] = gl
            if gl:
                n_left += 1
                sl += y[a]
                sql += y[a] * y[a]
        # stable partition of every feature's order inside [s, e); children that can only be leaves
        # need just one order (for their sample lists)
        for f in range(n_features if depth + 1 < max_depth else 1):
            li = s
            ri = 0
            for i in range(s, e):
                a = perm[f, i]
                if goes_left[a]:
                    perm[f, li] = a
                    li += 1
                else:
                    tmp[ri] = a
                    ri += 1
            for i in range(ri):
                perm[f, li + i] = tmp[i]
        n_right = cnt - n_left
        sr = total - sl
        sqr = total_sq - sql
        imp_l = sql / n_left - (sl / n_left) ** 2
        imp_r = sqr / n_right - (sr / n_right) ** 2
        importance[best_f] += cnt * impurity - n_left * imp_l - n_right * imp_r
        l_id, r_id = n_nodes, n_nodes + 1
        n_nodes += 2
        feature[node], threshold[node], left[node], right[node] = best_f, thr, l_id, r_id
        st_start[top], st_end[top], st_depth[top], st_node[top] = s + n_left, e, depth + 1, r_id
        top += 1
        st_start[top], st_end[top], st_depth[top], st_node[top] = s, s + n_left, depth + 1, l_id
        top += 1
    return n_nodes


@njit(cache=True)
def _apply(x, feature, threshold, left, right, out):
    """Leaf of each column of ``x`` (F, n)."""
    for i in range(x.shape[1]):
        node = 0
        while left[node] >= 0:
            node = left[node] if x[feature[node], i] <= threshold[node] else right[node]
        out[i] = node


def _leaf_values(leaf_of: np.ndarray, resid: np.ndarray, target: np.ndarray, n_classes: int, size: int) -> np.ndarray:
    """One Newton step per leaf, as scikit-learn's ``_update_terminal_regions`` (log-loss)."""
    cnt = np.bincount(leaf_of, minlength=size).astype(np.float64)
    prob = target - resid
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.bincount(leaf_of, weights=resid, minlength=size) / cnt
        if n_classes > 2:
            num *= (n_classes - 1) / n_classes
        den = np.bincount(leaf_of, weights=prob * (1 - prob), minlength=size) / cnt
        values = np.where(np.abs(den) < 1e-150, 0.0, num / den)
    return np.nan_to_num(values)


def _softmax(raw: np.ndarray) -> np.ndarray:
    """Class probabilities of (K, n) raw scores, over axis 0."""
    e = np.exp(raw - raw.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def fit_gbt(x_train, y_train, x_test=None, *, seed: int = 0, n_estimators: int = 100, learning_rate: float = 0.1,
            max_depth: int = 3):
    """Fit boosted trees on (n, F) codes and integer labels (the feature order of each node is drawn
    from ``seed``). Returns (importances (F,), predicted labels on x_train, on x_test or None)."""
    if max_depth > 3:
        raise ValueError("fit_gbt keeps at most 15 nodes per tree (max_depth ≤ 3)")
    classes, y = np.unique(np.asarray(y_train), return_inverse=True)
    k = len(classes)
    if k < 2:
        raise ValueError(f"DCI needs at least 2 classes per factor in the training sample, got {k}; use more training samples")
    x = np.ascontiguousarray(np.asarray(x_train, dtype=np.float32).T, dtype=np.float64)  # (F, n)
    n_features, n = x.shape
    order = np.ascontiguousarray(np.argsort(x, axis=1, kind="stable"))
    xt = None if x_test is None else np.ascontiguousarray(np.asarray(x_test, dtype=np.float32).T, dtype=np.float64)
    prior = np.clip(np.bincount(y, minlength=k) / n, EPSILON, 1 - EPSILON)
    if k == 2:
        init = np.array([np.log(prior[1] / (1 - prior[1]))])
        target = (y == 1).astype(np.float64)[None, :]  # (1, n)
    else:
        init = np.log(prior) - np.mean(np.log(prior))
        target = (np.arange(k)[:, None] == y[None, :]).astype(np.float64)  # (K, n)
    n_trees = init.shape[0]
    raw = np.repeat(init[:, None], n, axis=1)  # (n_trees, n)
    raw_test = None if xt is None else np.repeat(init[:, None], xt.shape[1], axis=1)
    seeds = np.random.default_rng(seed).integers(1, 2**63 - 1, size=(n_estimators, n_trees), dtype=np.uint64)
    perm, tmp = np.empty((n_features, n), np.int64), np.empty(n, np.int64)
    goes_left, leaf_of = np.empty(n, np.bool_), np.empty(n, np.int64)
    feature, left, right = (np.empty(MAX_NODES, np.int64) for _ in range(3))
    threshold = np.empty(MAX_NODES)
    leaf_test = None if xt is None else np.empty(xt.shape[1], np.int64)
    importances, relevant = np.zeros(n_features), 0
    for stage in range(n_estimators):
        prob = 1.0 / (1.0 + np.exp(-raw)) if k == 2 else _softmax(raw)
        resid = target - prob  # negative gradient, (n_trees, n)
        for j in range(n_trees):
            imp = np.zeros(n_features)
            nodes = _grow_tree(x, order, resid[j], seeds[stage, j], max_depth, perm, tmp, goes_left, leaf_of,
                               feature, threshold, left, right, imp)
            values = _leaf_values(leaf_of, resid[j], target[j], k, nodes)
            raw[j] += learning_rate * values[leaf_of]
            if xt is not None:
                _apply(xt, feature, threshold, left, right, leaf_test)
                raw_test[j] += learning_rate * values[leaf_test]
            if nodes > 1:
                importances += imp / n
                relevant += 1
    if relevant:
        importances = importances / relevant
        importances = importances / importances.sum()

    def predict(r):
        return classes[(r[0] > 0).astype(int)] if k == 2 else classes[np.argmax(r, axis=0)]

    return importances, predict(raw), None if raw_test is None else predict(raw_test)
