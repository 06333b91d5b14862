"""Tests for cityloop.planning.scoring: TOPSIS against a published worked example and pymcdm,
its properties, and the validating wrapper with user and AHP weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from pymcdm.methods import TOPSIS
from pymcdm.normalizations import vector_normalization

from cityloop.errors import InputError, MethodError
from cityloop.evaluation.weights import ahp_weights
from cityloop.i18n import use_language
from cityloop.planning.scoring import (
    FACTOR_BENEFIT,
    FACTORS,
    competition_rank,
    score_projects,
    topsis,
)
from tests.strategies import FloatArray

# --- strategies ----------------------------------------------------------------------------


@st.composite
def decision_problems(
    draw: st.DrawFn, *, min_rows: int = 1, max_rows: int = 8, min_value: float = 0.0
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(matrix, weights, benefit): non-negative values (grid values too, so that ties and
    constant columns turn up), weights summing to one, a random direction per criterion."""
    rows = draw(st.integers(min_value=min_rows, max_value=max_rows))
    cols = draw(st.integers(min_value=1, max_value=6))
    value = st.one_of(
        st.floats(min_value=min_value, max_value=1e3, allow_subnormal=False),
        st.sampled_from([v for v in (0.0, 1.0, 2.0, 5.0) if v >= min_value]),
    )
    matrix = draw(hnp.arrays(np.float64, (rows, cols), elements=value))
    raw = draw(hnp.arrays(np.float64, cols, elements=st.floats(min_value=0.01, max_value=1.0)))
    benefit = draw(hnp.arrays(np.bool_, cols))
    return matrix, raw / raw.sum(), benefit


def project_table(matrix: FloatArray) -> pd.DataFrame:
    table = pd.DataFrame(matrix, columns=list(FACTORS))
    table.insert(0, "code", [f"P{i + 1:02d}" for i in range(len(table))])
    return table


SAMPLE = project_table(
    np.array(
        [  # foundation, importance, cycle (years), funding (10k yuan), personnel
            [3.0, 9.0, 2.0, 1200.0, 12.0],
            [7.0, 5.0, 1.0, 300.0, 4.0],
            [5.0, 7.0, 3.0, 2500.0, 20.0],
            [1.0, 3.0, 1.0, 150.0, 2.0],
        ]
    )
)
EQUAL = dict.fromkeys(FACTORS, 1.0)


def consistent_judgments(priorities: FloatArray) -> FloatArray:
    """The perfectly consistent judgment matrix a_ij = p_i / p_j."""
    return priorities[:, None] / priorities[None, :]


# --- the kernel ----------------------------------------------------------------------------


def test_tzeng_huang_2011_worked_example() -> None:
    """Tzeng, G.-H., Huang, J.-J. (2011). *Multiple Attribute Decision Making: Methods and
    Applications*. CRC Press, ch. 5 (TOPSIS), numerical example: four alternatives, three
    benefit criteria, weights (0.3, 0.4, 0.3), vector normalisation.

    Published relative closeness 0.5037, 0.6581, 0.7482, 0.3340 (ranking A3 > A2 > A1 > A4);
    the same figures are the reference of scikit-criteria's ``tests/agg/test_topsis.py``.
    Given to four decimals, so the tolerance is 1e-4.
    """
    matrix = np.array([[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6]], dtype=np.float64)
    result = topsis(matrix, np.array([0.3, 0.4, 0.3]), np.array([True, True, True]))
    assert_allclose(result.closeness, [0.5037, 0.6581, 0.7482, 0.3340], atol=1e-4)
    assert_array_equal(result.rank, [3, 2, 1, 4])
    assert_allclose(result.closeness, result.d_worst / (result.d_best + result.d_worst))


@pytest.mark.filterwarnings("ignore:Alternatives with indices:UserWarning")
@given(decision_problems(min_rows=2, min_value=0.01))
def test_matches_pymcdm_topsis_with_vector_normalisation(
    problem: tuple[FloatArray, FloatArray, np.ndarray],
) -> None:
    matrix, weights, benefit = problem
    # When no column varies beyond rounding, both closenesses are 0/0 noise (pymcdm's cost
    # normalisation 1 − x/‖x‖ turns equal values into rounding-level differences).
    assume((np.ptp(matrix, axis=0) > 1e-6 * matrix.max(axis=0)).any())
    with np.errstate(all="ignore"):
        expected = TOPSIS(vector_normalization)(matrix, weights, np.where(benefit, 1, -1))
    assert_allclose(topsis(matrix, weights, benefit).closeness, expected, rtol=1e-9, atol=1e-12)


