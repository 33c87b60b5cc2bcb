"""Exact path-dependent TreeSHAP for a LightGBM model (the numbers `predict(pred_contrib=True)` gives), over
many rows at once (about 25 times faster a row in batches), so a batch of predictions can say why in words.

For a leaf with value v and path features P (d of them), let z_j be the product of the cover ratios
(child count / node count) of the path's splits on feature j, and, for a row, o_j = 1 when the row takes
the path's branch at every split on j. The leaf adds to feature i of P
    v (o_i - z_i) sum over U ⊆ P\\{i} of  w(|U|, d) prod_{j in U} o_j prod_{j in P\\U\\{i}} z_j,
    w(k, d) = k! (d-k-1)! / d!
(the Shapley value of the leaf's product game; summed over leaves and trees it is TreeSHAP). It depends
on the row only through S = {j in P : o_j = 1}, so it is tabulated per leaf for all 2^d subsets once, when
the model is loaded (~0.3 s and ~11 MB for 250 trees of 15 leaves); a row then costs one decision per
split and one table look-up per (leaf, path feature), in a compiled loop (numba) that runs leaf by leaf
over all rows so each leaf's table stays in cache (~0.02 ms a row). One or two rows would mostly wait for
the tables to come from memory, so they take a second loop that computes the sum per leaf directly
(~0.3 ms a row; LightGBM's own code: ~0.5 ms). The last column is the model's expected value.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import numba

from outscaled.config import load_settings

# Compiled code is build output: numba caches it under the home, not in a __pycache__ next to this file (the
# checkout may be read-only). An explicit NUMBA_CACHE_DIR still wins; reload_config applies it now, before the
# functions below are compiled, even if numba was imported earlier.
os.environ.setdefault("NUMBA_CACHE_DIR", str(load_settings().home / "cache" / "numba"))
numba.core.config.reload_config()

MAX_PATH_FEATURES = 14  # 2^14 x 14 table entries for the deepest leaf; deeper models use LightGBM's own code
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| <= this is zero
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_THREADS = os.cpu_count() or 1
_TABLES_FROM_ROWS = 3  # below, bringing the tables to cache (~0.7 ms) costs more than the leaf formula (~0.3 ms a row)
_ROWS_PER_THREAD = 64  # below ~1 ms of work one thread is quicker than handing rows out


class UnsupportedTree(ValueError):
    """A model this module does not tabulate (categorical splits, very deep paths)."""


@dataclass(frozen=True)
class _Leaf:
    value: float
    features: list[int]  # path features, in order of first use
    zero_fraction: list[float]
    splits: list[list[tuple[int, bool]]]  # per path feature: (split index, goes left) on the path


def _split_weights(d: int) -> np.ndarray:
    return np.array([math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)])


def _weights_by_depth() -> np.ndarray:
    """Row d: the Shapley weights w(k, d) for k < d (zero beyond), for every path length d."""
    weights = np.zeros((MAX_PATH_FEATURES + 1, MAX_PATH_FEATURES))
    for d in range(1, MAX_PATH_FEATURES + 1):
        weights[d, :d] = _split_weights(d)
    return weights


_WEIGHTS = _weights_by_depth()  # shared by every explainer's table-free loop


def _tables(values: np.ndarray, zero_fractions: np.ndarray) -> np.ndarray:
    """For leaves with the same number d of path features: (leaves x 2^d x d) table of what the leaf adds to
    feature i for a row with subset S:
    v (o_i - z_i) sum_U w(|U|, d) prod_{j in U} o_j prod_{j not in U, j != i} z_j, o_j = [j in S]."""
    count, d = zero_fractions.shape
    ones = (np.arange(2 ** d)[:, None] >> np.arange(d)[None, :]) & 1  # S's bits: o_j
    weights = _WEIGHTS[d, :d]
    table = np.empty((count, 2 ** d, d))
    for i in range(d):
        # coefficients of t^k in prod_{j != i} (z_j + t o_j), for every leaf and subset at once
        poly = np.zeros((count, 2 ** d, d))
        poly[:, :, 0] = 1.0
        for j in range(d):
            if j == i:
                continue
            shifted = np.zeros_like(poly)
            shifted[:, :, 1:] = poly[:, :, :-1]
            poly = poly * zero_fractions[:, None, j, None] + shifted * ones[None, :, j, None]
        table[:, :, i] = values[:, None] * (ones[None, :, i] - zero_fractions[:, None, i]) * (poly @ weights)
    return table


class TreeExplainer:
    """Path-dependent TreeSHAP contributions of a LightGBM booster, equal to pred_contrib to ~1e-12."""

    def __init__(self, booster: lgb.Booster):
        model = booster.dump_model()
        self.num_features = model["max_feature_idx"] + 1
        split_feature, threshold, default_left, missing = [], [], [], []
        leaves: list[_Leaf] = []
        self.expected_value = 0.0

        def walk(node: dict, path: list[tuple[int, bool, float]], total: float) -> None:
            if "leaf_value" in node:
                features: dict[int, tuple[float, list[tuple[int, bool]]]] = {}
                for split, left, ratio in path:
                    fraction, splits = features.get(split_feature[split], (1.0, []))
                    features[split_feature[split]] = (fraction * ratio, [*splits, (split, left)])
                leaves.append(_Leaf(node["leaf_value"], list(features), [f for f, _ in features.values()],
                                    [s for _, s in features.values()]))
                self.expected_value += node["leaf_value"] * node.get("leaf_count", total) / total
                return
            if node.get("decision_type", "<=") != "<=":
                raise UnsupportedTree("categorical splits are not tabulated")
            index = len(split_feature)
            split_feature.append(node["split_feature"])
            threshold.append(node["threshold"])
            default_left.append(bool(node["default_left"]))
            missing.append(_MISSING[node["missing_type"]])
            count = node["internal_count"]
            for child, left in ((node["left_child"], True), (node["right_child"], False)):
                child_count = child.get("internal_count", child.get("leaf_count"))
                walk(child, [*path, (index, left, child_count / count)], total)

        for tree in model["tree_info"]:
            root = tree["tree_structure"]
            walk(root, [], float(root.get("internal_count", root.get("leaf_count", 1)) or 1))
        if any(len(leaf.features) > MAX_PATH_FEATURES for leaf in leaves):
            raise UnsupportedTree(f"a leaf has more than {MAX_PATH_FEATURES} features on its path")

        self._split_feature = np.array(split_feature, dtype=np.intp)
        self._threshold = np.array(threshold, dtype=float)
        self._default_left = np.array(default_left, dtype=bool)
        self._missing = np.array(missing, dtype=np.int8)
        # (leaf, path feature) entries, leaf after leaf; each entry's splits on the path, contiguous.
        leaves = [leaf for leaf in leaves if leaf.features]  # one-leaf trees only move the expected value
        entry_feature, entry_start, pair_split, pair_left = [], [], [], []
        for leaf in leaves:
            for feature, splits in zip(leaf.features, leaf.splits):
                entry_start.append(len(pair_split))
                entry_feature.append(feature)
                pair_split.extend(split for split, _ in splits)
                pair_left.extend(left for _, left in splits)
        entry_start.append(len(pair_split))
        self._entry_feature = np.array(entry_feature, dtype=np.intp)
        self._entry_zero = np.array([z for leaf in leaves for z in leaf.zero_fraction])
        self._leaf_value = np.array([leaf.value for leaf in leaves])
        self._entry_start = np.array(entry_start, dtype=np.intp)
        self._pair_split = np.array(pair_split, dtype=np.intp)
        self._pair_left = np.array(pair_left, dtype=bool)
        self._leaf_size = np.array([len(leaf.features) for leaf in leaves], dtype=np.intp)
        self._leaf_start = np.concatenate([[0], np.cumsum(self._leaf_size)[:-1]]).astype(np.intp)
        # Tables: one block of 2^d x d per leaf (row S holds the d values for subset S), built for all
        # leaves with the same d at once.
        block = (2 ** self._leaf_size) * self._leaf_size
        self._table_start = np.concatenate([[0], np.cumsum(block)[:-1]]).astype(np.intp)
        self._table = np.empty(int(block.sum()))
        for d in np.unique(self._leaf_size):
            chosen = np.flatnonzero(self._leaf_size == d)
            blocks = _tables(np.array([leaves[k].value for k in chosen]),
                             np.array([leaves[k].zero_fraction for k in chosen]))
            for k, values in zip(chosen, blocks):
                self._table[self._table_start[k]:self._table_start[k] + block[k]] = values.ravel()

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """(rows x features + 1): each feature's contribution to the raw score; the last column the bias."""
        matrix = np.ascontiguousarray(matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != self.num_features:
            raise ValueError(f"expected rows of {self.num_features} features, got shape {matrix.shape}")
        out = np.zeros((len(matrix), self.num_features + 1))
        out[:, -1] = self.expected_value
        if len(matrix) < _TABLES_FROM_ROWS:  # a few rows: the leaf formula directly, no tables to bring to cache
            _explain_few_rows(matrix, self._split_feature, self._threshold, self._default_left, self._missing,
                              self._leaf_start, self._leaf_size, self._leaf_value, self._entry_start,
                              self._entry_feature, self._entry_zero, self._pair_split, self._pair_left,
                              _WEIGHTS, out)
            return out
        parts = min(_THREADS, max(1, len(matrix) // _ROWS_PER_THREAD))
        bounds = np.linspace(0, len(matrix), parts + 1).astype(int)
        work = [(matrix[a:b], out[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        if parts == 1:
            self._explain(*work[0])
        else:  # the kernel releases the GIL: row blocks run on all cores
            list(_pool().map(lambda part: self._explain(*part), work))
        return out

    def _explain(self, matrix: np.ndarray, out: np.ndarray) -> None:
        _explain_rows(matrix, self._split_feature, self._threshold, self._default_left, self._missing,
                      self._leaf_start, self._leaf_size, self._table_start, self._entry_start,
                      self._entry_feature, self._pair_split, self._pair_left, self._table, out)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_THREADS, thread_name_prefix="treeshap")


@numba.njit(cache=True, nogil=True)
def _decide(value, kind, default_left, threshold):  # pragma: no cover
    """LightGBM's numerical decision: True for the left child."""
    is_nan = np.isnan(value)
    if is_nan and kind != 2:
        value = 0.0
    if (kind == 1 and abs(value) <= _ZERO) or (kind == 2 and is_nan):
        return default_left
    return value <= threshold


@numba.njit(cache=True, nogil=True)
def _explain_rows(matrix, split_feature, threshold, default_left, missing, leaf_start, leaf_size, table_start,
                  entry_start, entry_feature, pair_split, pair_left, table, out):  # pragma: no cover
    """LightGBM's numerical decision at every split for every row; then leaf by leaf (so the leaf's table
    stays in cache) and row by row: the subset S of satisfied path features, one look-up per feature
    (the leaf's d values for S are adjacent). Work arrays are (splits or features) x rows."""
    rows = matrix.shape[0]
    columns = np.ascontiguousarray(matrix.T)  # features x rows: every loop below runs along rows
    goes_left = np.empty((len(split_feature), rows), dtype=np.bool_)
    for s in range(len(split_feature)):
        feature, kind, left, cut = split_feature[s], missing[s], default_left[s], threshold[s]
        for row in range(rows):
            goes_left[s, row] = _decide(columns[feature, row], kind, left, cut)
    total = np.zeros((out.shape[1], rows))
    subsets = np.empty(rows, dtype=np.int64)
    satisfied = np.empty(rows, dtype=np.bool_)
    for leaf in range(len(leaf_start)):
        first, size = leaf_start[leaf], leaf_size[leaf]
        subsets[:] = 0
        for position in range(size):
            entry = first + position
            satisfied[:] = True
            for pair in range(entry_start[entry], entry_start[entry + 1]):
                split, left = pair_split[pair], pair_left[pair]
                for row in range(rows):
                    satisfied[row] &= goes_left[split, row] == left
            for row in range(rows):
                subsets[row] |= np.int64(satisfied[row]) << position
        start = table_start[leaf]
        for position in range(size):
            feature = entry_feature[first + position]
            for row in range(rows):
                total[feature, row] += table[start + subsets[row] * size + position]
    for feature in range(out.shape[1]):
        for row in range(rows):
            out[row, feature] += total[feature, row]


@numba.njit(cache=True, nogil=True)
def _explain_few_rows(matrix, split_feature, threshold, default_left, missing, leaf_start, leaf_size, leaf_value,
                      entry_start, entry_feature, entry_zero, pair_split, pair_left, weights, out):  # pragma: no cover
    """The same sum without tables, row by row: per leaf the polynomial prod_j (z_j + t o_j), then for each
    path feature i that polynomial divided by (z_i + t o_i) (top-down synthetic division, stable for
    0 < z <= 1) gives sum_U w(|U|, d) prod_{j in U} o_j prod_{j not in U, j != i} z_j."""
    goes_left = np.empty(len(split_feature), dtype=np.bool_)
    ones = np.empty(MAX_PATH_FEATURES, dtype=np.bool_)
    product = np.empty(MAX_PATH_FEATURES + 1)
    quotient = np.empty(MAX_PATH_FEATURES)
    for row in range(matrix.shape[0]):
        for s in range(len(split_feature)):
            goes_left[s] = _decide(matrix[row, split_feature[s]], missing[s], default_left[s], threshold[s])
        for leaf in range(len(leaf_start)):
            first, size = leaf_start[leaf], leaf_size[leaf]
            product[0] = 1.0
            for degree in range(1, size + 1):
                product[degree] = 0.0
            for position in range(size):
                entry = first + position
                satisfied = True
                for pair in range(entry_start[entry], entry_start[entry + 1]):
                    if goes_left[pair_split[pair]] != pair_left[pair]:
                        satisfied = False
                        break
                ones[position] = satisfied
                zero = entry_zero[entry]
                for degree in range(position + 1, 0, -1):  # multiply by (zero + t * one)
                    product[degree] = product[degree] * zero + (product[degree - 1] if satisfied else 0.0)
                product[0] *= zero
            # A feature the row does not satisfy divides out the constant z_i, and its share is
            # v (0 - z_i) (sum_k w_k product_k) / z_i: the same -v W for every such feature of the leaf.
            unsatisfied = 0.0
            for degree in range(size):
                unsatisfied += weights[size, degree] * product[degree]
            unsatisfied *= -leaf_value[leaf]
            for position in range(size):
                entry = first + position
                if not ones[position]:
                    out[row, entry_feature[entry]] += unsatisfied
                    continue
                zero = entry_zero[entry]
                quotient[size - 1] = product[size]  # divide by (t + zero), top down
                total = weights[size, size - 1] * quotient[size - 1]
                for degree in range(size - 1, 0, -1):
                    quotient[degree - 1] = product[degree] - zero * quotient[degree]
                    total += weights[size, degree - 1] * quotient[degree - 1]
                out[row, entry_feature[entry]] += leaf_value[leaf] * (1.0 - zero) * total
