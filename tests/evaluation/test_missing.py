"""Coverage and imputation on small hand-checked cubes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cityloop.evaluation.missing import (
    Imputation,
    carry_forward,
    coverage,
    group_fill,
    impute,
)

NAN = np.nan
# 3 units × 3 years × 2 indicators
CUBE = np.array(
    [
        [[1.0, NAN], [NAN, 5.0], [NAN, NAN]],
        [[2.0, 4.0], [3.0, NAN], [4.0, 6.0]],
        [[NAN, NAN], [7.0, 8.0], [NAN, 9.0]],
    ]
)


def test_coverage_counts_and_weights() -> None:
    np.testing.assert_allclose(coverage(CUBE)[0], [0.5, 0.5, 0.0])
    weighted = coverage(CUBE, np.array([3.0, 1.0]))
    np.testing.assert_allclose(weighted[0], [0.75, 0.25, 0.0])


def test_carry_forward_uses_latest_earlier_value_only() -> None:
    filled, flag = carry_forward(CUBE)
    np.testing.assert_array_equal(filled[0, :, 0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(filled[0, :, 1], [NAN, 5.0, 5.0])
    np.testing.assert_array_equal(filled[2, :, 0], [NAN, 7.0, 7.0])
    assert flag[0, 2, 0] and flag[0, 2, 1] and not flag[0, 0, 0] and not flag[0, 0, 1]


def test_group_mean_and_median_in_same_year() -> None:
    group = np.array([0, 0, -1])
    mean, flag = group_fill(CUBE, group, Imputation.GROUP_MEAN)
    assert mean[0, 1, 0] == 3.0  # unit 1's value in year 1
    assert np.isnan(mean[2, 0, 0])  # no group: left missing
    assert flag[0, 1, 0] and not flag[2, 0, 0]
    three = np.concatenate([CUBE, [[[10.0, 1.0], [1.0, 1.0], [1.0, 1.0]]]])
    median, _ = group_fill(three, np.array([0, 0, -1, 0]), Imputation.GROUP_MEDIAN)
    assert median[0, 1, 0] == 2.0  # median of 3 and 1


def test_chain_fills_only_what_is_left() -> None:
    out, flag = impute(CUBE, [Imputation.CARRY_FORWARD, Imputation.GROUP_MEAN], np.array([0, 0, 0]))
    assert out[0, 0, 1] == 4.0  # no earlier year: group mean of year 0 (unit 1 only)
    assert out[0, 2, 0] == 1.0  # carried forward, not the group mean
    assert flag.sum() == np.isnan(CUBE).sum() - np.isnan(out).sum()


cubes = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 4)),
    elements=st.one_of(st.floats(-100, 100), st.just(NAN)),
)


@given(cubes)
def test_imputation_never_changes_observed_values(x: np.ndarray) -> None:
    group = np.arange(x.shape[0]) % 2
    for methods in (
        [Imputation.CARRY_FORWARD],
        [Imputation.GROUP_MEDIAN],
        [Imputation.CARRY_FORWARD, Imputation.GROUP_MEAN],
    ):
        out, flag = impute(x, methods, group)
        observed = ~np.isnan(x)
        np.testing.assert_array_equal(out[observed], x[observed])
        np.testing.assert_array_equal(flag, np.isnan(x) & ~np.isnan(out))
