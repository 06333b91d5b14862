"""Outcome assessment: the difference-in-differences estimate against hand-worked examples and
two-way fixed effects, its CI coverage in seeded simulations, the verdict rules, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cityloop.errors import InputError
from cityloop.planning.project_types import EffectRange
from cityloop.supervision.outcomes import DiDResult, Method, did_effect
from cityloop.supervision.outcomes_kernel import (
    Contrast,
    cluster_inference,
    placebo_inference,
    placebo_subsets,
    unit_changes,
)
from cityloop.supervision.outcomes_verdict import (
    Verdict,
    VerdictRules,
    assess_project,
    cost_per_unit,
)

YEARS = np.arange(2016, 2024)  # 8 years; delivery in 2020 → pre 2018–2020, post 2021–2023
DELIVERED = 2020
POST = YEARS > DELIVERED
PRE = (YEARS > DELIVERED - 3) & ~POST


def long_panel(values: np.ndarray, years: np.ndarray = YEARS, indicator: str = "X") -> pd.DataFrame:
    """A (units, years) matrix as the store's long table, units named C00, C01, …"""
    units = [f"C{i:02d}" for i in range(values.shape[0])]
    return pd.DataFrame(
        {
            "unit": np.repeat(units, years.size),
            "year": np.tile(years, len(units)),
            "indicator": indicator,
            "value": values.ravel(),
        }
    )


def names(indices: range | list[int]) -> list[str]:
    return [f"C{i:02d}" for i in indices]


def simulated_panels(
    rng: np.random.Generator, replications: int, n_units: int, treated: int, effect: float
) -> np.ndarray:
    """(replications, units, years): unit effects + year effects + N(0, 1) noise, with
    ``effect`` added to the first ``treated`` units in the post years."""
    unit_fx = rng.normal(50.0, 10.0, (replications, n_units, 1))
    year_fx = rng.normal(0.0, 2.0, (replications, 1, YEARS.size)) + 0.8 * np.arange(YEARS.size)
    values = unit_fx + year_fx + rng.normal(0.0, 1.0, (replications, n_units, YEARS.size))
    values[:, :treated, POST] += effect
    return values


def one_cohort(n_units: int, treated: int) -> Contrast:
    mask = np.arange(n_units) < treated
    return Contrast(np.zeros(n_units, np.int64), np.arange(n_units), mask, np.ones(1))


# --- hand-worked examples ------------------------------------------------------------------

HAND = pd.DataFrame(
    {
        "unit": ["A1"] * 3 + ["A2"] * 3 + ["B1"] * 3 + ["B2"] * 3,
        "year": [2019, 2020, 2021] * 4,
        "indicator": "X",
        "value": [10, 12, 20, 14, 14, 21, 10, 11, 13, 20, 21, 22],
    }
).astype({"value": float})


def test_hand_worked_two_by_two_with_welch_errors() -> None:
    result = did_effect(
        HAND, ["A1", "A2"], ["B1", "B2"], "X", 2020, pre_years=2, post_years=1, method="cluster"
    )
    # Changes (post − mean of pre): A1 20 − 11 = 9, A2 21 − 14 = 7 → treated mean 8;
    # B1 13 − 10.5 = 2.5, B2 22 − 20.5 = 1.5 → control mean 2. DiD = 8 − 2 = 6.
    assert result.estimate == pytest.approx(6.0)
    # Welch: var(9, 7) = 2, var(2.5, 1.5) = 0.5 → se² = 2/2 + 0.5/2 = 1.25.
    assert result.std_error == pytest.approx(np.sqrt(1.25))
    # Welch–Satterthwaite: 1.25² / (1²/1 + 0.25²/1) = 1.5625 / 1.0625.
    assert result.df == pytest.approx(1.5625 / 1.0625)
    half = stats.t.ppf(0.95, 1.5625 / 1.0625) * np.sqrt(1.25)
    assert (result.ci_low, result.ci_high) == pytest.approx((6.0 - half, 6.0 + half))
    # Pre slopes: A1 2, A2 0 (mean 1); B1 1, B2 1 (mean 1) → gap 0.
    assert result.pretrend.gap == pytest.approx(0.0)
    assert not result.pretrend.violated
    assert result.cohorts[0].pre_years == (2019, 2020)
    assert result.cohorts[0].post_years == (2021,)
    assert (result.n_treated, result.n_controls, result.method) == (2, 2, Method.CLUSTER)


