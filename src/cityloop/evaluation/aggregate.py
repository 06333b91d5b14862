"""Aggregation up the indicator tree, level by level, as matrix products.

Scores live in a matrix ``s[observation, node]`` (leaf columns filled, the rest computed);
one extra column, the last, is the overall index (the root). Missing children are left out
and the present siblings re-weighted ("none-and-reweight", OECD/JRC 2008 Handbook §4.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Aggregation(StrEnum):
    ARITHMETIC = "arithmetic"  # Σ w·s: full compensability
    GEOMETRIC = "geometric"  # Π s^w: partial compensability, rewards balanced profiles


@dataclass(frozen=True)
class TreeShape:
    """The tree with a root appended: ``parent`` of top nodes is the root index ``n``."""

    parent: IntArray  # (n_nodes + 1,), root's parent is -1
    depth: IntArray  # (n_nodes + 1,), root depth 0
    is_leaf: npt.NDArray[np.bool_]

    @classmethod
    def from_parent(cls, parent: IntArray, depth: IntArray) -> TreeShape:
        n = parent.shape[0]
        full_parent = np.append(np.where(parent < 0, n, parent), -1).astype(np.int64)
        full_depth = np.append(depth, 0).astype(np.int64)
        has_child = np.zeros(n + 1, dtype=bool)
        has_child[full_parent[full_parent >= 0]] = True
        return cls(full_parent, full_depth, ~has_child)

    @property
    def root(self) -> int:
        return int(self.parent.shape[0]) - 1


def child_weight_matrix(shape: TreeShape, weight: FloatArray) -> FloatArray:
    """W[child, parent] = weight of child within parent (dense; trees have hundreds of nodes)."""
    n = shape.parent.shape[0]
    w = np.zeros((n, n))
    children = np.flatnonzero(shape.parent >= 0)
    w[children, shape.parent[children]] = weight[children]
    return w


def aggregate_tree(
    leaf_scores: FloatArray,
    leaf_nodes: IntArray,
    shape: TreeShape,
    weight: FloatArray,
    methods: Mapping[int, Aggregation],
    *,
    default: Aggregation = Aggregation.ARITHMETIC,
    geometric_floor: float = 0.01,
) -> FloatArray:
    """Scores of every node (and the root, last column) for every observation.

    ``weight`` has one entry per node plus the root (the root's is ignored); ``methods`` maps
    a parent depth (0 = the overall index, 1 = first-level dimensions, …) to its aggregation.
    Geometric aggregation floors scores at ``geometric_floor`` so a zero does not annihilate
    the product (the usual small-shift device, Handbook §6.2).
    """
    n_obs = leaf_scores.shape[0]
    n = shape.parent.shape[0]
    s = np.full((n_obs, n), np.nan)
    s[:, leaf_nodes] = leaf_scores
    w = child_weight_matrix(shape, weight)
    for d in range(int(shape.depth.max()) - 1, -1, -1):
        parents = np.flatnonzero((shape.depth == d) & ~shape.is_leaf)
        if parents.size == 0:
            continue
        w_level = w[:, parents]
        present = ~np.isnan(s)
        denominator = present @ w_level
        method = methods.get(d, default)
        if method == Aggregation.GEOMETRIC:
            logs = np.log(np.maximum(np.nan_to_num(s, nan=1.0), geometric_floor))
            with np.errstate(invalid="ignore", divide="ignore"):
                s[:, parents] = np.exp((np.where(present, logs, 0.0) @ w_level) / denominator)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                s[:, parents] = (np.where(present, s, 0.0) @ w_level) / denominator
        s[:, parents] = np.where(denominator > 0, s[:, parents], np.nan)
    return s


def effective_weights(
    present: npt.NDArray[np.bool_], shape: TreeShape, weight: FloatArray
) -> FloatArray:
    """Each node's share of the overall index for each observation, after re-weighting.

    ``present[obs, node]`` says whether the node has a score. For arithmetic aggregation the
    overall index equals Σ over leaves of effective weight × leaf score exactly; for other
    aggregations it is the first-order share used to explain contributions.
    """
    n_obs, n = present.shape
    w = child_weight_matrix(shape, weight)
    denominator = present @ w  # per parent: Σ of present children's weights
    e = np.zeros((n_obs, n))
    e[:, shape.root] = present[:, shape.root]
    for d in range(1, int(shape.depth.max()) + 1):
        nodes = np.flatnonzero(shape.depth == d)
        parents = shape.parent[nodes]
        den = denominator[:, parents]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(den > 0, weight[nodes] * present[:, nodes] / den, 0.0)
        e[:, nodes] = e[:, parents] * share
    return e
