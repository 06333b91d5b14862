"""Tests of survey weighting: hand-worked answers, refused input and hypothesis properties.

Raking is checked against a closed-form 2×2 solution; the properties cover every margin.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cityloop.errors import InputError
from cityloop.i18n import use_language
from cityloop.survey import (
    design_effect,
    effective_sample_size,
    post_stratify,
    rake,
    weighted_mean,
    weighted_share,
)
from tests.strategies import FloatArray

Z95 = 1.959963984540054
ONE = pd.DataFrame({"x": [1]})
ONE_MARGIN = {"x": {1: 1.0}}


# --- hand-worked examples -----------------------------------------------------------------


def test_post_stratify_hand_worked() -> None:
    weights = post_stratify(["a", "a", "b"], {"a": 50, "b": 50})
    # a: 0.5 / (2/3) = 0.75, b: 0.5 / (1/3) = 1.5
    np.testing.assert_allclose(weights, [0.75, 0.75, 1.5])


def test_rake_balanced_table_fits_in_one_iteration() -> None:
    frame = pd.DataFrame({"sex": ["M", "M", "F", "F"], "age": ["Y", "O", "Y", "O"]})
    result = rake(frame, {"sex": {"M": 60, "F": 40}, "age": {"Y": 0.5, "O": 0.5}})
    np.testing.assert_allclose(result.weights, [1.2, 1.2, 0.8, 0.8])
    assert result.iterations == 1
    assert result.converged
    assert result.max_error <= 1e-12


def test_rake_two_by_two_keeps_the_sample_odds_ratio() -> None:
    # Raking a 2×2 table keeps the sample odds ratio (Mosteller 1968): cells (11, 12, 21, 22)
    # hold 2, 1, 1, 1 respondents, so the fitted totals x, 2.5 − x, 2.5 − x, x satisfy
    # x² / (2.5 − x)² = 2, i.e. x = 2.5·√2 / (1 + √2).
    frame = pd.DataFrame({"row": [1, 1, 1, 2, 2], "col": [1, 1, 2, 1, 2]})
    result = rake(frame, {"row": {1: 1, 2: 1}, "col": {1: 1, 2: 1}}, max_iter=500, tol=1e-12)
    x = 2.5 * math.sqrt(2) / (1 + math.sqrt(2))
    np.testing.assert_allclose(result.weights, [x / 2, x / 2, 2.5 - x, 2.5 - x, x], rtol=1e-9)
    assert result.converged
    assert result.iterations > 1


def test_rake_starts_from_base_weights() -> None:
    frame = pd.DataFrame({"sex": ["M", "F", "F"]})
    result = rake(frame, {"sex": {"M": 1, "F": 1}}, base_weights=[1.0, 1.0, 3.0])
    # F's total 1.5 is split 1 : 3 between the two women.
    np.testing.assert_allclose(result.weights, [1.5, 0.375, 1.125])


def test_rake_reports_non_convergence_under_infeasible_trimming() -> None:
    frame = pd.DataFrame({"sex": ["M", "F"]})
    result = rake(frame, {"sex": {"M": 0.9, "F": 0.1}}, trim=(0.5, 1.5), max_iter=20)
    assert not result.converged
    assert result.iterations == 20
    assert result.max_error > 0.1
    assert result.weights.min() >= 0.5
    assert result.weights.max() <= 1.5


def test_kish_design_effect_hand_worked() -> None:
    assert design_effect([1, 1, 2, 2]) == pytest.approx(4 * 10 / 36)
    assert effective_sample_size([1, 1, 2, 2]) == pytest.approx(3.6)


def test_wilson_interval_of_three_in_ten() -> None:
    estimate = weighted_share([True] * 3 + [False] * 7, np.ones(10))
    # Wilson (1927) 95 % interval for 3/10, as tabulated by Newcombe (1998), method 3.
    assert estimate.value == pytest.approx(0.3)
    assert estimate.low == pytest.approx(0.1078, abs=1e-4)
    assert estimate.high == pytest.approx(0.6032, abs=1e-4)
    assert (estimate.n, estimate.n_eff) == (10, pytest.approx(10))


def test_weighted_mean_with_equal_weights_is_the_usual_interval() -> None:
    estimate = weighted_mean([1, 2, 3, 4], [2, 2, 2, 2])
    half = Z95 * math.sqrt(5 / 12)  # s² / n with s² = 5/3
    assert estimate.value == pytest.approx(2.5)
    assert (estimate.low, estimate.high) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))


def test_weighted_mean_uses_the_weights() -> None:
    estimate = weighted_mean([0, 10], [3, 1], confidence=0.9)
    assert estimate.value == pytest.approx(2.5)
    assert estimate.n_eff == pytest.approx(16 / 10)


# --- refused input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: post_stratify(["a", "c"], {"a": 1, "b": 1}), "survey.category_unknown"),
        (lambda: post_stratify(["a", "a"], {"a": 1, "b": 1}), "survey.category_empty"),
        (lambda: post_stratify(["a", None], {"a": 1}), "survey.label_missing"),
        (lambda: post_stratify(["a"], {"a": 0}), "survey.population_invalid"),
        (lambda: post_stratify([], {"a": 1}), "survey.no_respondents"),
        (lambda: rake(ONE, {}), "survey.margins_empty"),
        (lambda: rake(ONE, {"y": {1: 1}}), "survey.variable_unknown"),
        (lambda: rake(ONE, {"x": {}}), "survey.population_empty"),
        (lambda: rake(ONE, ONE_MARGIN, max_iter=0), "survey.max_iter_invalid"),
        (lambda: rake(ONE, ONE_MARGIN, tol=0), "survey.tol_invalid"),
        (lambda: rake(ONE, ONE_MARGIN, trim=(1.2, 2)), "survey.trim_invalid"),
        (lambda: rake(ONE, ONE_MARGIN, base_weights=[1, 1]), "survey.length_mismatch"),
        (lambda: design_effect([1.0, -1.0]), "survey.weights_invalid"),
        (lambda: design_effect([1.0, float("nan")]), "survey.weights_invalid"),
        (lambda: effective_sample_size([]), "survey.no_respondents"),
        (lambda: weighted_share([0, 2], [1, 1]), "survey.indicator_invalid"),
        (lambda: weighted_share([True], [1, 1]), "survey.length_mismatch"),
        (lambda: weighted_share([True], [1], confidence=1.0), "survey.confidence_invalid"),
        (lambda: weighted_mean([1.0, float("inf")], [1, 1]), "survey.values_invalid"),
        (lambda: weighted_mean([1.0], [1]), "survey.too_few_for_mean"),
    ],
)
def test_bad_input_is_refused_with_its_key(call: Callable[[], object], key: str) -> None:
    with pytest.raises(InputError) as caught:
        call()
    assert caught.value.key == key
    # Every message renders in both languages with all its placeholders filled.
    for lang in ("zh-CN", "en"):
        text = caught.value.render(lang)
        assert text
        assert "{" not in text


def test_errors_name_the_culprit_in_both_languages() -> None:
    with pytest.raises(InputError) as caught:
        post_stratify(["东城", "南城"], {"东城": 10, "西城": 5})
    with use_language("zh-CN"):
        assert "南城" in str(caught.value)
        assert "不在总体结构中" in str(caught.value)
    with use_language("en"):
        assert "南城" in str(caught.value)
        assert "not in the population" in str(caught.value)


# --- properties -----------------------------------------------------------------------------


@st.composite
def raking_problems(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, dict[int, float]]]:
    """A sample covering every cell of 1–3 crossed variables (so any margins are feasible)."""
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    cells = list(itertools.product(*(range(k) for k in sizes)))
    repeats = draw(st.lists(st.integers(1, 5), min_size=len(cells), max_size=len(cells)))
    rows = np.repeat(np.array(cells), repeats, axis=0)
    frame = pd.DataFrame(rows, columns=[f"v{i}" for i in range(len(sizes))])
    margins = {
        f"v{i}": {c: float(draw(st.integers(1, 20))) for c in range(k)} for i, k in enumerate(sizes)
    }
    return frame, margins


def weighted_shares(labels: pd.Series[int], weights: FloatArray, size: int) -> FloatArray:
    totals = np.bincount(labels.to_numpy(), weights=weights, minlength=size)
    shares: FloatArray = totals / weights.sum()
    return shares


@given(raking_problems())
def test_raked_weights_reproduce_every_margin(
    problem: tuple[pd.DataFrame, dict[str, dict[int, float]]],
) -> None:
    frame, margins = problem
    result = rake(frame, margins, max_iter=5000, tol=1e-9)
    assert result.converged
    assert result.max_error <= 1e-9
    assert (result.weights > 0).all()
    assert result.weights.sum() == pytest.approx(len(frame))
    for name, margin in margins.items():
        target = np.array(list(margin.values())) / sum(margin.values())
        got = weighted_shares(frame[name], result.weights, len(margin))
        np.testing.assert_allclose(got, target, atol=1e-9)


@given(raking_problems(), st.integers(1, 4))
def test_sample_matching_its_margins_gets_equal_weights(
    problem: tuple[pd.DataFrame, dict[str, dict[int, float]]], scale: int
) -> None:
    frame, margins = problem
    own = {name: (frame[name].value_counts() * scale).to_dict() for name in margins}
    result = rake(frame, own)
    assert result.converged
    np.testing.assert_allclose(result.weights, 1.0)


@given(
    raking_problems(),
    st.floats(0.0, 1.0),
    st.floats(1.0, 5.0),
)
def test_trimmed_weights_stay_within_bounds(
    problem: tuple[pd.DataFrame, dict[str, dict[int, float]]], low: float, high: float
) -> None:
    frame, margins = problem
    high = max(high, low + 0.01)
    result = rake(frame, margins, trim=(low, high), max_iter=200)
    assert (result.weights >= low).all()
    assert (result.weights <= high).all()
    assert (result.weights > 0).all()
    assert result.converged == (result.max_error <= 1e-8)


@given(st.data(), st.integers(1, 6))
def test_post_stratification_reproduces_population_shares(data: st.DataObject, k: int) -> None:
    counts = data.draw(st.lists(st.integers(1, 8), min_size=k, max_size=k))
    labels = pd.Series(np.repeat(np.arange(k), counts)).sample(frac=1, random_state=0)
    population = {c: data.draw(st.floats(0.1, 1e6)) for c in range(k)}
    weights = post_stratify(labels, population)
    target = np.array(list(population.values())) / sum(population.values())
    np.testing.assert_allclose(weighted_shares(labels, weights, k), target, rtol=1e-12)
    assert weights.sum() == pytest.approx(len(labels))
    assert (weights > 0).all()


positive_weights = hnp.arrays(
    np.float64, st.integers(1, 50), elements=st.floats(0.1, 10.0, allow_subnormal=False)
)


@given(positive_weights)
def test_design_effect_is_at_least_one_and_one_only_for_equal_weights(w: FloatArray) -> None:
    deff = design_effect(w)
    n_eff = effective_sample_size(w)
    assert deff >= 1 - 1e-12
    assert n_eff <= w.size * (1 + 1e-12)
    assert n_eff == pytest.approx(w.size / deff)
    if np.ptp(w) == 0:
        assert deff == pytest.approx(1.0)
    if np.ptp(w) > 1e-3:
        assert deff > 1


@given(
    st.data(),
    st.integers(1, 40),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    st.integers(2, 4),
)
def test_share_interval_contains_the_estimate_and_narrows_with_n(
    data: st.DataObject, n: int, confidence: float, copies: int
) -> None:
    x = data.draw(hnp.arrays(np.bool_, n))
    w = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 10.0)))
    small = weighted_share(x, w, confidence=confidence)
    big = weighted_share(np.tile(x, copies), np.tile(w, copies), confidence=confidence)
    for estimate in (small, big):
        assert 0 <= estimate.low <= estimate.value <= estimate.high <= 1
        assert estimate.n_eff <= estimate.n * (1 + 1e-12)
    assert big.value == pytest.approx(small.value)
    assert big.high - big.low < small.high - small.low


@given(
    st.data(),
    st.integers(2, 40),
    st.integers(2, 4),
)
def test_mean_interval_contains_the_estimate_and_narrows_with_n(
    data: st.DataObject, n: int, copies: int
) -> None:
    y = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 10)))
    w = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.1, 10.0)))
    small = weighted_mean(y, w)
    big = weighted_mean(np.tile(y, copies), np.tile(w, copies))
    for estimate in (small, big):
        assert estimate.low <= estimate.value <= estimate.high
    assert big.high - big.low <= small.high - small.low + 1e-12
    if small.high - small.low > 1e-9:
        assert big.high - big.low < small.high - small.low


def test_share_interval_covers_the_truth_at_the_nominal_rate() -> None:
    # 2000 samples of 400 from a population with share 0.3, with unequal weights drawn
    # independently of the answer (deff ≈ 1.2); the 95 % interval should cover about 95 %.
    rng = np.random.default_rng(20261201)
    reps, n, truth = 2000, 400, 0.3
    x = rng.random((reps, n)) < truth
    w = rng.choice([0.5, 1.0, 2.0], size=(reps, n))
    estimates = [weighted_share(xi, wi) for xi, wi in zip(x, w, strict=True)]
    covered = np.mean([e.low <= truth <= e.high for e in estimates])
    assert 0.93 <= covered <= 0.97