@given(decision_problems())
def test_closeness_is_in_unit_interval_and_ranks_are_valid(
    problem: tuple[FloatArray, FloatArray, np.ndarray],
) -> None:
    matrix, weights, benefit = problem
    result = topsis(matrix, weights, benefit)
    assert np.isfinite(result.closeness).all()
    assert ((result.closeness >= 0) & (result.closeness <= 1)).all()
    assert result.rank.min() == 1
    assert (result.rank <= len(matrix)).all()


@given(decision_problems(), st.data())
def test_a_dominating_project_ranks_at_least_as_high(
    problem: tuple[FloatArray, FloatArray, np.ndarray], data: st.DataObject
) -> None:
    matrix, weights, benefit = problem
    base = matrix[data.draw(st.integers(0, len(matrix) - 1))]
    step = data.draw(
        hnp.arrays(np.float64, base.shape, elements=st.floats(min_value=0.0, max_value=100.0))
    )
    # Better on every criterion: more of a benefit, less of a cost (never below zero).
    better = np.where(benefit, base + step, np.maximum(base - step, 0.0))
    result = topsis(np.vstack([matrix, better]), weights, benefit)
    base_index = int(np.flatnonzero((matrix == base).all(axis=1))[0])
    assert result.rank[-1] <= result.rank[base_index]
    assert result.closeness[-1] >= result.closeness[base_index] - 1e-12


@given(decision_problems(), st.data())
def test_scaling_a_column_leaves_the_result_unchanged(
    problem: tuple[FloatArray, FloatArray, np.ndarray], data: st.DataObject
) -> None:
    matrix, weights, benefit = problem
    column = data.draw(st.integers(0, matrix.shape[1] - 1))
    exponent = data.draw(st.integers(-10, 10))
    factor = data.draw(st.floats(min_value=1e-3, max_value=1e3))
    before = topsis(matrix, weights, benefit)
    # A power of two rescales without rounding, so the ranking must be identical ...
    exact = matrix.copy()
    exact[:, column] *= 2.0**exponent
    assert_array_equal(topsis(exact, weights, benefit).rank, before.rank)
    # ... and any positive factor changes the closeness by rounding only.
    scaled = matrix.copy()
    scaled[:, column] *= factor
    assert_allclose(topsis(scaled, weights, benefit).closeness, before.closeness, atol=1e-9)


@given(decision_problems(min_rows=2, max_rows=2))
def test_reversing_every_direction_swaps_two_options(
    problem: tuple[FloatArray, FloatArray, np.ndarray],
) -> None:
    matrix, weights, benefit = problem
    forward, backward = topsis(matrix, weights, benefit), topsis(matrix, weights, ~benefit)
    assert_allclose(backward.closeness, 1.0 - forward.closeness, atol=1e-12)
    assert_array_equal(backward.rank, forward.rank[::-1])


@given(
    st.floats(min_value=0.0, max_value=1e3),
    st.floats(min_value=0.0, max_value=1e3),
    st.floats(min_value=0.0, max_value=1e3),
)
def test_reversing_the_one_criterion_that_differs_swaps_two_options(
    first: float, second: float, shared: float
) -> None:
    assume(first != second)
    matrix = np.array([[first, shared], [second, shared]])
    weights = np.array([0.5, 0.5])
    forward = topsis(matrix, weights, np.array([True, True]))
    backward = topsis(matrix, weights, np.array([False, True]))
    assert sorted(forward.rank) == [1, 2]
    assert_array_equal(backward.rank, forward.rank[::-1])


