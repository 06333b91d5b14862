"""Bringing a left-out project in: the objective it costs equals brute force with the project
forced, the displaced projects and the extra budget are what they say, and bad codes are refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings

from cityloop.errors import InputError
from cityloop.planning import (
    BringIn,
    IndicatorGains,
    Phases,
    PortfolioResult,
    Project,
    bring_in,
    bring_in_candidates,
    optimise_portfolio,
)
from tests.planning.portfolio_cases import (
    Instance,
    brute_force,
    feasible_and_value,
    instances,
    starts_of,
)


def solve(instance: Instance) -> PortfolioResult:
    return optimise_portfolio(
        instance.projects,
        instance.phases,
        min_share=instance.min_share,
        share_of=instance.share_of,
        gains=instance.gains,
        mip_rel_gap=0.0,
    )


@settings(max_examples=25, deadline=None)
@given(instances(max_projects=6))
def test_cost_equals_brute_force_with_the_project_forced(instance: Instance) -> None:
    base = solve(instance)
    if base.status != "optimal":
        return
    left_out = [
        p.code
        for p in instance.projects
        if p.code not in {s.code for s in base.scheduled} and not p.excluded
    ]
    answers = bring_in(
        instance.projects,
        instance.phases,
        base,
        left_out,
        min_share=instance.min_share,
        share_of=instance.share_of,
        gains=instance.gains,
        mip_rel_gap=0.0,
    )
    assert [a.code for a in answers] == left_out
    best = brute_force(instance)
    assert best is not None
    for answer in answers:
        forced = instance.forced(answer.code)
        forced_best = brute_force(forced)
        if forced_best is None:
            assert not answer.fits
            assert answer.conflicts
            continue
        assert answer.fits
        assert answer.exact
        assert answer.cost == pytest.approx(best - forced_best, abs=1e-6)
        assert answer.cost_low <= answer.cost + 1e-6 <= answer.cost_high + 2e-6
        ok, value = feasible_and_value(starts_of(answer.result, instance.projects), forced)
        assert ok[0]
        assert value[0] == pytest.approx(forced_best)
        kept = {s.code for s in answer.result.scheduled}
        assert set(answer.displaced) == {s.code for s in base.scheduled} - kept
        if answer.extra_budget is not None:
            check_extra_budget_fits_beside_the_base_plan(instance, base, answer)


def check_extra_budget_fits_beside_the_base_plan(
    instance: Instance, base: PortfolioResult, answer: BringIn
) -> None:
    """With the extra money added, the base plan plus the project at the reported start is
    feasible."""
    phases = instance.phases
    extra = np.asarray(answer.extra_budget_by_year)
    assert extra.sum() == pytest.approx(answer.extra_budget)
    assert (extra >= 0).all()
    bounds = np.cumsum((0, *phases.years))[:-1]
    richer = Phases(
        years=phases.years,
        budget=np.asarray(phases.budget) + extra,
        staff=phases.staff,
        phase_budget=None
        if phases.phase_budget is None
        else np.asarray(phases.phase_budget) + np.add.reduceat(extra, bounds),
        phase_staff=phases.phase_staff,
    )
    starts = starts_of(base, instance.projects)
    starts[0, int(answer.code[1:])] = answer.extra_budget_start
    everything = replace(instance, phases=richer)
    ok, _ = feasible_and_value(starts, everything)
    assert ok[0]


def test_displacement_and_extra_budget_on_a_known_case() -> None:
    # Budget 10 a year for 2 years. Base: "road" (8 in year 0) and "park" (8 in year 1) and
    # "kiosk" (2 in year 1). "museum" (value 9) costs 6 in each of two years: forcing it in
    # drops road and park (values 10, 10) and keeps kiosk; keeping the plan and adding the
    # museum needs 4 more in one year and 6 in the other (8 + 6 - 10, 8 + 2 + 6 - 10).
    projects = [
        Project("road", 10, (8,), (0,)),
        Project("park", 10, (8,), (0,)),
        Project("kiosk", 3, (2,), (0,)),
        Project("museum", 9, (6, 6), (0, 0)),
    ]
    phases = Phases(years=(1, 1), budget=[10, 10], staff=[0, 0], names=("一", "二"))
    base = optimise_portfolio(projects, phases, mip_rel_gap=0.0)
    assert base.objective == 23
    [answer] = bring_in(projects, phases, base, ["museum"], mip_rel_gap=0.0)
    assert answer.cost == pytest.approx(23 - 12)
    assert answer.exact
    assert answer.displaced == ("park", "road")
    assert answer.start_year == 0
    assert answer.extra_budget == pytest.approx(10)
    assert answer.extra_budget_start == 0
    assert sorted(answer.extra_budget_by_year) == pytest.approx([4, 6])  # road and park swap


def test_extra_budget_counts_a_phase_limit() -> None:
    # Yearly budgets leave room, but the single phase may spend only 10 and the plan uses 8.
    projects = [Project("base", 10, (8,), (0,)), Project("extra", 1, (5,), (0,))]
    phases = Phases(years=(2,), budget=[10, 10], staff=[0, 0], names=("全",), phase_budget=[10])
    base = optimise_portfolio(projects, phases, mip_rel_gap=0.0)
    [answer] = bring_in(projects, phases, base, ["extra"], mip_rel_gap=0.0)
    assert answer.displaced == ("base",)
    assert answer.extra_budget == pytest.approx(3)


def test_staff_shortage_means_money_alone_cannot_help() -> None:
    projects = [Project("a", 10, (1,), (1,)), Project("b", 1, (1,), (1,))]
    phases = Phases(years=(1,), budget=[5], staff=[1], names=("x",))
    base = optimise_portfolio(projects, phases)
    [answer] = bring_in(projects, phases, base, ["b"])
    assert answer.fits
    assert answer.displaced == ("a",)
    assert answer.extra_budget is None


def test_a_project_that_cannot_fit_comes_back_with_the_conflict() -> None:
    projects = [Project("small", 1, (1,), (0,)), Project("huge", 50, (9,), (0,))]
    phases = Phases(years=(1,), budget=[5], staff=[0], names=("x",))
    base = optimise_portfolio(projects, phases)
    [answer] = bring_in(projects, phases, base)
    assert (answer.code, answer.fits) == ("huge", False)
    assert [c.key for c in answer.conflicts] == ["plan.portfolio.conflict.over_limit_alone"]


def test_candidates_are_the_best_left_out_by_value_plus_gains() -> None:
    projects = [Project(f"p{i}", float(i), (5,), (0,)) for i in range(6)]
    projects.append(Project("excluded", 100, (1,), (0,), excluded=True))
    gains = IndicatorGains({"p1": {"x": 10.0}}, {"x": 1.0})
    phases = Phases(years=(1,), budget=[5], staff=[0], names=("x",))
    base = optimise_portfolio(projects, phases, gains=gains)
    assert [s.code for s in base.scheduled] == ["p5"]
    assert bring_in_candidates(projects, base, top=3, gains=gains) == ("p1", "p4", "p3")
    assert len(bring_in(projects, phases, base, top=2, gains=gains)) == 2


def test_unknown_and_already_chosen_codes_are_refused() -> None:
    projects = [Project("a", 1, (1,), (0,)), Project("b", 0, (1,), (0,))]
    phases = Phases(years=(1,), budget=[1], staff=[0], names=("x",))
    base = optimise_portfolio(projects, phases)
    with pytest.raises(InputError) as caught:
        bring_in(projects, phases, base, ["a", "ghost", "b"])
    assert [(p.key, p.params["code"]) for p in caught.value.problems] == [
        ("plan.bring_in.already_in", "a"),
        ("plan.bring_in.unknown", "ghost"),
    ]
