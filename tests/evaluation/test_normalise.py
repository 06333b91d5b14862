"""Normalisation methods against hand-computed values, and their properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cityloop.errors import MethodError
from cityloop.evaluation.normalise import (
    Normalisation,
    goalposts_fallback,
    normalise,
    normalise_distance_to_best,
    normalise_goalposts,
    normalise_min_max,
    normalise_rank,
    normalise_z_score,
    orient,
)

NAN = np.nan
# Three indicators: higher is better, lower is better, band [10, 20].
DIRECTION = np.array([1, -1, 0])
BAND = np.array([[NAN, NAN], [NAN, NAN], [10.0, 20.0]])
X = np.array(
    [
        [10.0, 4.0, 5.0],
        [20.0, 2.0, 15.0],
        [40.0, 1.0, 30.0],
        [NAN, 3.0, 12.0],
    ]
)


def test_orient_flips_lower_and_measures_band_distance() -> None:
    o = orient(X, DIRECTION, BAND)
    np.testing.assert_array_equal(o[:, 1], [-4.0, -2.0, -1.0, -3.0])
    # band [10, 20]: 5 is 5 below, 15 and 12 inside, 30 is 10 above
    np.testing.assert_array_equal(o[:, 2], [-5.0, 0.0, -10.0, 0.0])


def test_min_max_by_hand() -> None:
    n = normalise_min_max(X, DIRECTION, BAND)
    # higher: (x-10)/30 ; lower: (4-x)/3 ; band: (o+10)/10
    expected = np.array(
        [
            [0.0, 0.0, 0.5],
            [1 / 3, 2 / 3, 1.0],
            [1.0, 1.0, 0.0],
            [NAN, 1 / 3, 1.0],
        ]
    )
    np.testing.assert_allclose(n, expected, atol=1e-12)


def test_z_score_by_hand() -> None:
    z = normalise_z_score(X, DIRECTION, BAND)
    # column 0: values 10, 20, 40 -> mean 70/3, sample sd sqrt(700/3 / 2*... ) computed below
    col = np.array([10.0, 20.0, 40.0])
    sd = np.sqrt(((col - col.mean()) ** 2).sum() / 2)
    np.testing.assert_allclose(z[:3, 0], (col - col.mean()) / sd)
    assert np.isnan(z[3, 0])
    # lower-is-better: the smallest value gets the highest z
    assert z[2, 1] == np.nanmax(z[:, 1])


def test_rank_by_hand_with_ties() -> None:
    r = normalise_rank(X, DIRECTION, BAND)
    np.testing.assert_allclose(r[:3, 0], [0.0, 0.5, 1.0])
    # band column oriented: -5, 0, -10, 0 -> ranks 2, 3.5, 1, 3.5 -> (r-1)/3
    np.testing.assert_allclose(r[:, 2], [1 / 3, 2.5 / 3, 0.0, 2.5 / 3])


def test_goalposts_by_hand() -> None:
    target = np.array([50.0, 1.0, NAN])
    worst = np.array([0.0, 5.0, 30.0])
    g = normalise_goalposts(X, DIRECTION, BAND, target, worst)
    # higher 0→50: x/50 ; lower 5→1: (5-x)/4 ; band: worst 30 is 10 from the band
    np.testing.assert_allclose(g[:3, 0], [0.2, 0.4, 0.8])
    np.testing.assert_allclose(g[:, 1], [0.25, 0.75, 1.0, 0.5])
    np.testing.assert_allclose(g[:, 2], [0.5, 1.0, 0.0, 1.0])


def test_goalposts_clip_beyond_target_and_fallback_reported() -> None:
    g = normalise_goalposts(
        np.array([[120.0], [-5.0]]),
        np.array([1]),
        np.array([[NAN, NAN]]),
        np.array([100.0]),
        np.array([0.0]),
    )
    np.testing.assert_array_equal(g[:, 0], [1.0, 0.0])
    fallback = goalposts_fallback(
        np.array([NAN, 1.0, NAN]), np.array([0.0, NAN, 3.0]), np.array([1, -1, 0])
    )
    np.testing.assert_array_equal(fallback, [0, 1])


def test_distance_to_best_by_hand() -> None:
    d = normalise_distance_to_best(X, DIRECTION, BAND)
    np.testing.assert_allclose(d[:3, 0], [0.25, 0.5, 1.0])
    np.testing.assert_allclose(d[:, 1], [0.25, 0.5, 1.0, 1 / 3])
    np.testing.assert_allclose(d[:, 2], [0.5, 1.0, 0.0, 1.0])


def test_distance_to_best_refuses_negative_values() -> None:
    with pytest.raises(MethodError):
        normalise_distance_to_best(np.array([[-1.0], [2.0]]), np.array([1]), np.array([[NAN, NAN]]))


def test_constant_column_gives_full_marks_in_min_max() -> None:
    n = normalise_min_max(np.array([[3.0], [3.0], [NAN]]), np.array([1]), np.array([[NAN, NAN]]))
    np.testing.assert_array_equal(n[:2, 0], [1.0, 1.0])
    assert np.isnan(n[2, 0])


def test_three_dimensional_cube_normalises_each_year_separately() -> None:
    cube = np.stack([X[:, :1], X[:, :1] * 2], axis=1)  # (units, years, 1)
    n = normalise_min_max(cube, DIRECTION[:1], BAND[:1])
    np.testing.assert_allclose(n[:, 0, 0], n[:, 1, 0], equal_nan=True)


values = arrays(
    np.float64,
    st.tuples(st.integers(2, 12), st.integers(1, 4)),
    elements=st.one_of(st.floats(-1e6, 1e6), st.just(NAN)),
)


@given(values, st.data())
def test_bounded_methods_lie_in_unit_interval(x: np.ndarray, data: st.DataObject) -> None:
    k = x.shape[1]
    direction = np.array(data.draw(st.lists(st.sampled_from([1, -1, 0]), min_size=k, max_size=k)))
    band = np.tile([-10.0, 10.0], (k, 1))
    band[direction != 0] = NAN
    for method in (Normalisation.MIN_MAX, Normalisation.RANK, Normalisation.GOALPOSTS):
        n = normalise(method, x, direction, band, np.full(k, NAN), np.full(k, NAN))
        finite = n[~np.isnan(n)]
        assert np.all((finite >= 0) & (finite <= 1)), method
        np.testing.assert_array_equal(np.isnan(n), np.isnan(x))


@given(values, st.integers(0, 11), st.floats(0, 1e6))
def test_raising_a_value_never_lowers_its_normalised_value(
    x: np.ndarray, row: int, raise_by: float
) -> None:
    row = row % x.shape[0]
    k = x.shape[1]
    direction = np.ones(k, dtype=np.int64)
    band = np.full((k, 2), NAN)
    higher = x.copy()
    higher[row] = x[row] + raise_by
    for method in Normalisation:
        before = (
            normalise(method, x, direction, band, np.full(k, NAN), np.full(k, NAN))
            if method != Normalisation.DISTANCE_TO_BEST
            else None
        )
        if before is None:
            continue
        after = normalise(method, higher, direction, band, np.full(k, NAN), np.full(k, NAN))
        ok = ~np.isnan(before[row])
        assert np.all(after[row][ok] >= before[row][ok] - 1e-9), method


def test_target_points_reproduce_the_u4ssc_example() -> None:
    # Four KPIs with target 100 reaching 20 %, 70 %, 100 % and 10 %: points 1, 3, 4, 1,
    # so the category scores 9 / 16 = 56.25 % (U4SSC benchmark example).
    x = np.array([[20.0, 70.0, 100.0, 10.0]])
    direction = np.ones(4, dtype=np.int64)
    n = normalise(
        Normalisation.TARGET_POINTS,
        x,
        direction,
        np.full((4, 2), NAN),
        np.full(4, 100.0),
        np.full(4, NAN),
    )
    np.testing.assert_allclose(n[0], [0.25, 0.75, 1.0, 0.25])
    assert n.mean() == pytest.approx(9 / 16)


def test_target_points_lower_is_better_band_and_missing_target() -> None:
    x = np.array([[2.0, 15.0, 5.0], [1.0, 30.0, 5.0]])
    direction = np.array([-1, 0, 1])
    band = np.array([[NAN, NAN], [10.0, 20.0], [NAN, NAN]])
    n = normalise(
        Normalisation.TARGET_POINTS, x, direction, band, np.array([1.0, NAN, NAN]), np.full(3, NAN)
    )
    np.testing.assert_allclose(n[:, 0], [0.5, 1.0])  # target 1: 50 % (2 points), 100 % (4)
    np.testing.assert_allclose(n[:, 1], [1.0, 0.25])  # inside the band, then outside
    assert np.isnan(n[:, 2]).all()  # no target: left out