def test_lower_is_better_flips_the_sign() -> None:
    result = did_effect(
        HAND,
        ["A1", "A2"],
        ["B1", "B2"],
        "X",
        2020,
        pre_years=2,
        post_years=1,
        method="cluster",
        direction="lower",
    )
    assert result.estimate == pytest.approx(-6.0)
    assert result.ci_high < 0


def test_placebo_interval_with_one_treated_city_by_hand() -> None:
    # 20 controls whose change is exactly 0, 1, …, 19 (pre 0, 0; post k) and a treated city
    # with change 30. Estimate = 30 − mean(0..19) = 30 − 9.5 = 20.5. Placebo for control k:
    # k − mean of the other 19 = k − (190 − k)/19 = (20k − 190)/19, from −10 to +10.
    # A 90 % interval uses order statistic k = ⌊21 × 0.05⌋ = 1 at each end: the smallest and
    # largest placebo, so CI = (20.5 − 10, 20.5 + 10) = (10.5, 30.5).
    change = np.concatenate([[30.0], np.arange(20.0)])
    values = np.column_stack([np.zeros(21), np.zeros(21), change])
    panel = long_panel(values, np.array([2019, 2020, 2021]))
    result = did_effect(panel, ["C00"], names(range(1, 21)), "X", 2020, pre_years=2, post_years=1)
    placebo = (20 * np.arange(20.0) - 190) / 19
    assert result.method is Method.PLACEBO and result.n_placebo == 20
    assert result.estimate == pytest.approx(20.5)
    assert (result.ci_low, result.ci_high) == pytest.approx((10.5, 30.5))
    assert result.df is None
    assert result.std_error == pytest.approx(placebo.std(ddof=1))


# --- two-way fixed effects -----------------------------------------------------------------


def twfe_coefficient(values: np.ndarray, treated: np.ndarray, post: np.ndarray) -> float:
    """Least squares of y on unit dummies, year dummies and treated×post (the textbook form)."""
    n_units, n_years = values.shape
    unit = np.repeat(np.eye(n_units), n_years, axis=0)
    year = np.tile(np.eye(n_years)[:, 1:], (n_units, 1))
    d = np.outer(treated, post).ravel().astype(float)
    x = np.column_stack([unit, year, d])
    return float(np.linalg.lstsq(x, values.ravel(), rcond=None)[0][-1])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_units=st.integers(4, 12),
    n_years=st.integers(2, 6),
    data=st.data(),
)
def test_two_way_fixed_effects_equal_the_two_by_two_formula(
    seed: int, n_units: int, n_years: int, data: st.DataObject
) -> None:
    values = np.random.default_rng(seed).normal(0, 5, (n_units, n_years))
    n_treated = data.draw(st.integers(1, n_units - 1))
    first_post = data.draw(st.integers(1, n_years - 1))
    treated = np.arange(n_units) < n_treated
    post = np.arange(n_years) >= first_post
    change = unit_changes(values, ~post, post)
    formula = change[treated].mean() - change[~treated].mean()
    assert formula == pytest.approx(twfe_coefficient(values, treated, post), abs=1e-8)
    estimate = change @ one_cohort(n_units, n_treated).coefficients()
    assert float(estimate) == pytest.approx(formula, abs=1e-10)


