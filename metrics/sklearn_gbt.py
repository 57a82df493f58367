"""scikit-learn's ``GradientBoostingClassifier()`` fit, replicated step for step in compiled code.

disentanglement_lib's DCI fits ``GradientBoostingClassifier()`` per factor (log-loss, 100 stages,
learning rate 0.1, depth-3 squared-error regression trees, best splitter over all features, a
prior-probability start, one Newton step per leaf). scikit-learn re-sorts every node's samples for
every feature of every tree; for a 40-class factor that is 4,000 trees over the same codes and
dominates the metric suite's run time (``docs/metrics.md``, DCI).

This module computes *the same fit*, bit for bit, for scikit-learn 1.9 (``VERIFIED_SKLEARN``):

* the tree builder, splitter and squared-error criterion are mirrored operation by operation:
  depth-first node order, the splitter's xorshift feature draws seeded by one
  ``random_state.randint(0, 2**31 - 1)`` per tree, its constant-feature bookkeeping, the 1e-7 gap
  between split values (added in float32), the criterion's forward/reverse running sums, the strict
  ``>`` between candidate splits, thresholds at the float64 midpoint of float32 values, the in-place
  partition of the sample array and the child impurities computed from it. Every floating-point sum
  runs over the samples in scikit-learn's order, so even exactly tied splits are decided by the
  same rounding;
* the sort is where scikit-learn spends its time, and where the speed comes from: each feature is
  sorted once per fit and every node keeps each feature's order by stable partitions. That order is
  scikit-learn's introsort output unless samples that differ (in a code or the label) share a value;
  there the order inside the run is the sort's doing, so the node simulates scikit-learn's 3-way
  introsort (median-of-3 pivots, heapsort fallback, insertion sort below 16) from its current sample
  order, descending only into the parts that hold such runs (:func:`_sort_node`);
* the loss gradient, the prior start (``DummyClassifier`` + link) and the final ``feature_importances_``
  averaging are scikit-learn's own functions; the per-leaf Newton step uses numpy's pairwise
  summation, as ``np.average`` does.

``tests/metrics/test_sklearn_gbt.py`` checks equality (``==`` on importances and predictions) with
the installed scikit-learn on continuous codes, codes with ties and duplicated rows, binary and
multi-class factors. With another scikit-learn release, :func:`fit_gbt` refuses (the DCI wrapper then
fits with scikit-learn itself).
"""

from __future__ import annotations

import numpy as np
import sklearn
from numba import config, get_num_threads, njit, prange, set_num_threads

VERIFIED_SKLEARN = ("1.9.",)
FEATURE_THRESHOLD = np.float32(1e-7)  # scikit-learn's minimum gap between sorted values for a split; float32 sums
EPSILON = np.finfo(np.float64).eps
RAND_R_MAX = 2147483647
MAX_DEPTH = 3  # GradientBoostingClassifier() default
MAX_NODES = 2 ** (MAX_DEPTH + 1) - 1
MASK32 = np.uint64(0xFFFFFFFF)


def mirrors_installed_sklearn() -> bool:
    """Whether the installed scikit-learn is a release this mirror was verified against."""
    return sklearn.__version__.startswith(VERIFIED_SKLEARN)


# --------------------------------------------------------------------------------------------
# scikit-learn's sort (sklearn/utils/_sorting.pyx, 3-way introsort) and random stream
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _rand_int(low, high, state):
    """``rand_int`` of sklearn/tree/_utils.pyx: xorshift32 (``our_rand_r``) modulo the range."""
    s = state[0]
    if s == 0:
        s = np.uint64(1)
    s ^= (s << np.uint64(13)) & MASK32
    s ^= s >> np.uint64(17)
    s ^= (s << np.uint64(5)) & MASK32
    state[0] = s
    return low + np.int64(s % np.uint64(RAND_R_MAX + 1)) % (high - low)


@njit(cache=True, inline="always")
def _swap(fv, sm, i, j):
    fv[i], fv[j] = fv[j], fv[i]
    sm[i], sm[j] = sm[j], sm[i]


@njit(cache=True)
def _heapsort(fv, sm, off, n):
    start = (n - 2) // 2
    end = n
    while True:
        _sift_down(fv, sm, off, start, end)
        if start == 0:
            break
        start -= 1
    end = n - 1
    while end > 0:
        _swap(fv, sm, off, off + end)
        _sift_down(fv, sm, off, 0, end)
        end -= 1