def test_extreme_magnitudes_neither_underflow_nor_overflow() -> None:
    """Squaring 1e-173 underflows to 0 and 1e300 overflows: the norm must not see either."""
    weights, benefit = np.array([0.5, 0.5]), np.array([True, True])
    tiny = topsis(np.array([[0.0, 1.0], [1e-173, 1.0]]), weights, benefit)
    huge = topsis(np.array([[1e300, 1.0], [2e300, 1.0]]), weights, benefit)
    assert_array_equal(tiny.closeness, [0.0, 1.0])
    assert_allclose(huge.closeness, [0.0, 1.0])


def test_competition_ranking_gives_ties_the_better_rank() -> None:
    assert_array_equal(competition_rank(np.array([0.5, 0.9, 0.5, 0.1])), [2, 1, 2, 4])


def test_a_constant_column_adds_nothing_and_a_zero_column_no_nan() -> None:
    matrix = np.array([[1.0, 0.0, 4.0, 3.0], [2.0, 0.0, 4.0, 1.0], [3.0, 0.0, 4.0, 2.0]])
    weights = np.array([0.4, 0.2, 0.1, 0.3])
    benefit = np.array([True, True, False, False])
    full = topsis(matrix, weights, benefit)
    varying = [0, 3]
    reduced = topsis(matrix[:, varying], weights[varying], benefit[varying])
    assert np.isfinite(full.closeness).all()
    assert_allclose(full.closeness, reduced.closeness, rtol=1e-12)


def test_all_alternatives_equal_share_rank_one() -> None:
    result = topsis(np.ones((3, 2)), np.array([0.5, 0.5]), np.array([True, False]))
    assert_array_equal(result.closeness, [0.5, 0.5, 0.5])
    assert_array_equal(result.rank, [1, 1, 1])


# --- the wrapper ---------------------------------------------------------------------------


def test_score_projects_packages_the_kernel_result() -> None:
    scores = score_projects(SAMPLE, weights={**EQUAL, "importance": 4.0})
    expected_weights = np.array([1, 4, 1, 1, 1]) / 8
    assert_allclose(scores.weights.to_numpy(), expected_weights)
    assert scores.weight_source == "user" and scores.consistency_ratio is None
    assert scores.ignored_factors == ()
    kernel = topsis(SAMPLE[list(FACTORS)].to_numpy(), expected_weights, np.array(FACTOR_BENEFIT))
    assert list(scores.table.index) == ["P01", "P02", "P03", "P04"]
    assert_allclose(scores.table[list(FACTORS)].to_numpy(), kernel.weighted)
    assert_allclose(scores.table["closeness"], kernel.closeness)
    assert_array_equal(scores.table["rank"], kernel.rank)
    assert_allclose(scores.table["d_best"], kernel.d_best)
    assert_allclose(scores.table["d_worst"], kernel.d_worst)


def test_sequence_weights_follow_the_factor_order() -> None:
    by_name = score_projects(SAMPLE, weights={**EQUAL, "funding": 3.0})
    by_position = score_projects(SAMPLE, weights=[1, 1, 1, 3, 1])
    pd.testing.assert_frame_equal(by_name.table, by_position.table)


def test_cost_factors_favour_the_cheaper_project() -> None:
    table = project_table(np.array([[5, 5, 1, 100, 2], [5, 5, 3, 900, 9]], dtype=np.float64))
    scores = score_projects(table, weights=EQUAL)
    assert list(scores.table["rank"]) == [1, 2]
    assert scores.ignored_factors == ("foundation", "importance")


def test_ahp_path_uses_ahp_weights() -> None:
    priorities = np.array([0.1, 0.4, 0.2, 0.2, 0.1])
    judgments = consistent_judgments(priorities)
    scores = score_projects(SAMPLE, judgments=judgments)
    assert scores.weight_source == "ahp"
    assert_allclose(scores.weights.to_numpy(), ahp_weights(judgments).weights, rtol=1e-12)
    assert_allclose(scores.weights.to_numpy(), priorities, rtol=1e-9)
    assert scores.consistency_ratio == pytest.approx(0.0, abs=1e-9)