def test_did_effect_equals_two_way_fixed_effects_on_a_panel() -> None:
    values = simulated_panels(np.random.default_rng(3), 1, 12, 3, 2.0)[0]
    result = did_effect(
        long_panel(values),
        names(range(3)),
        names(range(3, 12)),
        "X",
        DELIVERED,
        post_years=3,
        method="cluster",
    )
    window = PRE | POST
    expected = twfe_coefficient(values[:, window], np.arange(12) < 3, POST[window])
    assert result.estimate == pytest.approx(expected, abs=1e-9)


# --- simulation: coverage and bias (seeded, vectorised over replications) ------------------

REPLICATIONS = 1000
EFFECT = 2.0


@pytest.mark.parametrize(
    ("treated", "method", "seed"),
    [(1, "placebo", 20261201), (8, "placebo", 20261202), (20, "cluster", 20261203)],
)
def test_planted_effect_is_covered_by_the_ci(treated: int, method: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = simulated_panels(rng, REPLICATIONS, 40, treated, EFFECT)
    change = unit_changes(values, PRE, POST)  # (replications, units)
    contrast = one_cohort(40, treated)
    if method == "placebo":
        found = placebo_inference(change, contrast, placebo_subsets(contrast, 2000, 0), 0.9)
    else:
        found = cluster_inference(change, contrast, 0.9)
    coverage = float(((found.ci_low <= EFFECT) & (found.ci_high >= EFFECT)).mean())
    print(f"{treated} treated, {method}: coverage {coverage:.3f}")  # docs/outcomes.md quotes it
    # Nominal 90 %: neither much too narrow nor uselessly wide (Monte Carlo sd ≈ 1 point).
    assert 0.85 <= coverage <= 0.95
    # Unbiased: the mean estimate is within 3 Monte Carlo standard errors of the effect.
    spread = found.estimate.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert abs(found.estimate.mean() - EFFECT) < 3 * spread


def test_the_public_function_matches_the_kernel_on_a_replication() -> None:
    values = simulated_panels(np.random.default_rng(7), 1, 40, 1, EFFECT)
    change = unit_changes(values, PRE, POST)
    contrast = one_cohort(40, 1)
    kernel = placebo_inference(change, contrast, placebo_subsets(contrast, 2000, 0), 0.9)
    result = did_effect(
        long_panel(values[0]), ["C00"], names(range(1, 40)), "X", DELIVERED, post_years=3
    )
    assert (result.estimate, result.ci_low, result.ci_high) == pytest.approx(
        (kernel.estimate[0], kernel.ci_low[0], kernel.ci_high[0])
    )


def test_a_planted_pre_trend_is_flagged_and_a_clean_panel_is_not() -> None:
    values = simulated_panels(np.random.default_rng(11), 1, 40, 1, EFFECT)[0]
    controls = names(range(1, 40))
    clean = did_effect(long_panel(values), ["C00"], controls, "X", DELIVERED, post_years=3)
    assert not clean.pretrend.violated
    values[0] += 3.0 * np.arange(YEARS.size)  # the treated city was already pulling ahead
    skewed = did_effect(long_panel(values), ["C00"], controls, "X", DELIVERED, post_years=3)
    assert skewed.pretrend.gap == pytest.approx(3.0, abs=1.0)
    assert skewed.pretrend.violated and skewed.pretrend.p_value < 0.1


# --- staggered delivery --------------------------------------------------------------------


def test_staggered_cohorts_compare_only_with_not_yet_treated_cities() -> None:
    # Noise-free: unit + year effects. C00, C01 deliver in 2018 with an effect growing by 1 a
    # year after delivery; C02, C03 deliver in 2020 with a constant effect of 2. An
    # already-treated city used as a control would drag the 2020 cohort's estimate off 2.
    values = np.arange(10.0)[:, None] * 3 + 0.5 * np.arange(YEARS.size)[None, :]
    values[:2] += np.maximum(0, YEARS - 2018)
    values[2:4, POST] += 2.0
    timing = {"C00": 2018, "C01": 2018, "C02": 2020, "C03": 2020}
    result = did_effect(
        long_panel(values),
        names(range(4)),
        names(range(4, 10)),
        "X",
        timing,
        post_years=2,
        method="placebo",
    )
    early, late = result.cohorts
    # Early cohort: post 2019, 2020 → effects 1, 2 → mean 1.5, against C02–C09.
    assert early.estimate == pytest.approx(1.5)
    assert set(early.controls) == set(names(range(2, 10)))
    assert late.estimate == pytest.approx(2.0)
    assert set(late.controls) == set(names(range(4, 10)))
    # Weighted by treated cities: (2 × 1.5 + 2 × 2) / 4 = 1.75.
    assert result.estimate == pytest.approx(1.75)
    assert result.n_treated == 4


def test_a_control_with_a_gap_is_dropped_and_listed() -> None:
    values = simulated_panels(np.random.default_rng(5), 1, 40, 1, EFFECT)[0]
    panel = long_panel(values)
    panel = panel[~((panel["unit"] == "C39") & (panel["year"] == 2019))]
    result = did_effect(panel, ["C00"], names(range(1, 40)), "X", DELIVERED)
    assert result.dropped_controls == ("C39",)
    assert result.n_controls == 38


def test_same_input_gives_the_same_result() -> None:
    values = simulated_panels(np.random.default_rng(9), 1, 40, 8, EFFECT)[0]
    args = (long_panel(values), names(range(8)), names(range(8, 40)), "X", DELIVERED)
    assert did_effect(*args) == did_effect(*args)


# --- bad input -----------------------------------------------------------------------------


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> dict[str, dict[str, object]]:
    return {p.key: p.params for p in exc.value.problems}


def test_bad_input_is_refused_with_every_problem_named() -> None:
    values = simulated_panels(np.random.default_rng(1), 1, 30, 1, EFFECT)[0]
    panel = long_panel(values)
    with pytest.raises(InputError) as exc:
        did_effect(panel, ["C00"], ["C00", "C01"], "Y", DELIVERED, pre_years=1, direction="band")
    found = problems_of(exc)
    assert found["outcome.did.indicator_absent"] == {"indicator": "Y"}
    assert found["outcome.did.control_is_treated"] == {"unit": "C00"}
    assert found["outcome.did.pre_years"] == {"years": 1}
    assert found["outcome.did.bad_direction"]["direction"] == "band"
    assert exc.value.key == "outcome.did.invalid"


def test_missing_treated_city_and_short_window_are_named() -> None:
    values = simulated_panels(np.random.default_rng(1), 1, 30, 1, EFFECT)[0]
    panel = long_panel(values)
    with pytest.raises(InputError) as exc:
        did_effect(panel, ["ZZ"], names(range(1, 30)), "X", DELIVERED)
    assert problems_of(exc)["outcome.did.treated_missing"] == {"unit": "ZZ"}
    with pytest.raises(InputError) as exc:
        did_effect(panel, ["C00"], names(range(1, 30)), "X", 2017, pre_years=3)
    assert problems_of(exc)["outcome.did.short_window"] == {
        "year": 2017,
        "first": 2015,
        "last": 2019,
        "absent": [2015],
    }
    gappy = panel[~((panel["unit"] == "C00") & (panel["year"] == 2021))]
    with pytest.raises(InputError) as exc:
        did_effect(gappy, ["C00"], names(range(1, 30)), "X", DELIVERED)
    assert problems_of(exc)["outcome.did.treated_gap"] == {"unit": "C00", "years": [2021]}


def test_too_few_controls_for_the_placebo_interval_is_refused() -> None:
    values = simulated_panels(np.random.default_rng(1), 1, 30, 1, EFFECT)[0]
    # 29 controls give 29 placebo estimates; a 95 % interval needs 2 / 0.05 − 1 = 39.
    with pytest.raises(InputError) as exc:
        did_effect(
            long_panel(values), ["C00"], names(range(1, 30)), "X", DELIVERED, confidence=0.95
        )
    assert problems_of(exc)["outcome.did.too_few_controls"] == {
        "available": 29,
        "needed": 39,
        "confidence": 0.95,
    }


# --- verdicts and cost per unit ------------------------------------------------------------

PROMISED = EffectRange("gbt33356-2022", "X", low=2.0, likely=5.0, high=8.0)


def measured(estimate: float, low: float, high: float) -> DiDResult:
    base = did_effect(
        HAND, ["A1", "A2"], ["B1", "B2"], "X", 2020, pre_years=2, post_years=1, method="cluster"
    )
    return replace(base, estimate=estimate, ci_low=low, ci_high=high)


@pytest.mark.parametrize(
    ("estimate", "low", "high", "spend", "verdict"),
    [
        (5.5, 4.0, 7.0, 100.0, Verdict.DELIVERED),  # CI covers likely 5
        (7.5, 6.0, 9.0, 100.0, Verdict.DELIVERED),  # CI above likely
        (2.5, -1.0, 6.0, 100.0, Verdict.INCONCLUSIVE),  # CI holds both 0 and 5
        (1.0, -3.0, 5.0, 9000.0, Verdict.INCONCLUSIVE),  # high spend cannot overrule it
        (3.2, 2.5, 4.0, 100.0, Verdict.WITHIN_RANGE),  # est ≥ low 2, CI below 5
        (1.0, 0.5, 1.5, 100.0, Verdict.BELOW_RANGE),  # est < 2, CI above 0
        (-2.0, -3.0, -1.0, 100.0, Verdict.BELOW_RANGE),  # a harmful effect
        (0.5, -0.5, 1.5, 100.0, Verdict.NO_EFFECT),  # est < 2, CI holds 0
        (0.5, -0.5, 1.5, 3000.0, Verdict.BIG_PLAN_SMALL_RESULT),  # 3000 万元 ≥ threshold
        (1.0, 0.5, 1.5, 3000.0, Verdict.BIG_PLAN_SMALL_RESULT),
    ],
)
def test_verdict_rules(
    estimate: float, low: float, high: float, spend: float, verdict: Verdict
) -> None:
    assert assess_project(PROMISED, measured(estimate, low, high), spend).verdict is verdict


def test_top_quantile_of_the_programme_is_high_spend() -> None:
    # Spends 100, 200, 300, 800: the 0.75 quantile is 300 + 0.25 × (800 − 300) = 425.
    programme = [100.0, 200.0, 300.0, 800.0]
    result = measured(1.0, 0.5, 1.5)
    top = assess_project(PROMISED, result, 800.0, programme_spend=programme)
    assert top.high_spend and top.verdict is Verdict.BIG_PLAN_SMALL_RESULT
    mid = assess_project(PROMISED, result, 300.0, programme_spend=programme)
    assert not mid.high_spend and mid.verdict is Verdict.BELOW_RANGE
    strict = assess_project(PROMISED, result, 800.0, rules=VerdictRules(quantile=1.0))
    assert not strict.high_spend


def test_cost_per_unit() -> None:
    assert cost_per_unit(1200.0, 4.0).per_unit == pytest.approx(300.0)  # 1200 / 4
    for effect in (0.0, -1.5, float("nan")):
        flat = cost_per_unit(1200.0, effect)
        assert flat.per_unit is None and flat.label_key == "outcome.cost.no_improvement"
    assert cost_per_unit(1200.0, 4.0).label_key is None
    with pytest.raises(InputError) as exc:
        cost_per_unit(-1.0, 4.0)
    assert problems_of(exc)["outcome.assess.bad_spend"] == {"spend": -1.0}


def test_assessment_refuses_a_mismatched_indicator() -> None:
    with pytest.raises(InputError) as exc:
        assess_project(replace(PROMISED, indicator="Y"), measured(5.0, 4.0, 6.0), 10.0)
    assert problems_of(exc)["outcome.assess.indicator_mismatch"] == {
        "promised": "Y",
        "measured": "X",
    }
