"""Scenarios and robustness: known answers for a budget cut, a shorter phase and an added
mandatory project; a lower budget never raises the optimum; the robust core is in every case."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.planning import (
    IndicatorGains,
    Phases,
    Project,
    Scenario,
    ScheduledProject,
    assess_robustness,
    compare_scenarios,
)
from tests.planning.portfolio_cases import Instance, instances

ONE_YEAR = Phases(years=(1,), budget=[10], staff=[5], names=("only",))


def codes(scheduled: tuple[ScheduledProject, ...]) -> set[str]:
    return {s.code for s in scheduled}


def test_a_budget_cut_drops_the_lowest_value_per_cost_project() -> None:
    projects = [
        Project("a", 10, (4,), (1,)),
        Project("b", 9, (4,), (1,)),
        Project("c", 2, (2,), (1,)),
    ]
    comparison = compare_scenarios(
        projects, ONE_YEAR, [Scenario("cut", budget_factor=0.8)], mip_rel_gap=0.0
    )
    table = comparison.table
    assert list(table.index) == ["base", "cut"]
    assert table.loc["base", "objective"] == 21
    assert table.loc["cut", "dropped"] == "c"
    assert table.loc["cut", "added"] == ""
    assert table.loc["cut", "objective_change"] == -2
    assert table.loc["cut", "budget_available"] == pytest.approx(8)
    assert table.loc["cut", "projects"] == 2
    assert comparison.robustness is None


def test_a_shorter_phase_pushes_a_three_year_project_out() -> None:
    projects = [
        Project("survey", 1, (1,), (1,)),
        Project("platform", 20, (3, 3, 3), (1, 1, 1), prerequisites=("survey",)),
    ]
    phases = Phases(years=(2, 1, 1), budget=[5] * 4, staff=[2] * 4)
    comparison = compare_scenarios(
        projects, phases, [Scenario("short", phase_years=(1, 1, 1))], mip_rel_gap=0.0
    )
    assert codes(comparison.results["base"].scheduled) == {"survey", "platform"}
    assert comparison.table.loc["short", "dropped"] == "platform"
    assert len(comparison.results["short"].budget_available) == 3


def test_a_longer_phase_repeats_the_last_year_limits() -> None:
    projects = [Project("late", 5, (1, 1, 1, 1), (0,) * 4)]
    phases = Phases(years=(1, 1, 1), budget=[1, 1, 1], staff=[0] * 3)
    comparison = compare_scenarios(projects, phases, [Scenario("long", phase_years=(2, 1, 1))])
    assert comparison.table.loc["long", "added"] == "late"
    assert list(comparison.results["long"].budget_available) == [1, 1, 1, 1]


def test_an_added_mandatory_project_displaces_a_named_one() -> None:
    projects = [
        Project("a", 10, (6,), (1,)),
        Project("b", 8, (4,), (1,)),
        Project("c", 1, (6,), (1,)),
    ]
    comparison = compare_scenarios(
        projects,
        ONE_YEAR,
        [Scenario("must_c", add_mandatory=("c",)), Scenario("no_b", add_excluded=("b",))],
        mip_rel_gap=0.0,
    )
    assert comparison.table.loc["must_c", "dropped"] == "a"
    assert comparison.table.loc["must_c", "added"] == "c"
    assert comparison.table.loc["no_b", "dropped"] == "b"
    assert comparison.table.loc["no_b", "objective"] == 10


def test_bad_scenarios_are_refused_before_any_solve() -> None:
    projects = [Project("a", 1, (1,), (1,))]
    bad = [
        Scenario("base"),
        Scenario("x", budget_factor=-1),
        Scenario("y", phase_years=(1, 1)),
        Scenario("z", add_mandatory=("ghost",)),
        Scenario("w", add_mandatory=("a",), add_excluded=("a",)),
    ]
    with pytest.raises(InputError) as caught:
        compare_scenarios(projects, ONE_YEAR, bad)
    assert [p.key for p in caught.value.problems] == [
        "plan.scenario.duplicate_name",
        "plan.scenario.bad_factor",
        "plan.scenario.bad_phase_years",
        "plan.scenario.unknown_project",
        "plan.scenario.mandatory_and_excluded",
    ]


def scaled(gains: IndicatorGains, factor: float) -> IndicatorGains:
    return IndicatorGains(
        {code: {i: g * factor for i, g in row.items()} for code, row in gains.gain.items()},
        gains.cap,
    )


def test_robustness_counts_cases_and_regret_on_a_known_case() -> None:
    # "sensors" beats "portal" (value 5) only when its air-quality gain is high (8 > 5).
    projects = [Project("sensors", 0, (1,), (0,)), Project("portal", 5, (1,), (0,))]
    phases = Phases(years=(1,), budget=[1], staff=[0], names=("x",))
    likely = IndicatorGains({"sensors": {"air": 4.0}}, {"air": 10.0})
    cases = {"low": scaled(likely, 0.5), "likely": likely, "high": scaled(likely, 2.0)}
    robust = assess_robustness(projects, phases, cases, mip_rel_gap=0.0)
    assert robust.chosen_in.to_dict() == {"sensors": 1, "portal": 2}
    assert robust.core == ()
    assert robust.likely_plan_value == {"low": 5.0, "likely": 5.0, "high": 5.0}
    assert robust.regret == {"low": 0.0, "likely": 0.0, "high": pytest.approx(3.0)}
    both = compare_scenarios(projects, phases, [], gains_by_case=cases, mip_rel_gap=0.0)
    assert both.robustness is not None
    assert both.robustness.results["likely"] is both.results["base"]


def test_gain_cases_must_be_low_likely_high() -> None:
    gains = IndicatorGains({}, {})
    with pytest.raises(InputError) as caught:
        assess_robustness([Project("a", 1, (1,), (1,))], ONE_YEAR, {"likely": gains})
    assert [p.key for p in caught.value.problems] == ["plan.scenario.gain_cases"]


@settings(max_examples=20, deadline=None)
@given(instances(max_projects=7), st.floats(0.0, 1.0))
def test_a_lower_budget_never_raises_the_optimum(instance: Instance, factor: float) -> None:
    comparison = compare_scenarios(
        instance.projects,
        instance.phases,
        [Scenario("less", budget_factor=factor, staff_factor=factor)],
        min_share=instance.min_share,
        share_of=instance.share_of,
        gains=instance.gains,
        mip_rel_gap=0.0,
    )
    base, less = comparison.results["base"], comparison.results["less"]
    if base.status == "infeasible":
        assert less.status == "infeasible"
    elif less.status == "optimal":
        assert less.objective <= base.objective + 1e-6


@settings(max_examples=20, deadline=None)
@given(instances(max_projects=7, flags=False))
def test_the_robust_core_is_in_every_case_and_regret_is_not_negative(instance: Instance) -> None:
    likely = instance.gains or IndicatorGains({}, {})
    cases = {"low": scaled(likely, 0.5), "likely": likely, "high": scaled(likely, 1.5)}
    robust = assess_robustness(
        instance.projects,
        instance.phases,
        cases,
        min_share=instance.min_share,
        share_of=instance.share_of,
        mip_rel_gap=0.0,
    )
    if any(r.status != "optimal" for r in robust.results.values()):
        return
    for result in robust.results.values():
        assert set(robust.core) <= codes(result.scheduled)
    assert robust.chosen_in.between(0, 3).all()
    assert set(robust.chosen_in[robust.chosen_in == 3].index) == set(robust.core)
    for case, regret in robust.regret.items():
        assert regret >= -1e-6
        assert not math.isnan(robust.likely_plan_value[case])
