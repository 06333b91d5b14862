"""What-if re-weighting: the engine's own totals reproduced from dimension scores, and the
properties a re-weighted ranking must have."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cityloop.demo.generator import generate_demo
from cityloop.errors import ConfigError
from cityloop.evaluation.aggregate import Aggregation
from cityloop.evaluation.config import EvaluationConfig
from cityloop.evaluation.cube import build_cube
from cityloop.evaluation.pipeline import evaluate_cube
from cityloop.evaluation.whatif import (
    check_weights,
    competition_ranks,
    reweighted_totals,
    top_level,
)
from cityloop.frameworks import Framework, load_framework

FloatArray = np.ndarray


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework("gbt33356-2016")


@pytest.fixture(scope="module")
def demo_values(fw: Framework) -> Any:
    return generate_demo([fw], n_cities=62, years=(2024, 2025)).values[fw.id]


CONFIGS = {
    "default": {},
    "geometric_total": {"aggregation": {"by_level": {0: "geometric"}}},
    "geometric_everywhere": {"aggregation": {"default": "geometric", "geometric_floor": 0.05}},
    "equal_dimensions": {"weights": {"upper": "equal", "method": "entropy"}},
    "z_scores_unbounded": {"normalisation": {"method": "z_score"}},
    "imputed_per_year": {"imputation": ["carry_forward"], "normalisation": {"scope": "per_year"}},
}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_runs_own_weights_reproduce_its_totals_and_ranks(
    fw: Framework, demo_values: Any, name: str
) -> None:
    config = EvaluationConfig.model_validate(CONFIGS[name])
    result = evaluate_cube(build_cube(demo_values, fw), fw, config)
    top = top_level(fw, config)
    assert top.codes == tuple(fw.codes[i] for i in fw.top_nodes)
    dims = fw.top_nodes
    for y in range(len(result.cube.years)):
        kept = result.kept[:, y]
        stored = result.scores[kept, y, -1]
        totals = reweighted_totals(
            result.scores[kept, y][:, dims],
            top.weights,
            top.method,
            scale=top.scale,
            geometric_floor=top.geometric_floor,
        )
        np.testing.assert_allclose(totals, stored, rtol=0, atol=1e-9)
        assert np.array_equal(competition_ranks(totals), result.ranks[kept, y, -1])


def test_ahp_judgments_on_the_overall_index_are_the_runs_weights(fw: Framework) -> None:
    dims = [fw.codes[i] for i in fw.top_nodes]
    n = len(dims)
    # Dimension 0 judged three times as important as each of the others, the rest equal.
    matrix = np.ones((n, n))
    matrix[0, 1:], matrix[1:, 0] = 3.0, 1 / 3
    config = EvaluationConfig.model_validate(
        {"weights": {"ahp": {"TOTAL": {"children": dims, "matrices": [matrix.tolist()]}}}}
    )
    top = top_level(fw, config)
    np.testing.assert_allclose(top.weights, np.array([3.0] + [1.0] * (n - 1)) / (n + 2))


def test_missing_dimensions_are_left_out_and_the_rest_reweighted() -> None:
    scores = np.array([[80.0, np.nan, 40.0], [np.nan, np.nan, np.nan], [10.0, 20.0, 30.0]])
    totals = reweighted_totals(scores, np.array([0.5, 0.25, 0.25]), scale=100.0)
    np.testing.assert_allclose(totals[[0, 2]], [(0.5 * 80 + 0.25 * 40) / 0.75, 17.5])
    assert np.isnan(totals[1])
    assert competition_ranks(totals).tolist() == [1, 0, 2]


def test_geometric_floor_keeps_a_zero_from_annihilating_the_product() -> None:
    totals = reweighted_totals(
        np.array([[0.0, 100.0]]),
        np.array([0.5, 0.5]),
        Aggregation.GEOMETRIC,
        scale=100.0,
        geometric_floor=0.01,
    )
    np.testing.assert_allclose(totals, [100 * np.sqrt(0.01 * 1.0)])


@pytest.mark.parametrize(
    ("weights", "key"),
    [
        ([0.5, -0.1], "rob.whatif.bad_weight"),
        ([np.nan, 1.0], "rob.whatif.bad_weight"),
        ([0.0, 0.0], "rob.whatif.zero_weights"),
    ],
)
def test_bad_weights_are_refused_naming_the_dimension(weights: list[float], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_weights(("D1", "D2"), np.array(weights))
    assert [p.key for p in caught.value.problems] == [key]


# -- properties ---------------------------------------------------------------------------------

score = st.one_of(st.floats(0.0, 100.0, allow_subnormal=False), st.sampled_from([0.0, 50.0]))
methods = st.sampled_from(list(Aggregation))


@st.composite
def problems(draw: st.DrawFn, *, complete: bool = False) -> tuple[FloatArray, FloatArray]:
    """(dimension scores on 0–100 with NaNs unless ``complete``, positive weights)."""
    n_units = draw(st.integers(2, 25))
    n_dims = draw(st.integers(1, 7))
    cells = score if complete else st.one_of(score, st.just(np.nan))
    scores = draw(hnp.arrays(np.float64, (n_units, n_dims), elements=cells))
    weights = draw(hnp.arrays(np.float64, n_dims, elements=st.floats(0.01, 10.0)))
    return scores, weights


def totals_of(scores: FloatArray, weights: FloatArray, method: Aggregation) -> FloatArray:
    return reweighted_totals(scores, weights, method, scale=100.0, geometric_floor=0.01)


@settings(max_examples=100, deadline=None)
@given(problems(), methods, st.randoms(use_true_random=False))
def test_units_in_another_order_get_the_same_totals_and_ranks(
    problem: tuple[FloatArray, FloatArray], method: Aggregation, rnd: Any
) -> None:
    scores, weights = problem
    order = np.array(rnd.sample(range(scores.shape[0]), scores.shape[0]))
    totals = totals_of(scores, weights, method)
    shuffled = totals_of(scores[order], weights, method)
    np.testing.assert_array_equal(shuffled, totals[order])
    np.testing.assert_array_equal(competition_ranks(shuffled), competition_ranks(totals)[order])


@settings(max_examples=100, deadline=None)
@given(problems(), methods, st.integers(-20, 20))
def test_scaling_every_weight_by_a_power_of_two_changes_nothing(
    problem: tuple[FloatArray, FloatArray], method: Aggregation, power: int
) -> None:
    # A power of two scales exactly in binary floating point: totals must be bit-identical.
    scores, weights = problem
    totals = totals_of(scores, weights, method)
    np.testing.assert_array_equal(totals_of(scores, weights * 2.0**power, method), totals)


@settings(max_examples=100, deadline=None)
@given(problems(complete=True), methods, st.data())
def test_more_weight_on_a_dimension_never_lowers_the_rank_of_its_best_unit(
    problem: tuple[FloatArray, FloatArray], method: Aggregation, data: st.DataObject
) -> None:
    # With every dimension scored, the best unit in dimension j gains at least as much as any
    # other from more weight on j, so nobody passes it (up to rounding of near-ties).
    scores, weights = problem
    j = data.draw(st.integers(0, scores.shape[1] - 1))
    more = weights.copy()
    more[j] += data.draw(st.floats(0.01, 100.0))
    best = int(np.argmax(scores[:, j]))
    before, after = totals_of(scores, weights, method), totals_of(scores, more, method)
    ahead_after = after > after[best] + 1e-9
    ahead_before = before > before[best] - 1e-9
    assert not np.any(ahead_after & ~ahead_before)


@settings(max_examples=100, deadline=None)
@given(problems(), methods, st.data())
def test_all_weight_on_one_dimension_ranks_by_that_dimension(
    problem: tuple[FloatArray, FloatArray], method: Aggregation, data: st.DataObject
) -> None:
    scores, weights = problem
    j = data.draw(st.integers(0, scores.shape[1] - 1))
    only = np.zeros_like(weights)
    only[j] = 1.0
    totals = totals_of(scores, only, method)
    if method == Aggregation.ARITHMETIC:
        np.testing.assert_allclose(totals, scores[:, j], rtol=1e-12, atol=1e-12)
    else:  # the floor lifts scores below it
        np.testing.assert_allclose(totals, np.maximum(scores[:, j], 1.0), rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_totals_lie_within_the_units_scores_and_geometric_never_exceeds_arithmetic(
    problem: tuple[FloatArray, FloatArray],
) -> None:
    scores, weights = problem
    arithmetic = totals_of(scores, weights, Aggregation.ARITHMETIC)
    geometric = totals_of(np.maximum(scores, 1.0), weights, Aggregation.GEOMETRIC)
    scored = ~np.isnan(arithmetic)
    assert np.array_equal(scored, ~np.all(np.isnan(scores), axis=1))
    lowest, highest = np.nanmin(scores[scored], axis=1), np.nanmax(scores[scored], axis=1)
    assert np.all(arithmetic[scored] >= lowest - 1e-9)
    assert np.all(arithmetic[scored] <= highest + 1e-9)
    lifted = totals_of(np.maximum(scores, 1.0), weights, Aggregation.ARITHMETIC)
    assert np.all(geometric[scored] <= lifted[scored] + 1e-9)  # weighted AM–GM
