"""Updating a catalogue effect range from measured effects: a hand-worked normal–normal update
and its properties (no evidence, shrinkage, narrowing, order), floors, and bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.planning.project_types import CatalogueProject, EffectRange, PlanType
from cityloop.supervision.effect_update import (
    ObservedEffect,
    update_effect_range,
    update_project_effects,
)

Z90 = 1.6448536269514722  # standard normal quantile at 0.95
PRIOR = EffectRange("gbt33356-2022", "X", low=2.0, likely=5.0, high=8.0)

effects = st.floats(min_value=-20.0, max_value=20.0, allow_nan=False)
errors = st.floats(min_value=0.05, max_value=10.0)
observations = st.lists(
    st.builds(
        ObservedEffect, unit=st.sampled_from(["C1", "C2", "C3"]), estimate=effects, std_error=errors
    ),
    max_size=6,
)


@st.composite
def priors(draw: st.DrawFn) -> EffectRange:
    low = draw(st.floats(min_value=0.0, max_value=10.0))
    likely = low + draw(st.floats(min_value=0.0, max_value=10.0))
    high = likely + draw(st.floats(min_value=0.01, max_value=10.0))
    return EffectRange("fw", "X", low, likely, high)


def test_hand_worked_update() -> None:
    # Prior sd = (8 − 2) / (2 × 1.64485) = 1.82387, precision 1 / 1.82387² = 0.300616.
    # One city measured 3 with se 1 (precision 1). Posterior precision 1.300616, so
    # mean = (5 × 0.300616 + 3 × 1) / 1.300616 = 3.46227 and sd = 1.300616^-½ = 0.876850.
    # The symmetric range shrinks by 0.876850 / 1.82387 = 0.480763: half-width 3 → 1.44229.
    result = update_effect_range(PRIOR, [ObservedEffect("C1", 3.0, 1.0)])
    assert result.prior_sd == pytest.approx(1.82387, abs=1e-5)
    assert result.posterior_sd == pytest.approx(0.876850, abs=1e-6)
    assert result.effect.likely == pytest.approx(3.46227, abs=1e-5)
    assert result.effect.low == pytest.approx(3.46227 - 1.44229, abs=1e-5)
    assert result.effect.high == pytest.approx(3.46227 + 1.44229, abs=1e-5)
    assert result.evidence == 1 and result.observed_mean == 3.0
    # Symmetric prior: low and high are the posterior's 5 % and 95 % quantiles.
    assert result.effect.high == pytest.approx(result.posterior_mean + Z90 * result.posterior_sd)


def test_precision_weighting_of_several_cities() -> None:
    # se 1 and se 2 → precisions 1 and 0.25: observed mean (4 × 1 + 9 × 0.25) / 1.25 = 5.
    result = update_effect_range(
        PRIOR, [ObservedEffect("C1", 4.0, 1.0), ObservedEffect("C2", 9.0, 2.0)]
    )
    assert result.observed_mean == pytest.approx(5.0)
    assert result.effect.likely == pytest.approx(5.0)  # prior likely is 5 too
    assert result.evidence == 2


def test_negative_evidence_is_floored_at_zero() -> None:
    result = update_effect_range(PRIOR, [ObservedEffect("C1", -10.0, 0.1)])
    assert result.posterior_mean < 0
    assert (result.effect.low, result.effect.likely) == (0.0, 0.0)
    assert result.effect.high >= 0.0


def test_asymmetric_prior_keeps_its_shape_scaled() -> None:
    prior = EffectRange("fw", "X", low=1.0, likely=2.0, high=7.0)  # 1 below, 5 above likely
    result = update_effect_range(prior, [ObservedEffect("C1", 2.0, 0.5)])
    shrink = result.posterior_sd / result.prior_sd
    assert result.effect.likely - result.effect.low == pytest.approx(1.0 * shrink)
    assert result.effect.high - result.effect.likely == pytest.approx(5.0 * shrink)


def test_a_zero_width_prior_is_held() -> None:
    point = EffectRange("fw", "X", 3.0, 3.0, 3.0)
    assert update_effect_range(point, [ObservedEffect("C1", 0.0, 1.0)]).effect == point


@given(prior=priors())
def test_no_observations_leave_the_range_unchanged(prior: EffectRange) -> None:
    result = update_effect_range(prior, [])
    assert result.effect == prior and result.evidence == 0


@given(prior=priors(), seen=observations.filter(bool))
def test_posterior_likely_lies_between_prior_and_observed(
    prior: EffectRange, seen: list[ObservedEffect]
) -> None:
    result = update_effect_range(prior, seen)
    lo, hi = sorted((prior.likely, result.observed_mean))
    assert lo - 1e-9 <= result.posterior_mean <= hi + 1e-9
    assert result.effect.likely == max(0.0, result.posterior_mean)
    assert 0.0 <= result.effect.low <= result.effect.likely <= result.effect.high


@given(
    prior=priors(),
    seen=observations,
    extra=st.builds(ObservedEffect, st.just("C9"), effects, errors),
)
def test_more_observations_narrow_the_range(
    prior: EffectRange, seen: list[ObservedEffect], extra: ObservedEffect
) -> None:
    before = update_effect_range(prior, seen)
    after = update_effect_range(prior, [*seen, extra])
    assert after.posterior_sd < before.posterior_sd
    # Before the floor, the range's width is the prior's times posterior sd / prior sd.
    width = (prior.high - prior.low) * after.posterior_sd / after.prior_sd
    assert width < prior.high - prior.low


@given(prior=priors(), seen=observations, seed=st.integers(0, 1000))
def test_order_of_observations_does_not_matter(
    prior: EffectRange, seen: list[ObservedEffect], seed: int
) -> None:
    shuffled = [seen[i] for i in np.random.default_rng(seed).permutation(len(seen))]
    a, b = update_effect_range(prior, seen), update_effect_range(prior, shuffled)
    assert (a.effect.low, a.effect.likely, a.effect.high) == pytest.approx(
        (b.effect.low, b.effect.likely, b.effect.high), rel=1e-9, abs=1e-9
    )


def test_bad_observations_are_named_by_city_and_row() -> None:
    bad = [
        ObservedEffect("C1", 1.0, 1.0),
        ObservedEffect("C2", float("nan"), 1.0),
        ObservedEffect("C3", 1.0, 0.0),
    ]
    with pytest.raises(InputError) as exc:
        update_effect_range(PRIOR, bad, coverage=1.5)
    found = [(p.key, p.params.get("unit"), p.location.row) for p in exc.value.problems]
    assert found == [
        ("outcome.update.bad_observation", "C2", 2),
        ("outcome.update.bad_observation", "C3", 3),
        ("outcome.update.bad_coverage", None, None),
    ]


def project(*effects: EffectRange) -> CatalogueProject:
    return CatalogueProject(
        code="P1",
        name_zh="城市大脑",
        name_en="City brain",
        domain="governance",
        description_zh="",
        description_en="",
        cost=(100.0,),
        staff=(2.0,),
        prerequisites=(),
        plan_types=(PlanType.INNOVATION,),
        applications=(),
        effects=effects,
        foundation=3.0,
        importance=3.0,
    )


def test_a_project_is_updated_indicator_by_indicator() -> None:
    other = replace(PRIOR, indicator="Y")
    updated = update_project_effects(project(PRIOR, other), {"X": [ObservedEffect("C1", 3.0, 1.0)]})
    assert updated.effects[0].likely == pytest.approx(3.46227, abs=1e-5)  # as worked above
    assert updated.effects[1] == other
    with pytest.raises(InputError) as exc:
        update_project_effects(project(PRIOR), {"Z": [ObservedEffect("C1", 3.0, 1.0)]})
    assert exc.value.problems[0].params == {"observed": "Z", "promised": "X"}
