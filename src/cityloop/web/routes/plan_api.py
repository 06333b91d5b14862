"""The plan JSON API: a city's project scores, a solve, scenarios, saving a plan and reading
saved plans — the same services and checks as the pages (OpenAPI at /docs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal
from cityloop.accounts.scope import visible_units
from cityloop.services import plan as service
from cityloop.services import plan_scenarios
from cityloop.services.plan_scenarios import ScenarioComparison, ScenarioSpec
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.plan_view import PlanView, ProjectRow
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.routes.plan import db_of, saved_plan

router = APIRouter(prefix="/api/plan", tags=["plan"])
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]


class PlanSummary(BaseModel):
    """A saved plan in a list: who saved it when, its status and what it chose."""

    id: int
    unit: str
    name: str
    framework_id: str
    first_year: int
    status: str
    objective: float | None
    chosen: list[str]
    created_by: str
    created_at: datetime


class SavedPlanOut(PlanSummary):
    """A saved plan with its settings and full result."""

    settings: PlanSettings
    view: PlanView


class SaveRequest(BaseModel):
    """Solve with ``settings`` and keep the result under ``name``."""

    name: str = Field(min_length=1, max_length=service.MAX_NAME)
    settings: PlanSettings = Field(default_factory=PlanSettings)


class ScenarioRequest(BaseModel):
    """The base settings and the scenarios (default: base, budget −20 %, shorter last phase,
    and ``mandatory`` forced in when given)."""

    settings: PlanSettings = Field(default_factory=PlanSettings)
    scenarios: list[ScenarioSpec] | None = None
    mandatory: str | None = None


def summary(p: service.SavedPlan) -> PlanSummary:
    return PlanSummary(
        id=p.id, unit=p.unit, name=p.name, framework_id=p.view.framework_id,
        first_year=p.view.first_year, status=p.view.status, objective=p.view.objective,
        chosen=[r.code for r in p.view.chosen], created_by=p.created_by,
        created_at=p.created_at,
    )  # fmt: skip


def full(p: service.SavedPlan) -> SavedPlanOut:
    return SavedPlanOut(**summary(p).model_dump(), settings=p.settings, view=p.view)


@router.get("/units/{code}/scores")
def api_scores(request: Request, principal: Reader, code: str) -> list[ProjectRow]:
    """Every candidate project with its factors, need value, score gain and TOPSIS rank."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return service.score_plan(db_of(request), code)


@router.post("/units/{code}/solve")
def api_solve(request: Request, principal: Planner, code: str, settings: PlanSettings) -> PlanView:
    """Choose and phase the city's projects under ``settings``."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    return service.solve_plan(db_of(request), code, settings)


@router.post("/units/{code}/scenarios")
def api_scenarios(
    request: Request, principal: Planner, code: str, body: ScenarioRequest
) -> ScenarioComparison:
    """Scenarios side by side and the base plan's robustness to low/likely/high effects."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    specs = body.scenarios or plan_scenarios.default_scenarios(body.settings, body.mandatory)
    return plan_scenarios.compare(db_of(request), code, body.settings, specs)


@router.post("/units/{code}/plans", status_code=201)
def api_save(request: Request, principal: Planner, code: str, body: SaveRequest) -> SavedPlanOut:
    """Solve and save a plan of the city."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    view = service.solve_plan(db_of(request), code, body.settings)
    saved = service.save_plan(
        db_of(request), view, body.settings, body.name, actor=principal.username
    )
    return full(saved)


@router.get("/plans")
def api_plans(request: Request, principal: Reader, unit: str | None = None) -> list[PlanSummary]:
    """Saved plans of the units the user sees (of ``unit`` when given), newest first."""
    if unit:
        authorise_unit(request, principal, Action.VIEW_PLANS, unit)
        units = [unit]
    else:
        units = sorted(visible_units(units_of(request), principal.scope))
    return [summary(p) for p in service.plans_of(db_of(request), units)]


@router.get("/plans/{plan_id}")
def api_plan(request: Request, principal: Reader, plan_id: int) -> SavedPlanOut:
    """One saved plan with its settings and result."""
    return full(saved_plan(request, principal, plan_id))