def test_ahp_path_refuses_inconsistent_judgments_unless_forced() -> None:
    judgments = np.ones((5, 5))
    # foundation ≫ importance ≫ cycle, yet cycle ≫ foundation: a circular judgment.
    for (i, j), value in {(0, 1): 9.0, (1, 2): 9.0, (2, 0): 9.0}.items():
        judgments[i, j], judgments[j, i] = value, 1.0 / value
    with pytest.raises(MethodError) as caught:
        score_projects(SAMPLE, judgments=judgments)
    assert caught.value.key == "ahp.inconsistent"
    forced = score_projects(SAMPLE, judgments=judgments, force=True)
    assert forced.consistency_ratio is not None and forced.consistency_ratio > 0.1


def problem_keys(exc: InputError) -> list[str]:
    return [p.key for p in exc.problems]


def test_missing_factor_column_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        score_projects(SAMPLE.drop(columns=["funding"]), weights=EQUAL)
    assert caught.value.key == "plan.scoring.invalid"
    assert problem_keys(caught.value) == ["plan.scoring.missing_column"]
    assert caught.value.problems[0].params == {"column": "funding"}


def test_bad_values_are_refused_with_row_and_column() -> None:
    table = SAMPLE.astype({"cycle": object, "funding": object})
    table.loc[1, "cycle"] = "two"
    table.loc[2, "funding"] = float("inf")
    table.loc[3, "personnel"] = -1.0
    with pytest.raises(InputError) as caught:
        score_projects(table, weights=EQUAL)
    found = {(p.key, p.location.row, p.location.column) for p in caught.value.problems}
    assert found == {
        ("plan.scoring.not_finite", 2, "cycle"),
        ("plan.scoring.not_finite", 3, "funding"),
        ("plan.scoring.negative_value", 4, "personnel"),
    }
    with use_language("en"):
        assert "row 2" in caught.value.render().lower()


def test_blank_and_repeated_codes_are_refused() -> None:
    table = SAMPLE.copy()
    table.loc[1, "code"] = "P01"
    table.loc[2, "code"] = " "
    with pytest.raises(InputError) as caught:
        score_projects(table, weights=EQUAL)
    assert sorted(problem_keys(caught.value)) == [
        "plan.scoring.blank_code",
        "plan.scoring.duplicate_code",
    ]


@pytest.mark.parametrize(
    ("weights", "key"),
    [
        ({**EQUAL, "funding": -1.0}, "plan.scoring.weight_negative"),
        ([1, 1, float("nan"), 1, 1], "plan.scoring.weight_negative"),
        (dict.fromkeys(FACTORS, 0.0), "plan.scoring.weights_zero"),
        ({**EQUAL, "budget": 1.0}, "plan.scoring.weight_unknown"),
        ({"foundation": 1.0}, "plan.scoring.weight_missing"),
        ([1, 1, 1], "plan.scoring.weight_count"),
        (["a", 1, 1, 1, 1], "plan.scoring.weight_not_numeric"),
    ],
)
def test_unusable_weights_are_refused(weights: object, key: str) -> None:
    with pytest.raises(InputError) as caught:
        score_projects(SAMPLE, weights=weights)  # type: ignore[arg-type]
    assert caught.value.key == "plan.scoring.bad_weights"
    assert key in problem_keys(caught.value)


def test_exactly_one_weighting_must_be_given() -> None:
    for kwargs in ({}, {"weights": EQUAL, "judgments": np.ones((5, 5))}):
        with pytest.raises(InputError) as caught:
            score_projects(SAMPLE, **kwargs)  # type: ignore[arg-type]
        assert caught.value.key == "plan.scoring.weights_choice"


def test_judgments_must_cover_the_five_factors() -> None:
    with pytest.raises(InputError) as caught:
        score_projects(SAMPLE, judgments=np.ones((3, 3)))
    assert caught.value.key == "plan.scoring.judgments_size"


def test_projects_that_differ_only_on_unweighted_factors_cannot_be_ranked() -> None:
    table = project_table(np.array([[5, 5, 1, 100, 2], [5, 5, 1, 100, 9]], dtype=np.float64))
    with pytest.raises(InputError) as caught:
        score_projects(table, weights=[1, 1, 1, 1, 0])
    assert caught.value.key == "plan.scoring.nothing_to_rank"
    assert score_projects(table, weights=EQUAL).ignored_factors == FACTORS[:4]
