"""The supervision JSON API: the units with a programme, a unit's dashboard, its tracked projects,
one project in full, a progress report and starting to track a saved plan (OpenAPI at /docs).

The same services and checks as the pages: VIEW_PLANS to read, MANAGE_PROJECTS (and, for a
project manager, their own project) to report, PLAN_PROGRAMME to start tracking.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from cityloop.accounts import Action, Principal
from cityloop.services import supervision as service
from cityloop.services import supervision_view as view
from cityloop.services import supervision_view_form as forms
from cityloop.services.supervision import Dashboard, ProgressUpdate, ProjectLine
from cityloop.services.supervision_view import ProjectDetail, UnitSummary
from cityloop.web.guard import allowed, authorise_unit
from cityloop.web.routes.supervision import db_of, status_date, visible_cities

router = APIRouter(prefix="/api/supervision", tags=["supervision"])
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]
Manager = Annotated[Principal, allowed(Action.MANAGE_PROJECTS)]


class TrackRequest(BaseModel):
    """Start tracking saved plan ``plan_id``; ``owners`` gives projects (code) a department."""

    model_config = ConfigDict(extra="forbid")

    plan_id: int
    owners: dict[str, str] = Field(default_factory=dict)


class TrackResult(BaseModel):
    """The projects tracking added (none when the plan was tracked already) and why, in words."""

    added: list[str]
    message: str


@router.get("")
def api_index(request: Request, principal: Reader) -> list[UnitSummary]:
    """The units the user sees that have saved plans or tracked projects, with their counts."""
    return view.supervision_index(db_of(request), visible_cities(request, principal), date.today())


@router.get("/{code}")
def api_dashboard(
    request: Request, principal: Reader, code: str, as_of: date | None = None
) -> Dashboard:
    """The programme dashboard on ``as_of`` (default today): EVM, warnings, lights, boundary."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return service.supervision_dashboard(db_of(request), code, as_of or date.today())


@router.get("/{code}/projects")
def api_projects(
    request: Request, principal: Reader, code: str, as_of: date | None = None
) -> list[ProjectLine]:
    """The unit's tracked projects with their light and earned-value figures."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return service.supervision_dashboard(db_of(request), code, as_of or date.today()).projects


@router.get("/{code}/projects/{project}")
def api_project(
    request: Request, principal: Reader, code: str, project: str, as_of: str | None = None
) -> ProjectDetail:
    """One tracked project in full: baseline, payments, history, risks, figures, warnings."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return view.project_detail(db_of(request), code, project, status_date(as_of))


@router.post("/{code}/projects/{project}/progress")
def api_progress(
    request: Request, principal: Manager, code: str, project: str, body: ProgressUpdate
) -> ProjectDetail:
    """Record a progress report; the project afterwards. A project manager may report only on
    projects of their department or that they started tracking (403 otherwise)."""
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    db = db_of(request)
    service.update_progress(db, code, project, body, actor=principal)
    return view.project_detail(db, code, project, date.today())


@router.post("/{code}/track")
def api_track(request: Request, principal: Planner, code: str, body: TrackRequest) -> TrackResult:
    """Start tracking the chosen projects of one of the unit's saved plans."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    db = db_of(request)
    plan_id = forms.checked_plan_id(body.plan_id, code, db)
    added = service.track_plan(db, plan_id, actor=principal.username, owner_departments=body.owners)
    return TrackResult(added=added, message=service.tracking_summary(added))
