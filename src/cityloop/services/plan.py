"""The plan use-cases: solve a city's portfolio from its catalogue and evaluation, save it,
list and read saved plans, and say what would bring a left-out project in.

The web pages, the JSON API and ``cityloop plan`` all call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.i18n import t
from cityloop.planning.portfolio import optimise_portfolio
from cityloop.planning.portfolio_bring_in import bring_in as portfolio_bring_in
from cityloop.planning.portfolio_types import (
    DEFAULT_PHASE_NAMES,
    IndicatorGains,
    Phases,
    PortfolioResult,
    Project,
)
from cityloop.planning.project_types import PlanType
from cityloop.services.plan_diagnosis import diagnose
from cityloop.services.plan_inputs import PlanInputs, plan_inputs
from cityloop.services.plan_settings import PlanSettings, plan_settings
from cityloop.services.plan_view import (
    ConflictRow,
    PlanView,
    ProjectRow,
    plan_view,
    project_rows,
    project_scores,
)
from cityloop.store import Database
from cityloop.store.plans import PlanRow

MAX_NAME = 200


class PlanNotFoundError(CityLoopError):
    """No saved plan with that id."""


@dataclass(frozen=True)
class SavedPlan:
    """A stored plan: its settings and the view of its result as solved then."""

    id: int
    unit: str
    name: str
    settings: PlanSettings
    view: PlanView
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class OptimiserInput:
    """The optimiser's input built from a city's inputs and the settings."""

    projects: list[Project]
    phases: Phases
    gains: IndicatorGains
    first_year: int


def phase_names(count: int) -> tuple[str, ...]:
    """The standard three phase names (启动实施, 持续推进, 应用拓展); more phases are numbered."""
    return tuple(DEFAULT_PHASE_NAMES[k] if k < 3 else f"P{k + 1}" for k in range(count))


def optimiser_input(inputs: PlanInputs, settings: PlanSettings) -> OptimiserInput:
    """The portfolio problem: projects valued by need coverage, score gains capped per
    indicator, yearly (and per-phase) limits, forced choices; unknown codes are refused."""
    known = set(inputs.codes)
    built = set(settings.built)
    fields = (
        ("mandatory", settings.mandatory),
        ("excluded", settings.excluded),
        ("built", settings.built),
    )
    problems = [
        Problem("planweb.settings.unknown_project", {"code": c, "field": name})
        for name, chosen in fields
        for c in chosen
        if c not in known
    ]
    problems += [
        Problem("planweb.settings.built_and_mandatory", {"code": c}, Location(column="built"))
        for c in settings.mandatory
        if c in built
    ]
    if problems:
        raise InputError("planweb.settings.invalid", problems)
    projects = [
        Project(
            code=p.code,
            value=float(inputs.need_value[k]),
            cost=tuple(p.cost),
            staff=tuple(p.staff),
            prerequisites=tuple(q for q in p.prerequisites if q not in built),
            plan_types=tuple(str(t) for t in p.plan_types),
            mandatory=p.code in settings.mandatory,
            excluded=p.code in settings.excluded or p.code in built,
        )
        for k, p in enumerate(inputs.projects)
    ]
    y = inputs.evaluated.yardstick
    touched = inputs.touched
    gains = IndicatorGains(
        gain={
            code: {y.codes[i]: float(inputs.gains[k, i]) for i in touched if inputs.gains[k, i]}
            for k, code in enumerate(inputs.codes)
        },
        cap={y.codes[i]: float(y.cap[i]) for i in touched},
    )
    phases = Phases(
        years=tuple(settings.phase_years),
        budget=settings.yearly(settings.budget, "budget"),
        staff=settings.yearly(settings.staff, "staff"),
        names=phase_names(len(settings.phase_years)),
        phase_budget=settings.per_phase(settings.phase_budget, "phase_budget"),
        phase_staff=settings.per_phase(settings.phase_staff, "phase_staff"),
    )
    first_year = settings.first_year or inputs.evaluated.year + 1
    return OptimiserInput(projects, phases, gains, first_year)


def solve_problem(
    inputs: PlanInputs, settings: PlanSettings
) -> tuple[OptimiserInput, PortfolioResult]:
    """The optimiser's input and its solve, for the callers that need the raw result."""
    problem = optimiser_input(inputs, settings)
    result = optimise_portfolio(
        problem.projects,
        problem.phases,
        min_share=min_shares(settings),
        share_of=settings.share_of,
        time_limit=settings.time_limit,
        gains=problem.gains,
    )
    return problem, result


def min_shares(settings: PlanSettings) -> dict[str, float]:
    return {str(k): v for k, v in settings.min_share.items()}


def solve_inputs(inputs: PlanInputs, settings: PlanSettings) -> PlanView:
    """Solve the portfolio for ready inputs and package it."""
    problem, result = solve_problem(inputs, settings)
    return plan_view(inputs, settings, result, problem.first_year, problem.phases.names)