@njit(cache=True)
def _sift_down(fv, sm, off, start, end):
    root = start
    while True:
        child = root * 2 + 1
        maxind = root
        if child < end and fv[off + maxind] < fv[off + child]:
            maxind = child
        if child + 1 < end and fv[off + maxind] < fv[off + child + 1]:
            maxind = child + 1
        if maxind == root:
            break
        _swap(fv, sm, off + root, off + maxind)
        root = maxind


@njit(cache=True)
def _median3(fv, off, n):
    a, b, c = fv[off], fv[off + n // 2], fv[off + n - 1]
    if a < b:
        if b < c:
            return b
        elif a < c:
            return c
        return a
    elif b < c:
        if a < c:
            return a
        return c
    return b


@njit(cache=True)
def _insertion_sort(fv, sm, off, n):
    for i in range(1, n):
        v, s = fv[off + i], sm[off + i]
        j = i
        while j > 0 and fv[off + j - 1] > v:
            fv[off + j] = fv[off + j - 1]
            sm[off + j] = sm[off + j - 1]
            j -= 1
        fv[off + j] = v
        sm[off + j] = s


@njit(cache=True)
def _block_sum(a, lo, n):
    """numpy's pairwise_sum below its block size (n ≤ 128): eight running sums, then the tail."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise_sum(a, lo, n):
    """numpy's pairwise summation of a[lo:lo+n] (``np.sum`` of a contiguous float64 array): halves
    rounded down to a multiple of 8 until blocks of ≤ 128. Iterative (numba's cache breaks recursion);
    a + b == b + a in IEEE arithmetic, so combining the halves from a stack gives numpy's bits."""
    task_lo = np.empty(64, np.int64)
    task_n = np.empty(64, np.int64)  # -1: add the two values on top of the value stack
    vals = np.empty(64)
    task_lo[0], task_n[0] = lo, n
    tasks, nv = 1, 0
    while tasks > 0:
        tasks -= 1
        t_lo, t_n = task_lo[tasks], task_n[tasks]
        if t_n < 0:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        elif t_n <= 128:
            vals[nv] = _block_sum(a, t_lo, t_n)
            nv += 1
        else:
            n2 = t_n // 2
            n2 -= n2 % 8
            task_lo[tasks], task_n[tasks] = 0, -1
            task_lo[tasks + 1], task_n[tasks + 1] = t_lo + n2, t_n - n2
            task_lo[tasks + 2], task_n[tasks + 2] = t_lo, n2
            tasks += 3
    return vals[0]


# --------------------------------------------------------------------------------------------
# one tree (sklearn/tree/_tree.pyx DepthFirstTreeBuilder + _splitter.pyx node_split_best)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _sort_node(xf, samples, fv, pf, harm, start, cnt):
    """samples[start:start+cnt] and fv as scikit-learn's introsort leaves them, simulated only where
    it matters. The sort is in place, so a part covering positions [o, o+m) at any recursion level
    ends up holding ranks o..o+m−1 of the sorted order, which ``pf`` (the node's stable sorted order)
    already holds; it is the introsort's result unless equal values of different samples lie in it
    (their relative order is the sort's doing). ``harm`` (prefix counts over positions from
    ``start``) says where those lie: only parts holding some are partitioned further."""
    for p in range(start, start + cnt):
        fv[p] = xf[samples[p]]
    st_off = np.empty(128, np.int64)
    st_n = np.empty(128, np.int64)
    st_d = np.empty(128, np.int64)
    bits = 0
    m = cnt
    while m > 1:
        m >>= 1
        bits += 1
    st_off[0], st_n[0], st_d[0] = start, cnt, 2 * bits
    top = 1
    while top > 0:
        top -= 1
        o, m, maxd = st_off[top], st_n[top], st_d[top]
        while True:
            if harm[o + m - start] == harm[o - start]:  # no ties that matter: the unique sorted order
                for p in range(o, o + m):
                    samples[p] = pf[p]
                    fv[p] = xf[pf[p]]
                break
            if m <= 15:
                _insertion_sort(fv, samples, o, m)
                break
            if maxd <= 0:
                _heapsort(fv, samples, o, m)
                break
            maxd -= 1
            pivot = _median3(fv, o, m)
            i = 0
            left = 0
            r = m
            while i < r:
                if fv[o + i] < pivot:
                    _swap(fv, samples, o + i, o + left)
                    i += 1
                    left += 1
                elif fv[o + i] > pivot:
                    r -= 1
                    _swap(fv, samples, o + i, o + r)
                else:
                    i += 1
            st_off[top], st_n[top], st_d[top] = o, left, maxd
            top += 1
            o += r
            m -= r


@njit(cache=True)
def _mark_ties(xf, pf, dup, start, end, harm):
    """harm[p − start + 1] = number of positions ≤ p (in pf's sorted order) inside a run of equal
    values held by samples that are not duplicates of each other; returns whether there is any."""
    harm[0] = 0
    p = start
    while p < end:
        q = p + 1
        mixed = False
        while q < end and xf[pf[q]] == xf[pf[p]]:
            if dup[pf[q]] != dup[pf[p]]:
                mixed = True
            q += 1
        for i in range(p, q):
            harm[i - start + 1] = harm[i - start] + (1 if mixed else 0)
        p = q
    return harm[end - start] > 0


@njit(cache=True)
def _grow_tree(x, y, dup, tie_prone, seed, perm, samples, fv, goes_left, tmp, harm,
               feature, threshold, left, right, impurity, n_node, leaf_of):
    """One ``DecisionTreeRegressor(max_depth=3, random_state=...)`` on residuals ``y`` (n,).

    x: (F, n) float32 codes, one row per feature; perm: (F, n) each feature's sorted sample order,
    overwritten as nodes are split; dup: (n,) id of each sample's duplicate class (same codes and
    label: interchangeable for the whole fit); tie_prone: (F,) whether two non-duplicate samples
    share a value of that feature; harm: (n + 1,) work space. Writes the node arrays (in scikit-learn's node order) and each
    training sample's leaf; returns the node count.
    """
    n_features, n = x.shape
    state = np.empty(1, np.uint64)
    state[0] = np.uint64(seed)
    for i in range(n):
        samples[i] = i
    features = np.arange(n_features)
    constant_features = np.empty(n_features, np.int64)
    wn_samples = float(n)
    # stack records: start, end, depth, parent, is_left, impurity, n_constant_features
    st_i = np.empty((2 * MAX_DEPTH + 2, 6), np.int64)
    st_imp = np.empty(2 * MAX_DEPTH + 2)
    st_i[0, 0], st_i[0, 1], st_i[0, 2], st_i[0, 3], st_i[0, 4], st_i[0, 5] = 0, n, 0, -1, 0, 0
    st_imp[0] = np.inf
    top = 1
    first = True
    node_count = 0
    while top > 0:
        top -= 1
        start, end, depth, parent, is_left, n_known_c = st_i[top, 0], st_i[top, 1], st_i[top, 2], st_i[top, 3], st_i[top, 4], st_i[top, 5]
        imp = st_imp[top]
        cnt = end - start
        # criterion.init over samples[start:end] in their current order
        sum_total = 0.0
        sq_total = 0.0
        wn = 0.0
        for p in range(start, end):
            yi = y[samples[p]]
            sum_total += yi
            sq_total += yi * yi
            wn += 1.0
        is_leaf = depth >= MAX_DEPTH or cnt < 2
        if first:
            imp = sq_total / wn - (sum_total / wn) ** 2.0
            first = False
        is_leaf = is_leaf or imp <= EPSILON
        best_pos = end
        best_f = -1
        best_thr = 0.0
        imp_l = 0.0
        imp_r = 0.0
        n_total_c = n_known_c
        if not is_leaf:
            # ---- node_split_best ----
            best_proxy = -np.inf
            f_i = n_features
            n_visited = 0
            n_found_c = 0
            n_drawn_c = 0
            order_of = -1  # ≥ 0: samples[start:end] is in perm[order_of]'s order (not copied yet)
            while f_i > n_total_c and (n_visited < n_features or n_visited <= n_found_c + n_drawn_c):
                n_visited += 1
                f_j = _rand_int(n_drawn_c, f_i - n_found_c, state)
                if f_j < n_known_c:
                    features[n_drawn_c], features[f_j] = features[f_j], features[n_drawn_c]
                    n_drawn_c += 1
                    continue
                f_j += n_found_c
                f = features[f_j]
                xf = x[f]
                pf = perm[f]
                # the node's samples sorted by feature f exactly as scikit-learn's introsort leaves
                # them: src[start:end]; ``pf`` itself unless equal values of different samples occur
                if tie_prone[f] and _mark_ties(xf, pf, dup, start, end, harm):
                    if order_of >= 0:  # the sort starts from the current order: materialise it
                        po = perm[order_of]
                        for p in range(start, end):
                            samples[p] = po[p]
                    _sort_node(xf, samples, fv, pf, harm, start, cnt)
                    src = samples
                    order_of = -1
                else:
                    src = pf
                    order_of = f
                if xf[src[end - 1]] <= np.float32(xf[src[start]] + FEATURE_THRESHOLD):
                    features[f_j], features[n_total_c] = features[n_total_c], features[f_j]
                    n_found_c += 1
                    n_total_c += 1
                    continue
                f_i -= 1
                features[f_i], features[f_j] = features[f_j], features[f_i]
                # criterion.reset, then update(p) at each position between distinct values
                pos = start
                sum_left = 0.0
                wl = 0.0
                p = start
                prev_v = xf[src[start]]
                while p < end:
                    p += 1
                    v = prev_v
                    while p < end:
                        v = xf[src[p]]
                        if v > np.float32(prev_v + FEATURE_THRESHOLD):
                            break
                        prev_v = v
                        p += 1
                    if p == end:
                        continue
                    # criterion.update(p), written out: a call here (even numba-inlined) costs 35 %
                    if (p - pos) <= (end - p):
                        for q in range(pos, p):
                            sum_left += y[src[q]]
                            wl += 1.0
                    else:  # reverse_reset: from the end
                        sum_left = sum_total
                        wl = wn
                        for q in range(end - 1, p - 1, -1):
                            sum_left -= y[src[q]]
                            wl -= 1.0
                    wr = wn - wl
                    sum_right = sum_total - sum_left
                    pos = p
                    proxy = (0.0 + sum_left * sum_left) / wl + (0.0 + sum_right * sum_right) / wr
                    if proxy > best_proxy:
                        best_proxy = proxy
                        best_thr = np.float64(prev_v) / 2.0 + np.float64(v) / 2.0
                        best_pos = p
                        best_f = f
                    prev_v = v
            if order_of >= 0:  # the order the last sort left
                po = perm[order_of]
                for p in range(start, end):
                    samples[p] = po[p]
            if best_pos < end:
                # partition_samples_final: in-place swaps on the current order
                ps = start
                pe = end
                while ps < pe:
                    if x[best_f, samples[ps]] <= best_thr:
                        ps += 1
                    else:
                        pe -= 1
                        samples[ps], samples[pe] = samples[pe], samples[ps]
                # criterion.reset(); update(best_pos); children_impurity()
                sum_left = 0.0
                wl = 0.0
                if (best_pos - start) <= (end - best_pos):
                    for q in range(start, best_pos):
                        sum_left += y[samples[q]]
                        wl += 1.0
                else:
                    sum_left = sum_total
                    wl = wn
                    for q in range(end - 1, best_pos - 1, -1):
                        sum_left -= y[samples[q]]
                        wl -= 1.0
                wr = wn - wl
                sum_right = sum_total - sum_left
                sq_left = 0.0
                for q in range(start, best_pos):
                    yi = y[samples[q]]
                    sq_left += yi * yi
                sq_right = sq_total - sq_left
                imp_l = sq_left / wl - (sum_left / wl) ** 2.0
                imp_r = sq_right / wr - (sum_right / wr) ** 2.0
                improvement = (wn / wn_samples) * (imp - (wr / wn * imp_r) - (wl / wn * imp_l))
                is_leaf = improvement + EPSILON < 0.0
            else:
                is_leaf = True
            # constant-feature invariants for siblings and children
            for i in range(n_known_c):
                features[i] = constant_features[i]
            for i in range(n_known_c, n_total_c):
                constant_features[i] = features[i]
        node = node_count
        node_count += 1
        if parent >= 0:
            if is_left:
                left[parent] = node
            else:
                right[parent] = node
        impurity[node] = imp
        n_node[node] = wn
        left[node] = -1
        right[node] = -1
        feature[node] = -2
        if is_leaf:
            for p in range(start, end):
                leaf_of[samples[p]] = node
            continue
        feature[node] = best_f
        threshold[node] = best_thr
        if depth + 1 < MAX_DEPTH:  # children may split: keep every feature's order per child
            for p in range(start, end):
                s = samples[p]
                goes_left[s] = p < best_pos
            for g in range(n_features):
                pg = perm[g]
                li = start
                ri = 0
                for p in range(start, end):
                    s = pg[p]
                    if goes_left[s]:
                        pg[li] = s
                        li += 1
                    else:
                        tmp[ri] = s
                        ri += 1
                for i in range(ri):
                    pg[li + i] = tmp[i]
        st_i[top, 0], st_i[top, 1], st_i[top, 2], st_i[top, 3], st_i[top, 4], st_i[top, 5] = best_pos, end, depth + 1, node, 0, n_total_c
        st_imp[top] = imp_r
        top += 1
        st_i[top, 0], st_i[top, 1], st_i[top, 2], st_i[top, 3], st_i[top, 4], st_i[top, 5] = start, best_pos, depth + 1, node, 1, n_total_c
        st_imp[top] = imp_l
        top += 1
    return node_count


@njit(cache=True)
def _tree_importances(node_count, feature, left, right, impurity, n_node, out):
    """``Tree.compute_feature_importances(normalize=False)``, nodes in scikit-learn's order."""
    out[:] = 0.0
    for node in range(node_count):
        if left[node] != -1:
            lc, rc = left[node], right[node]
            out[feature[node]] += n_node[node] * impurity[node] - n_node[lc] * impurity[lc] - n_node[rc] * impurity[rc]
    for f in range(out.shape[0]):
        out[f] /= n_node[0]


@njit(cache=True)
def _newton_leaves(node_count, left, leaf_of, neg_g, target, n_classes, values, buf_g, buf_h):
    """``_update_terminal_regions`` for log-loss: per leaf, np.average(neg_g) [· (K−1)/K] over
    np.average(p(1−p)), samples taken in index order; 0 where the Hessian vanishes."""
    n = leaf_of.shape[0]
    for node in range(node_count):
        if left[node] != -1:
            continue
        m = 0
        for i in range(n):
            if leaf_of[i] == node:
                g = neg_g[i]
                prob = target[i] - g
                buf_g[m] = g
                buf_h[m] = prob * (1.0 - prob)
                m += 1
        num = _pairwise_sum(buf_g, 0, m) / float(m)
        if n_classes > 2:
            num *= (n_classes - 1) / n_classes
        den = _pairwise_sum(buf_h, 0, m) / float(m)
        values[node] = 0.0 if abs(den) < 1e-150 else num / den


@njit(cache=True)
def _apply(x, feature, threshold, left, right, out):
    """Leaf of each column of ``x`` (F, n) float32 (``x <= threshold`` goes left)."""
    for i in range(x.shape[1]):
        node = 0
        while left[node] != -1:
            node = left[node] if x[feature[node], i] <= threshold[node] else right[node]
        out[i] = node


@njit(cache=True, nogil=True)
def _fit_tree(k, x, order, dup, tie_prone, neg_g, targets, n_classes, seeds, learning_rate, raw, x_test, raw_test,
              importances, has_split, work_perm, samples, fv, goes_left, tmp, harm, leaf_of, leaf_test, buf_g, buf_h):
    """Tree k of a stage, on column k of ``neg_g`` (n, T): raw[:, k] and raw_test[:, k] updated in place, its
    unnormalised importances into importances[k], has_split[k] = node count > 1. Touches nothing of
    another tree's, so the trees of a stage may be grown in any order or at once."""
    feature = np.empty(MAX_NODES, np.int64)
    left = np.empty(MAX_NODES, np.int64)
    right = np.empty(MAX_NODES, np.int64)
    threshold = np.empty(MAX_NODES)
    impurity = np.empty(MAX_NODES)
    n_node = np.empty(MAX_NODES)
    values = np.empty(MAX_NODES)
    y = np.empty(neg_g.shape[0])
    for i in range(y.shape[0]):
        y[i] = neg_g[i, k]
    work_perm[:, :] = order
    count = _grow_tree(x, y, dup, tie_prone, seeds[k], work_perm, samples, fv, goes_left, tmp, harm,
                       feature, threshold, left, right, impurity, n_node, leaf_of)
    _tree_importances(count, feature, left, right, impurity, n_node, importances[k])
    has_split[k] = count > 1
    _newton_leaves(count, left, leaf_of, y, targets[:, k], n_classes, values, buf_g, buf_h)
    for i in range(raw.shape[0]):
        raw[i, k] += learning_rate * values[leaf_of[i]]
    if x_test.shape[1] > 0:
        _apply(x_test, feature, threshold, left, right, leaf_test)
        for i in range(raw_test.shape[0]):
            raw_test[i, k] += learning_rate * values[leaf_test[i]]


@njit(cache=True)
def _fit_stage(x, order, dup, tie_prone, neg_g, targets, n_classes, seeds, learning_rate, raw, x_test, raw_test,
               importances, has_split, work_perm, samples, fv, goes_left, tmp, harm, leaf_of, leaf_test,
               buf_g, buf_h):
    """One boosting stage, its trees one after the other in shared work buffers (see :func:`_fit_tree`)."""
    for k in range(neg_g.shape[1]):
        _fit_tree(k, x, order, dup, tie_prone, neg_g, targets, n_classes, seeds, learning_rate, raw, x_test, raw_test,
                  importances, has_split, work_perm, samples, fv, goes_left, tmp, harm, leaf_of, leaf_test, buf_g, buf_h)


@njit(cache=True, parallel=True)
def _fit_stage_parallel(x, order, dup, tie_prone, neg_g, targets, n_classes, seeds, learning_rate, raw, x_test,
                        raw_test, importances, has_split):
    """One boosting stage, its trees grown in parallel threads, each in its own work buffers: the same
    trees, bit for bit, as :func:`_fit_stage` (the trees of a stage share only their inputs)."""
    n_features, n = x.shape
    for k in prange(neg_g.shape[1]):
        _fit_tree(k, x, order, dup, tie_prone, neg_g, targets, n_classes, seeds, learning_rate, raw, x_test, raw_test,
                  importances, has_split, np.empty((n_features, n), np.int64), np.empty(n, np.int64),
                  np.empty(n, np.float32), np.empty(n, np.bool_), np.empty(n, np.int64), np.empty(n + 1, np.int64),
                  np.empty(n, np.int64), np.empty(raw_test.shape[0], np.int64), np.empty(n), np.empty(n))


def _duplicate_classes(x32: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) ids equal exactly for samples with the same codes (as floats: −0 == 0) and label."""
    rows = np.column_stack([(x32 + np.float32(0.0)).view(np.int32), y.astype(np.int64).astype(np.int32)])
    _, ids = np.unique(rows, axis=0, return_inverse=True)
    return ids.reshape(-1).astype(np.int64)


def _tie_prone(x32t: np.ndarray, order: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """(F,) whether some two samples of different duplicate classes share a value of the feature."""
    out = np.zeros(x32t.shape[0], dtype=bool)
    for f in range(x32t.shape[0]):
        v, d = x32t[f, order[f]], dup[order[f]]
        out[f] = bool(np.any((v[1:] == v[:-1]) & (d[1:] != d[:-1])))
    return out


def fit_gbt(x_train, y_train, x_test=None, *, random_state: int | np.random.RandomState = 0, n_estimators: int = 100,
            learning_rate: float = 0.1, exact_ties: bool = True, threads: int = 1):
    """``GradientBoostingClassifier(random_state=np.random.RandomState(random_state))`` fitted on
    (n, F) codes and labels: returns (feature_importances_, predict(x_train), predict(x_test) or None),
    equal to scikit-learn's. A ``RandomState`` instance is drawn from as scikit-learn would (one
    ``randint`` per tree), so fits sharing one stream — numpy's global one in disentanglement_lib —
    can be replayed.

    ``exact_ties=False`` skips the introsort simulation and keeps the stable sorted order inside
    runs of equal values (metric ``dci_fast``): about twice as fast on float32 codes, where such
    runs are birthday collisions; sums over those runs may then round differently from
    scikit-learn's, which can flip a split between exactly tied candidates.

    ``threads`` > 1 grows the trees of each stage (one per class) in parallel threads: the same fit,
    bit for bit — a stage's trees share only their inputs and each writes its own column."""
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble._gb import _init_raw_predictions

    if not mirrors_installed_sklearn():
        raise RuntimeError(f"metrics.sklearn_gbt mirrors scikit-learn {VERIFIED_SKLEARN[0]}x, not the installed "
                           f"{sklearn.__version__}; fit with scikit-learn itself (metrics.dci does so automatically)")
    classes, y_int = np.unique(np.asarray(y_train), return_inverse=True)
    k = len(classes)
    if k < 2:
        raise ValueError(f"DCI needs at least 2 classes per factor in the training sample, got {k}; use more training samples")
    x32 = np.ascontiguousarray(np.asarray(x_train, dtype=np.float32))  # (n, F), as validate_data casts
    n, n_features = x32.shape
    y_enc = y_int.astype(np.float64)
    loss = HalfBinomialLoss() if k == 2 else HalfMultinomialLoss(n_classes=k)
    init = DummyClassifier(strategy="prior").fit(x32, y_enc)
    raw = np.ascontiguousarray(_init_raw_predictions(x32, init, loss, True))  # (n, T)
    n_trees = raw.shape[1]
    targets = y_enc[:, None] if k == 2 else (y_int[:, None] == np.arange(k)[None, :]).astype(np.float64)  # (n, T)
    xt32 = np.empty((0, n_features), np.float32) if x_test is None else np.ascontiguousarray(np.asarray(x_test, dtype=np.float32))
    raw_test = np.ascontiguousarray(_init_raw_predictions(xt32, init, loss, True)) if len(xt32) else np.empty((0, n_trees))

    x = np.ascontiguousarray(x32.T)  # (F, n)
    x_t = np.ascontiguousarray(xt32.T)
    order = np.ascontiguousarray(np.argsort(x, axis=1, kind="stable"))
    dup = _duplicate_classes(x32, y_int)
    tie_prone = _tie_prone(x, order, dup) if exact_ties else np.zeros(n_features, dtype=bool)
    rng = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
    work = dict(work_perm=np.empty((n_features, n), np.int64), samples=np.empty(n, np.int64), fv=np.empty(n, np.float32),
                goes_left=np.empty(n, np.bool_), tmp=np.empty(n, np.int64), leaf_of=np.empty(n, np.int64),
                harm=np.empty(n + 1, np.int64),
                leaf_test=np.empty(len(xt32), np.int64), buf_g=np.empty(n), buf_h=np.empty(n))
    rows = []
    importances = np.empty((n_trees, n_features))
    has_split = np.empty(n_trees, np.bool_)
    for _ in range(n_estimators):
        neg_g = np.ascontiguousarray(-loss.gradient(y_true=y_enc, raw_prediction=raw, sample_weight=None).reshape(n, n_trees))
        seeds = np.array([rng.randint(0, RAND_R_MAX) for _ in range(n_trees)], dtype=np.uint64)
        if threads > 1 and n_trees > 1:
            previous = get_num_threads()
            set_num_threads(min(threads, n_trees, config.NUMBA_NUM_THREADS))
            try:
                _fit_stage_parallel(x, order, dup, tie_prone, neg_g, targets, k, seeds, learning_rate, raw, x_t, raw_test,
                                    importances, has_split)
            finally:
                set_num_threads(previous)
        else:
            _fit_stage(x, order, dup, tie_prone, neg_g, targets, k, seeds, learning_rate, raw, x_t, raw_test,
                       importances, has_split, **work)
        rows.extend(importances[t].copy() for t in range(n_trees) if has_split[t])
    if rows:
        avg = np.mean(rows, axis=0, dtype=np.float64)
        feature_importances = avg / np.sum(avg)
    else:
        feature_importances = np.zeros(n_features)

    def predict(r):
        return classes[(r[:, 0] >= 0).astype(int)] if k == 2 else classes[np.argmax(r, axis=1)]

    return feature_importances, predict(raw), None if x_test is None else predict(raw_test)


__all__ = ["fit_gbt", "mirrors_installed_sklearn", "VERIFIED_SKLEARN"]
