"""Tree aggregation: arithmetic, geometric, re-weighting of missing, effective weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cityloop.evaluation.aggregate import (
    Aggregation,
    TreeShape,
    aggregate_tree,
    effective_weights,
)

NAN = np.nan
# D1(0.6) -> I1(0.5), I2(0.5); D2(0.4) -> I3(0.25), I4(0.75)
PARENT = np.array([-1, -1, 0, 0, 1, 1])
DEPTH = np.array([1, 1, 2, 2, 2, 2])
WEIGHT = np.array([0.6, 0.4, 0.5, 0.5, 0.25, 0.75, 0.0])
LEAVES = np.array([2, 3, 4, 5])
SHAPE = TreeShape.from_parent(PARENT, DEPTH)


def test_arithmetic_by_hand() -> None:
    s = aggregate_tree(np.array([[1.0, 0.0, 0.4, 0.8]]), LEAVES, SHAPE, WEIGHT, {})
    # D1 = 0.5, D2 = 0.25*0.4 + 0.75*0.8 = 0.7, total = 0.6*0.5 + 0.4*0.7 = 0.58
    np.testing.assert_allclose(s[0], [0.5, 0.7, 1.0, 0.0, 0.4, 0.8, 0.58])


def test_geometric_by_hand_with_floor() -> None:
    leaves = np.array([[0.25, 1.0, 0.0, 1.0]])
    s = aggregate_tree(
        leaves, LEAVES, SHAPE, WEIGHT, {1: Aggregation.GEOMETRIC}, geometric_floor=0.01
    )
    d1 = 0.25**0.5 * 1.0**0.5
    d2 = 0.01**0.25 * 1.0**0.75
    np.testing.assert_allclose(s[0, :2], [d1, d2])
    np.testing.assert_allclose(s[0, -1], 0.6 * d1 + 0.4 * d2)  # level 0 stays arithmetic


def test_missing_leaf_reweights_present_siblings() -> None:
    s = aggregate_tree(np.array([[1.0, NAN, NAN, NAN]]), LEAVES, SHAPE, WEIGHT, {})
    assert s[0, 0] == 1.0 and np.isnan(s[0, 1])
    assert s[0, -1] == 1.0  # D2 wholly missing: the total rests on D1 alone


def test_effective_weights_reproduce_arithmetic_total() -> None:
    leaves = np.array([[1.0, NAN, 0.4, 0.8], [0.1, 0.2, 0.3, 0.4]])
    s = aggregate_tree(leaves, LEAVES, SHAPE, WEIGHT, {})
    e = effective_weights(~np.isnan(s), SHAPE, WEIGHT)
    np.testing.assert_allclose(np.nansum(e[:, LEAVES] * leaves, axis=1), s[:, -1])
    np.testing.assert_allclose(e[1, LEAVES], [0.3, 0.3, 0.1, 0.3])


leaf_scores = arrays(
    np.float64,
    st.tuples(st.integers(1, 8), st.just(4)),
    elements=st.one_of(st.floats(0, 1), st.just(NAN)),
)


@given(leaf_scores, st.integers(0, 3), st.floats(0, 1))
def test_raising_a_leaf_never_lowers_the_total(x: np.ndarray, col: int, new: float) -> None:
    for method in Aggregation:
        before = aggregate_tree(x, LEAVES, SHAPE, WEIGHT, {}, default=method)
        raised = x.copy()
        raised[:, col] = np.fmax(x[:, col], new)
        after = aggregate_tree(raised, LEAVES, SHAPE, WEIGHT, {}, default=method)
        ok = ~np.isnan(before[:, -1]) & ~np.isnan(x[:, col])
        assert np.all(after[ok, -1] >= before[ok, -1] - 1e-12)


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
@given(leaf_scores)
def test_scores_stay_within_leaf_range(x: np.ndarray) -> None:
    s = aggregate_tree(x, LEAVES, SHAPE, WEIGHT, {})
    total = s[:, -1]
    ok = ~np.isnan(total)
    assert np.all(total[ok] >= np.nanmin(x, axis=1)[ok] - 1e-12)
    assert np.all(total[ok] <= np.nanmax(x, axis=1)[ok] + 1e-12)
