"""Run comparison maths: rank shifts, rank correlations, movers, stage changes, config diffs."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cityloop.evaluation.compare import compare_rankings, config_changes, flatten_config


def ranking(units: list[str], ranks: list[float], stages: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": units,
            "score": [100.0 - r for r in ranks],
            "rank": ranks,
            "stage": stages or ["smart"] * len(units),
        }
    )


def test_hand_made_example() -> None:
    # x falls from 1st to 3rd, z rises from 3rd to 1st, y stays; w is only in A, v only in B.
    a = ranking(["x", "y", "z", "w"], [1, 2, 3, 4], ["smart", "smart", "intelligent", "digital"])
    b = ranking(["x", "y", "z", "v"], [3, 2, 1, 4], ["intelligent", "smart", "smart", "digital"])
    c = compare_rankings(a, b)
    table = c.table.set_index("unit")
    assert list(c.table["unit"]) == ["z", "y", "x", "v", "w"]  # best in B first, then A-only
    assert table.loc[["x", "y", "z"], "shift"].tolist() == [-2.0, 0.0, 2.0]
    assert math.isnan(table.at["w", "shift"]) and math.isnan(table.at["v", "shift"])
    assert c.compared == 3
    # Ranks (1, 2, 3) against (3, 2, 1): perfectly reversed.
    assert c.spearman == pytest.approx(-1.0)
    assert c.kendall == pytest.approx(-1.0)
    assert c.mean_abs_shift == pytest.approx(4 / 3)
    assert c.stage_changes == 2  # x and z; w and v are in one run only
    assert table.loc[["x", "z"], "stage_changed"].all() and not table.at["y", "stage_changed"]
    assert c.movers_up[["unit", "shift"]].values.tolist() == [["z", 2.0]]
    assert c.movers_down[["unit", "shift"]].values.tolist() == [["x", -2.0]]


def test_known_correlations_with_one_swap() -> None:
    # Swapping ranks 4 and 5 of 5: ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 12/120 = 0.9; τ = (9 − 1)/10.
    a = ranking(list("abcde"), [1, 2, 3, 4, 5])
    b = ranking(list("abcde"), [1, 2, 3, 5, 4])
    c = compare_rankings(a, b)
    assert c.spearman == pytest.approx(0.9)
    assert c.kendall == pytest.approx(0.8)
    assert c.mean_abs_shift == pytest.approx(0.4)


def test_movers_are_limited_and_ties_broken_by_unit() -> None:
    a = ranking(list("abcdef"), [1, 2, 3, 4, 5, 6])
    b = ranking(list("abcdef"), [2, 1, 4, 3, 6, 5])
    c = compare_rankings(a, b, movers=2)
    assert c.movers_up["unit"].tolist() == ["b", "d"]
    assert c.movers_down["unit"].tolist() == ["a", "c"]


def test_undefined_correlations_are_nan() -> None:
    one = compare_rankings(ranking(["a"], [1]), ranking(["a"], [1]))
    assert math.isnan(one.spearman) and math.isnan(one.kendall)
    tied = compare_rankings(ranking(["a", "b"], [1, 1]), ranking(["a", "b"], [1, 2]))
    assert math.isnan(tied.spearman)
    empty = compare_rankings(ranking(["a"], [1]), ranking(["b"], [1]))
    assert empty.compared == 0 and math.isnan(empty.mean_abs_shift)


def test_bad_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        compare_rankings(pd.DataFrame({"unit": ["a"]}), ranking(["a"], [1]))
    with pytest.raises(ValueError, match="more than one row"):
        compare_rankings(ranking(["a", "a"], [1, 2]), ranking(["a"], [1]))


permutations = st.integers(min_value=2, max_value=30).flatmap(
    lambda n: st.permutations(list(range(1, n + 1)))
)


@settings(max_examples=40, deadline=None)
@given(permutations)
def test_identical_runs_agree_perfectly(order: list[int]) -> None:
    units = [f"u{i:02d}" for i in range(len(order))]
    c = compare_rankings(ranking(units, order), ranking(units, order))
    assert c.spearman == pytest.approx(1.0)
    assert c.kendall == pytest.approx(1.0)
    assert c.mean_abs_shift == 0.0
    assert (c.table["shift"] == 0).all()
    assert c.stage_changes == 0
    assert c.movers_up.empty and c.movers_down.empty


@settings(max_examples=40, deadline=None)
@given(permutations, st.randoms(use_true_random=False))
def test_shifts_of_a_permutation_sum_to_zero(order: list[int], rnd: random.Random) -> None:
    units = [f"u{i:02d}" for i in range(len(order))]
    shuffled = list(order)
    rnd.shuffle(shuffled)
    c = compare_rankings(ranking(units, order), ranking(units, shuffled))
    assert c.table["shift"].sum() == 0
    assert c.compared == len(order)
    # The correlations are SciPy's on the paired ranks, symmetric in A and B.
    reverse = compare_rankings(ranking(units, shuffled), ranking(units, order))
    if not math.isnan(c.spearman):
        assert c.spearman == pytest.approx(stats.spearmanr(order, shuffled).statistic)
        assert reverse.spearman == pytest.approx(c.spearman)
        assert reverse.kendall == pytest.approx(c.kendall)
    assert np.allclose(
        np.sort(reverse.table["shift"].to_numpy()), np.sort(-c.table["shift"].to_numpy())
    )
    # A shift of +k up means k places better in B: movers up have positive shifts, best first.
    assert (np.diff(c.movers_up["shift"].to_numpy()) <= 0).all()
    assert (c.movers_down["shift"] < 0).all()


def test_flatten_and_config_changes() -> None:
    a = {"weights": {"method": "framework", "ahp": {}}, "years": None, "imputation": ["none"]}
    b = {
        "weights": {"method": "entropy", "ahp": {"TOTAL": {"force": True}}},
        "years": None,
        "imputation": ["none", "group_mean"],
    }
    assert flatten_config(b) == {
        "weights.method": "entropy",
        "weights.ahp.TOTAL.force": True,
        "years": None,
        "imputation": ["none", "group_mean"],
    }
    changes = [(c.key, c.a, c.b) for c in config_changes(a, b)]
    assert changes == [
        ("imputation", ["none"], ["none", "group_mean"]),
        ("weights.ahp.TOTAL.force", None, True),
        ("weights.method", "framework", "entropy"),
    ]
    assert config_changes(a, a) == []
