"""The dashboards' numbers: competition ranks, group ranks, peer medians, the best unit, gaps
to targets and the weakest indicators, on hand-made frames and as hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cityloop.evaluation import overview

scores_1d = arrays(
    np.float64,
    st.integers(1, 30),
    elements=st.one_of(st.just(np.nan), st.sampled_from([10.0, 20.0, 20.0, 55.5, 90.0])),
)
finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_competition_rank_worked_example() -> None:
    ranks = overview.competition_rank([70.0, 90.0, 70.0, np.nan, 50.0])
    np.testing.assert_array_equal(ranks, [2, 1, 2, np.nan, 4])


@given(scores_1d)
def test_competition_rank_properties(scores: np.ndarray) -> None:
    ranks = overview.competition_rank(scores)
    scored = ~np.isnan(scores)
    assert np.array_equal(np.isnan(ranks), ~scored)
    s, r = scores[scored], ranks[scored]
    # Rank = 1 + how many score strictly higher: ties share the better rank.
    expected = 1 + (s[None, :] > s[:, None]).sum(axis=1)
    np.testing.assert_array_equal(r, expected)
    # Permuting the units permutes the ranks the same way.
    perm = np.random.default_rng(len(scores)).permutation(len(scores))
    np.testing.assert_array_equal(overview.competition_rank(scores[perm]), ranks[perm])


def test_group_ranks_within_province_and_cluster() -> None:
    totals = pd.Series({"a": 80.0, "b": 90.0, "c": 80.0, "d": 10.0, "e": np.nan})
    memberships = pd.DataFrame(
        {
            "unit": ["a", "b", "c", "d", "e", "a", "d", "a"],
            "group": ["P1", "P1", "P1", "P2", "P2", "长三角", "长三角", "small"],
            "kind": ["province"] * 5 + ["cluster", "cluster", "size_class"],
        }
    )
    ranks = overview.group_ranks(totals, memberships).set_index(["unit", "kind"])
    assert ranks.loc[("b", "province"), ["rank", "of"]].tolist() == [1, 3]
    assert ranks.loc[("a", "province"), "rank"] == ranks.loc[("c", "province"), "rank"] == 2
    assert ranks.loc[("d", "province"), ["rank", "of"]].tolist() == [1, 1]  # e is unscored
    assert ranks.loc[("a", "cluster"), ["rank", "of"]].tolist() == [1, 2]
    assert ("a", "size_class") not in ranks.index


def test_peer_median_and_best_unit() -> None:
    index = pd.MultiIndex.from_tuples(
        [(2024, "a"), (2024, "b"), (2024, "c"), (2025, "a"), (2025, "b")], names=["year", "unit"]
    )
    wide = pd.DataFrame({"TOTAL": [1.0, 5.0, 3.0, 2.0, np.nan]}, index=index)
    medians = overview.peer_median(wide)
    assert medians.loc[2024, "TOTAL"] == 3.0 and medians.loc[2025, "TOTAL"] == 2.0
    assert overview.best_unit(pd.Series({"b": 9.0, "a": 9.0, "c": 1.0})) == "a"
    assert overview.best_unit(pd.Series({"a": np.nan})) is None


@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_median_lies_between_min_and_max(values: np.ndarray) -> None:
    index = pd.MultiIndex.from_arrays(
        [np.full(len(values), 2025), [f"u{i}" for i in range(len(values))]], names=["year", "unit"]
    )
    median = overview.peer_median(pd.DataFrame({"x": values}, index=index)).loc[2025, "x"]
    assert values.min() <= median <= values.max()


def test_gap_in_each_direction() -> None:
    gap = overview.gap_to_target(
        value=[60.0, 120.0, 30.0, 5.0, 50.0, np.nan],
        direction=[1, 1, -1, -1, 0, 1],
        target=[100.0, 100.0, 20.0, 20.0, np.nan, 100.0],
        band_low=[np.nan, np.nan, np.nan, np.nan, 10.0, np.nan],
        band_high=[np.nan, np.nan, np.nan, np.nan, 40.0, np.nan],
    )
    np.testing.assert_array_equal(gap, [40.0, 0.0, 10.0, 0.0, 10.0, np.nan])


@given(finite, st.sampled_from([1, -1]), finite)
def test_gap_is_zero_iff_the_target_is_met(value: float, direction: int, target: float) -> None:
    gap = float(overview.gap_to_target(value, direction, target, np.nan, np.nan))
    met = value >= target if direction == 1 else value <= target
    assert gap >= 0
    assert (gap == 0) == met
    if not met:  # reaching the target by the gap lands exactly on it
        assert value + direction * gap == pytest.approx(target, rel=1e-9, abs=1e-6)


@given(finite, finite, finite)
def test_band_gap_is_zero_iff_inside(value: float, a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    gap = float(overview.gap_to_target(value, 0, np.nan, low, high))
    assert gap >= 0
    assert (gap == 0) == (low <= value <= high)


def spec() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "direction": [1, -1, 0, 1],
            "target": [100.0, 5.0, np.nan, np.nan],
            "target_source": ["framework", "config", "framework", "framework"],
            "band_low": [np.nan, np.nan, 10.0, np.nan],
            "band_high": [np.nan, np.nan, 20.0, np.nan],
        },
        index=["i1", "i2", "i3", "i4"],
    )


def test_weakest_with_gaps_worked_example() -> None:
    scores = pd.DataFrame(
        {"i1": [30.0, 90.0], "i2": [20.0, np.nan], "i3": [10.0, 80.0], "i4": [20.0, 70.0]},
        index=["a", "b"],
    )
    values = pd.DataFrame(
        {"i1": [60.0, 99.0], "i2": [9.0, 1.0], "i3": [25.0, 15.0], "i4": [3.0, 8.0]},
        index=["a", "b"],
    )
    best = overview.peer_best(values, spec()["direction"])
    assert best.tolist()[:2] == [99.0, 1.0] and np.isnan(best["i3"]) and best["i4"] == 8.0
    weak = overview.weakest_with_gaps(scores, values, spec(), best, n=3)
    a = weak[weak["unit"] == "a"].set_index("indicator")
    assert a.index.tolist() == ["i3", "i2", "i4"]  # i2 and i4 tie at 20: code order
    assert a.loc["i3", ["target_source", "gap"]].tolist() == ["band", 5.0]
    assert a.loc["i2", ["target_source", "gap"]].tolist() == ["config", 4.0]
    assert a.loc["i4", ["target_source", "target", "gap"]].tolist() == ["peers", 8.0, 5.0]
    b = weak[weak["unit"] == "b"]
    assert b["indicator"].tolist() == ["i4", "i3", "i1"]  # i2 unscored is left out
    assert b["met"].tolist() == [True, True, False]


@given(
    arrays(np.float64, (4, 4), elements=st.floats(0, 100)),
    arrays(np.float64, (4, 4), elements=st.floats(0, 200)),
    st.integers(1, 4),
)
def test_weakest_are_the_lowest_scores(scores: np.ndarray, values: np.ndarray, n: int) -> None:
    codes = ["i1", "i2", "i3", "i4"]
    s = pd.DataFrame(scores, index=list("abcd"), columns=codes)
    v = pd.DataFrame(values, index=list("abcd"), columns=codes)
    weak = overview.weakest_with_gaps(s, v, spec(), overview.peer_best(v, spec()["direction"]), n)
    for unit, rows in weak.groupby("unit"):
        kept = rows["score"].to_numpy()
        assert len(kept) == n and np.all(np.diff(kept) >= 0)
        others = s.loc[unit].drop(rows["indicator"])
        assert others.empty or others.min() >= kept.max()
    assert ((weak["gap"] == 0) == weak["met"]).all()


def ranking_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": ["c1", "c2", "c3", "c4"],
            "name_zh": ["南京市", "苏州市", "杭州市", "宁波市"],
            "name_en": ["Nanjing", "Suzhou", "Hangzhou", "Ningbo"],
            "province": ["JS", "JS", "ZJ", "ZJ"],
            "stage": ["smart", "intelligent", "smart", "digital"],
            "rank": [2, 1, 3, np.nan],
            "total": [80.0, 90.0, 70.0, np.nan],
        }
    )


def test_filters() -> None:
    table = ranking_table()
    m = pd.DataFrame({"unit": ["c1", "c3"], "group": ["长三角", "长三角"], "kind": "cluster"})
    pick = lambda **kw: overview.filter_ranking(table, m, **kw)["unit"].tolist()  # noqa: E731
    assert pick(province="JS") == ["c1", "c2"]
    assert pick(cluster="长三角", stage="smart") == ["c1", "c3"]
    assert (
        pick(query="hang") == ["c3"] and pick(query="苏州") == ["c2"] and pick(query="C4") == ["c4"]
    )
    assert pick(query="  ") == ["c1", "c2", "c3", "c4"]


def test_sort_keeps_unscored_last_and_counts_stages() -> None:
    table = ranking_table()
    assert overview.sort_ranking(table, "total", True)["unit"].tolist() == ["c2", "c1", "c3", "c4"]
    assert overview.sort_ranking(table, "total", False)["unit"].tolist() == ["c3", "c1", "c2", "c4"]
    counts = overview.stage_distribution(table["stage"], ["digital", "networked", "smart"])
    assert counts == {"digital": 1, "networked": 0, "smart": 2}
