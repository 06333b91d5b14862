"""Portfolio optimiser: per-phase budget and staff limits, and indicator gains with caps —
known answers, their explanations and the refusal of bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cityloop.errors import InputError
from cityloop.planning import (
    BindingLimit,
    IndicatorGains,
    Phases,
    Project,
    explain_infeasibility,
    greedy_rank_and_fill,
    optimise_portfolio,
)

NAMES = ("启动实施", "持续推进", "应用拓展")


def test_phase_budget_pushes_a_project_into_the_next_phase_and_is_reported_binding() -> None:
    # Yearly budgets allow both in year 0, but each phase may spend only 5 and the last none.
    projects = [Project("a", 10, (5,), (0,)), Project("b", 9, (5,), (0,))]
    phases = Phases(years=(2, 2, 1), budget=[10] * 5, staff=[0] * 5, phase_budget=[5, 5, 0])
    result = optimise_portfolio(projects, phases)
    assert result.status == "optimal"
    assert result.objective == 19
    assert sorted(s.phase for s in result.scheduled) == sorted(NAMES[:2])
    phase_limits = {b for b in result.binding if b.phase is not None and b.resource == "budget"}
    assert phase_limits == {
        BindingLimit("budget", 0, 5.0, 5.0, NAMES[0]),
        BindingLimit("budget", 2, 5.0, 5.0, NAMES[1]),
        BindingLimit("budget", 4, 0.0, 0.0, NAMES[2]),
    }
    greedy = greedy_rank_and_fill(projects, phases)
    assert [(s.code, s.start_year) for s in greedy.scheduled] == [("a", 0), ("b", 2)]


def test_phase_staff_limit_counts_staff_years_across_the_phase() -> None:
    # 2 staff for 2 years = 4 staff-years; phase 2 allows 3, so the project must start in 4.
    projects = [Project("team", 5, (0, 0), (2, 2))]
    phases = Phases(years=(1, 2, 2), budget=[0] * 5, staff=[2] * 5, phase_staff=[9, 3, 9])
    [scheduled] = optimise_portfolio(projects, phases).scheduled
    assert scheduled.start_year in (0, 3)
    assert scheduled.start_year == greedy_rank_and_fill(projects, phases).scheduled[0].start_year


def test_mandatory_project_over_a_phase_limit_alone_is_named_with_the_phase() -> None:
    projects = [Project("hub", 1, (4,), (0,), mandatory=True)]
    phases = Phases(years=(1, 1, 1), budget=[9] * 3, staff=[0] * 3, phase_budget=[3, 3, 3])
    [conflict] = explain_infeasibility(projects, phases)
    assert conflict.key == "plan.portfolio.conflict.over_phase_limit_alone"
    assert (conflict.params["code"], conflict.params["phase"]) == ("hub", NAMES[0])
    assert optimise_portfolio(projects, phases).conflicts == (conflict,)


def test_mandatory_project_blocked_by_a_mix_of_yearly_and_phase_limits() -> None:
    # Start 0 breaks year 0's budget (2 < 3); start 1 breaks phase 2's limit (4 < 6).
    projects = [Project("mix", 1, (3, 3), (0, 0), mandatory=True)]
    phases = Phases(
        years=(1, 2), budget=[2, 9, 9], staff=[0] * 3, names=("一", "二"), phase_budget=[9, 4]
    )
    [conflict] = explain_infeasibility(projects, phases)
    assert conflict.key == "plan.portfolio.conflict.no_start_fits"
    assert conflict.params["code"] == "mix"


def test_mandatory_projects_that_together_break_a_phase_limit_are_named() -> None:
    # Each fits the phase's 6 alone; together they need 8 whatever their years.
    projects = [
        Project("a", 1, (4,), (0,), mandatory=True),
        Project("free", 1, (1,), (0,)),
        Project("b", 1, (4,), (0,), mandatory=True),
    ]
    phases = Phases(years=(2,), budget=[10, 10], staff=[0, 0], names=("全",), phase_budget=[6])
    [conflict] = optimise_portfolio(projects, phases).conflicts
    assert conflict.key == "plan.portfolio.conflict.mandatory_set"
    assert conflict.params["codes"] == "a, b"


def test_gains_count_only_up_to_the_cap() -> None:
    # Both "sensor" projects improve air quality by 6; the cap is 8, so the second adds 2,
    # less than "portal"'s own value 4: the optimum takes one sensor project and the portal.
    projects = [
        Project("sensors_a", 1, (1,), (0,)),
        Project("sensors_b", 1, (1,), (0,)),
        Project("portal", 4, (1,), (0,)),
    ]
    gains = IndicatorGains(
        gain={"sensors_a": {"air": 6.0}, "sensors_b": {"air": 6.0}}, cap={"air": 8.0}
    )
    phases = Phases(years=(1,), budget=[2], staff=[0], names=("only",))
    result = optimise_portfolio(projects, phases, gains=gains)
    assert result.objective == pytest.approx(1 + 6 + 4)
    assert "portal" in {s.code for s in result.scheduled}
    assert result.gain_by_indicator == pytest.approx({"air": 6.0})
    # The spreadsheet baseline adds gains uncapped: 7 per 万元 beats the portal's 4.
    greedy = greedy_rank_and_fill(projects, phases, gains=gains)
    assert {s.code for s in greedy.scheduled} == {"sensors_a", "sensors_b"}
    assert greedy.objective == pytest.approx(1 + 1 + 8)
    assert greedy.gain_by_indicator == pytest.approx({"air": 8.0})


def test_a_zero_cap_makes_gains_worthless() -> None:
    projects = [Project("a", 1, (1,), (0,)), Project("b", 2, (1,), (0,))]
    gains = IndicatorGains(gain={"a": {"x": 100.0}}, cap={"x": 0.0})
    phases = Phases(years=(1,), budget=[1], staff=[0], names=("only",))
    result = optimise_portfolio(projects, phases, gains=gains)
    assert [s.code for s in result.scheduled] == ["b"]
    assert result.gain_by_indicator == {"x": 0.0}


def test_without_gains_the_result_has_no_gains() -> None:
    phases = Phases(years=(1,), budget=[1], staff=[0], names=("only",))
    assert optimise_portfolio([Project("a", 1, (1,), (0,))], phases).gain_by_indicator == {}


ONE_YEAR = Phases(years=(1,), budget=[1], staff=[1], names=("x",))


@pytest.mark.parametrize(
    ("gains", "phases", "key"),
    [
        (IndicatorGains({"ghost": {"x": 1.0}}, {"x": 1.0}), ONE_YEAR, "gain_unknown_project"),
        (IndicatorGains({"a": {"y": 1.0}}, {"x": 1.0}), ONE_YEAR, "gain_without_cap"),
        (IndicatorGains({"a": {"x": -1.0}}, {"x": 1.0}), ONE_YEAR, "bad_gain"),
        (IndicatorGains({"a": {"x": float("nan")}}, {"x": 1.0}), ONE_YEAR, "bad_gain"),
        (IndicatorGains({}, {"x": float("inf")}), ONE_YEAR, "bad_cap"),
        (
            None,
            Phases(years=(1,), budget=[1], staff=[1], names=("x",), phase_budget=[1, 2]),
            "bad_phase_limit",
        ),
        (
            None,
            Phases(years=(1,), budget=[1], staff=[1], names=("x",), phase_staff=[-1]),
            "bad_phase_limit",
        ),
    ],
)
def test_bad_gains_and_phase_limits_are_refused_with_a_key(
    gains: IndicatorGains | None, phases: Phases, key: str
) -> None:
    for solve in (optimise_portfolio, greedy_rank_and_fill):
        with pytest.raises(InputError) as caught:
            solve([Project("a", 1, (1,), (1,))], phases, gains=gains)
        assert [p.key for p in caught.value.problems] == [f"plan.portfolio.{key}"]


def test_an_infinite_phase_limit_means_no_limit() -> None:
    phases = Phases(years=(1,), budget=[1], staff=[1], names=("x",), phase_budget=[np.inf])
    result = optimise_portfolio([Project("a", 1, (1,), (0,))], phases)
    assert result.objective == 1
    assert all(b.phase is None for b in result.binding)
