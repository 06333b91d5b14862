"""Scenarios side by side: the same city solved again with less money, a shorter last phase or
a project forced in, and the robustness of the choice to low, likely and high effects.

The city's inputs are read once and every scenario re-solves them (no store round trips).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cityloop.evaluation.config import STAGES
from cityloop.i18n import t
from cityloop.planning.plan_gains import CASES
from cityloop.planning.portfolio_scenarios import Scenario, compare_scenarios
from cityloop.services.plan import min_shares, optimiser_input, phase_names
from cityloop.services.plan_inputs import plan_inputs, with_case
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.plan_view import PlanView, plan_view
from cityloop.store import Database

BUDGET_CUT = 0.8  # the default "budget −20 %" scenario


class ScenarioSpec(BaseModel):
    """A change to the base settings: scale budget and staff, other phase lengths, projects
    forced in or out. ``name`` is shown as typed; the defaults carry a translation key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    key: str = ""  # translation key of a default scenario's label
    budget_factor: float = Field(default=1.0, ge=0, le=10)
    staff_factor: float = Field(default=1.0, ge=0, le=10)
    phase_years: tuple[int, ...] | None = None
    add_mandatory: tuple[str, ...] = ()
    add_excluded: tuple[str, ...] = ()

    def label(self) -> str:
        return t(self.key, name=self.name) if self.key else self.name

    def applied(self, base: PlanSettings) -> PlanSettings:
        """The base settings with this scenario's changes (for packaging its result as a plan).

        Yearly limits follow ``compare_scenarios``: a shorter plan drops the years after it, a
        longer one repeats the last year's limits.
        """
        years = self.phase_years or base.phase_years
        kept = np.minimum(np.arange(sum(years)), base.horizon - 1)
        budget = np.asarray(base.yearly(base.budget, "budget"))[kept] * self.budget_factor
        staff = np.asarray(base.yearly(base.staff, "staff"))[kept] * self.staff_factor
        forced_in = (*base.mandatory, *self.add_mandatory)
        kept_out = (*base.excluded, *self.add_excluded)
        return base.model_copy(
            update={
                "phase_years": years,
                "budget": tuple(budget.tolist()),
                "staff": tuple(staff.tolist()),
                "phase_budget": _scaled(base.phase_budget, self.budget_factor),
                "phase_staff": _scaled(base.phase_staff, self.staff_factor),
                "mandatory": _ordered(forced_in, without=self.add_excluded),
                "excluded": _ordered(kept_out, without=self.add_mandatory),
            }
        )


def _ordered(codes: tuple[str, ...], *, without: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in codes if c not in without))


def _scaled(limits: tuple[float, ...] | None, factor: float) -> tuple[float, ...] | None:
    return None if limits is None else tuple(v * factor for v in limits)


class ScenarioResult(BaseModel):
    """One scenario's outcome, and how its choice differs from the base scenario's."""

    name: str
    label: str
    phase_years: list[int]
    status: str
    objective: float | None
    need_total: float
    gain_total: float
    expected_total: float | None
    stage: int
    chosen: list[str]
    added: list[str]
    dropped: list[str]
    budget_used: float
    budget_available: float


class RobustRow(BaseModel):
    """Whether a project is chosen under the low, likely and high effect cases."""

    code: str
    name: dict[str, str]
    chosen: dict[str, bool]

    @property
    def everywhere(self) -> bool:
        return all(self.chosen.values())


class ScenarioComparison(BaseModel):
    """Every scenario of one city, and the base plan's robustness to the effect case."""

    unit: str
    baseline_total: float
    scenarios: list[ScenarioResult]
    robustness: list[RobustRow]
    stage_names: list[str]


def shorter_phases(years: tuple[int, ...]) -> tuple[int, ...] | None:
    """The phases with the plan a year shorter: the last phase longer than a year loses one
    (2/2/1 → 2/1/1); None when every phase is one year long."""
    longer = [k for k, y in enumerate(years) if y > 1]
    if not longer:
        return None
    k = longer[-1]
    return (*years[:k], years[k] - 1, *years[k + 1 :])