def solve_plan(
    db: Database, unit: str, settings: PlanSettings | Mapping[str, Any] | None = None
) -> PlanView:
    """Choose and phase ``unit``'s projects under ``settings``.

    The objective is need coverage plus score gain: ``Σ_p value_p x_p + Σ_i min(cap_i,
    Σ_p gain_pi x_p)`` with value, gain and cap from ``cityloop.planning.plan_gains`` (see
    docs/plan.md). An impossible setting comes back with ``status == "infeasible"`` and the
    conflicts that explain it, not as an error.
    """
    chosen = plan_settings(settings)
    inputs = plan_inputs(
        db, unit, chosen.framework, case=chosen.case, need_weight=chosen.need_weight
    )
    return solve_inputs(inputs, chosen)


# -- saved plans ------------------------------------------------------------------------------


def _saved(row: PlanRow) -> SavedPlan:
    return SavedPlan(
        id=row.id,
        unit=row.unit,
        name=row.name,
        settings=PlanSettings.model_validate(row.settings),
        view=PlanView.model_validate(row.result),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def save_plan(
    db: Database, view: PlanView, settings: PlanSettings, name: str, *, actor: str
) -> SavedPlan:
    """Keep a solved plan under ``name`` with the settings that produced it (audited)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InputError("planweb.svc.bad_name", limit=MAX_NAME)
    if not view.chosen:
        raise InputError("planweb.svc.nothing_to_save", status=t(f"planweb.status.{view.status}"))
    stored = settings.model_copy(update={"first_year": view.first_year})
    row = db.plans.save(
        view.unit, name, view.framework_id, view.first_year,
        stored.model_dump(mode="json"), view.model_dump(mode="json"), actor=actor,
    )  # fmt: skip
    return _saved(row)


def plans_of(db: Database, units: list[str]) -> list[SavedPlan]:
    """The saved plans of ``units``, newest first."""
    return [_saved(r) for r in db.plans.list(units)]


def plan(db: Database, plan_id: int) -> SavedPlan:
    """One saved plan; ``PlanNotFoundError`` when there is none."""
    row = db.plans.get(plan_id)
    if row is None:
        raise PlanNotFoundError("planweb.svc.unknown_plan", plan=plan_id)
    return _saved(row)


def score_plan(
    db: Database, unit: str, settings: PlanSettings | Mapping[str, Any] | None = None
) -> list[ProjectRow]:
    """Every candidate project of ``unit`` with its five factors, need value, score gain and
    TOPSIS closeness and rank under the settings' factor weights (nothing is solved)."""
    chosen = plan_settings(settings)
    inputs = plan_inputs(
        db, unit, chosen.framework, case=chosen.case, need_weight=chosen.need_weight
    )
    first_year = chosen.first_year or inputs.evaluated.year + 1
    return project_rows(inputs, chosen, project_scores(inputs, chosen), {}, first_year)


@dataclass(frozen=True)
class BringIn:
    """What forcing a left-out project into the plan would do (``portfolio_bring_in``).

    ``possible`` False: no plan can include it under these limits; ``conflicts`` say why.
    Otherwise ``loss`` is the objective it costs, ``displaced`` the projects it pushes out,
    ``added`` the ones that come in with it (e.g. its prerequisites), and ``extra_budget``
    the least extra money (万元, from ``extra_budget_year``) that fits it beside the whole
    plan as it is (None when money alone cannot).
    """

    code: str
    possible: bool
    loss: float
    displaced: list[str]
    added: list[str]
    start_year: int | None
    extra_budget: float | None
    extra_budget_year: int | None
    conflicts: list[ConflictRow]


def bring_in(
    db: Database, unit: str, settings: PlanSettings | Mapping[str, Any] | None, code: str
) -> BringIn:
    """Why ``code`` is left out: solve again with it mandatory and compare with the plan."""
    chosen = plan_settings(settings)
    inputs = plan_inputs(
        db, unit, chosen.framework, case=chosen.case, need_weight=chosen.need_weight
    )
    problem, base = solve_problem(inputs, chosen)
    (found,) = portfolio_bring_in(
        problem.projects, problem.phases, base, [code], min_share=min_shares(chosen),
        share_of=chosen.share_of, gains=problem.gains, time_limit=chosen.time_limit,
    )  # fmt: skip
    year = problem.first_year
    return BringIn(
        code=code,
        possible=found.fits,
        loss=found.cost if found.fits else 0.0,
        displaced=list(found.displaced),
        added=list(found.added),
        start_year=None if found.start_year is None else year + found.start_year,
        extra_budget=found.extra_budget,
        extra_budget_year=None
        if found.extra_budget_start is None
        else year + found.extra_budget_start,
        conflicts=[ConflictRow(key=c.key, params=dict(c.params), message=c.message)
                   for c in found.conflicts],
    )  # fmt: skip


def suggested_settings(db: Database, unit: str) -> PlanSettings:
    """Default settings with the minimum plan-type shares the city's diagnosis suggests."""
    report = diagnose(db, unit)
    return PlanSettings(min_share={PlanType(k): v for k, v in report.min_share.items()})