def default_scenarios(base: PlanSettings, mandatory: str | None = None) -> list[ScenarioSpec]:
    """Base, budget −20 %, the plan a year shorter and, when given, ``mandatory`` forced in."""
    specs = [
        ScenarioSpec(name="base", key="planweb.scenario.base"),
        ScenarioSpec(name="budget_cut", key="planweb.scenario.budget_cut",
                     budget_factor=BUDGET_CUT),
    ]  # fmt: skip
    shorter = shorter_phases(base.phase_years)
    if shorter is not None:
        specs.append(
            ScenarioSpec(name="shorter", key="planweb.scenario.shorter", phase_years=shorter)
        )
    if mandatory:
        specs.append(
            ScenarioSpec(name=mandatory, key="planweb.scenario.mandatory",
                         add_mandatory=(mandatory,))
        )  # fmt: skip
    return specs


def _result(spec: ScenarioSpec, view: PlanView, base: set[str] | None) -> ScenarioResult:
    chosen = [p.code for p in view.chosen]
    end = view.trajectory[-1] if view.trajectory else None
    return ScenarioResult(
        name=spec.name, label=spec.label(), phase_years=view.phase_years, status=view.status,
        objective=view.objective, need_total=view.need_total, gain_total=view.gain_total,
        expected_total=None if end is None else end.total, stage=-1 if end is None else end.stage,
        chosen=chosen,
        added=sorted(set(chosen) - base) if base is not None else [],
        dropped=sorted(base - set(chosen)) if base is not None else [],
        budget_used=sum(u.budget_used for u in view.years),
        budget_available=sum(u.budget_available for u in view.years),
    )  # fmt: skip


def compare(
    db: Database, unit: str, base: PlanSettings, scenarios: Sequence[ScenarioSpec]
) -> ScenarioComparison:
    """Solve the scenarios with ``compare_scenarios`` (the first spec is the base, others are
    changes to it) and the base under each effect case for robustness; each plan is then
    packaged with its own trajectory so the expected scores compare."""
    read = plan_inputs(db, unit, base.framework, case=base.case, need_weight=base.need_weight)
    inputs = {case: with_case(read, case) for case in CASES}
    problems = {case: optimiser_input(inputs[case], base) for case in CASES}
    problem = problems[base.case]
    head, *rest = scenarios
    compared = compare_scenarios(
        problem.projects, problem.phases,
        [Scenario(s.name, s.budget_factor, s.staff_factor, s.phase_years, s.add_mandatory,
                  s.add_excluded) for s in rest],
        min_share=min_shares(base), share_of=base.share_of,
        gains_by_case={case: problems[case].gains for case in CASES},
        time_limit=base.time_limit, base_name=head.name,
    )  # fmt: skip
    results: list[ScenarioResult] = []
    reference: set[str] | None = None
    for spec in scenarios:
        applied = spec.applied(base)
        view = plan_view(inputs[base.case], applied, compared.results[spec.name],
                         problem.first_year, phase_names(len(applied.phase_years)))  # fmt: skip
        results.append(_result(spec, view, reference))
        if reference is None:
            reference = {p.code for p in view.chosen}
    robust = compared.robustness
    assert robust is not None  # gains were given by case
    by_case = {case: {s.code for s in robust.results[case].scheduled} for case in CASES}
    names = {p.code: {"zh": p.name_zh, "en": p.name_en} for p in read.projects}
    return ScenarioComparison(
        unit=unit,
        baseline_total=read.evaluated.total,
        scenarios=results,
        robustness=[
            RobustRow(code=c, name=names[c], chosen={k: c in by_case[k] for k in CASES})
            for c in sorted(set().union(*by_case.values()))
        ],
        stage_names=[t(f"stage.{s}") for s in STAGES],
    )
