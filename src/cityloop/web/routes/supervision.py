"""Supervision pages (监督管理): the units with a programme and the start-tracking form, a unit's
programme dashboard (lights, earned value, S-curve, warnings, boundary), one tracked project
with its progress-report form.

Thin: the work is in ``cityloop.services.supervision`` and ``cityloop.services.supervision_view``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.errors import InputError
from cityloop.i18n import pick, t
from cityloop.services import supervision as service
from cityloop.services import supervision_view as view
from cityloop.services import supervision_view_form as forms
from cityloop.services.supervision_baseline import baseline_summary
from cityloop.store import Database
from cityloop.store.models import TrackingStatus
from cityloop.supervision import GateKind, RiskLevel
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.templating import render

router = APIRouter()
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]
Manager = Annotated[Principal, allowed(Action.MANAGE_PROJECTS)]
FLASH = "supervision_flash"


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def status_date(as_of: str | None) -> date:
    """The ``as_of`` query (YYYY-MM-DD), today when absent; 422 naming it when malformed."""
    if not as_of:
        return date.today()
    try:
        return date.fromisoformat(as_of)
    except ValueError:
        raise InputError("supweb.bad_date", value=as_of) from None


def unit_name(request: Request, code: str) -> str:
    row = units_of(request).table.loc[code]
    return pick({"zh": str(row["name_zh"]), "en": str(row.get("name_en") or "")})


def visible_cities(request: Request, principal: Principal) -> list[str]:
    """The non-province units the user may see, by code."""
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    table = units.table
    return sorted(str(c) for c in table.index[table["level"] != "province"] if c in seen)


async def posted_form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, values.get("csrf_token", ""))
    return values


def flash_text(request: Request) -> str | None:
    """The message a redirect left for the next page (then forgotten)."""
    flash = request.session.pop(FLASH, None)
    if not flash:
        return None
    if flash["how"] == "tracked":
        return service.tracking_summary(flash["codes"])
    if flash["how"] == "baseline":
        return baseline_summary(flash["code"], flash["changed"])
    return t("supweb.flash.reported", code=flash["code"])


# -- the index and starting to track a plan -------------------------------------------------------


@router.get("/supervision", response_class=HTMLResponse, include_in_schema=False)
def supervision_index(request: Request, principal: Reader) -> HTMLResponse:
    today = date.today()
    summaries = view.supervision_index(db_of(request), visible_cities(request, principal), today)
    context = {
        "summaries": summaries,
        "names": {s.unit: unit_name(request, s.unit) for s in summaries},
        "planner": can(principal.role, Action.PLAN_PROGRAMME),
        "departments": forms.department_choices(),
        "today": today,
    }
    return render(request, "supervision_index.html", context)


@router.post("/supervision/{code}/track", include_in_schema=False)
async def track(request: Request, principal: Planner, code: str) -> Response:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    form = await posted_form(request)
    db = db_of(request)
    plan_id = forms.checked_plan_id(form.get("plan_id"), code, db)
    added = service.track_plan(
        db, plan_id, actor=principal.username, owner_departments=forms.owners_from_form(form)
    )
    request.session[FLASH] = {"how": "tracked", "codes": added}
    return RedirectResponse(f"/supervision/{code}", status_code=303)


# -- the programme dashboard ----------------------------------------------------------------------


def dashboard_charts(board: service.Dashboard, curve: view.SCurve | None) -> dict[str, Any]:
    """The chart data of the dashboard: the light grids and the S-curve, labelled."""
    lights = {k: t(f"supervision.light.{k}") for k in ("green", "amber", "red")}

    def grid(groups: list[service.GroupLine], label: Any) -> dict[str, Any]:
        return {
            "groups": [label(g.group) for g in groups],
            "lights": [g.light for g in groups],
            "counts": [[g.projects - g.red - g.amber, g.amber, g.red] for g in groups],
            "names": [lights["green"], lights["amber"], lights["red"]],
        }

    charts: dict[str, Any] = {
        "phases": grid(board.phases, view.phase_label),
        "domains": grid(board.domains, view.domain_label),
    }
    if curve is not None:
        charts["curve"] = curve.model_dump(mode="json") | {
            "names": {k: t(f"supweb.evm.{k}") for k in ("pv", "ev", "ac", "bac")},
            "status_label": t("supweb.status_date"),
        }
    return charts


@router.get("/supervision/{code}", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request, principal: Reader, code: str, as_of: str | None = None
) -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    day = status_date(as_of)
    db = db_of(request)
    board = service.supervision_dashboard(db, code, day)
    curve = view.s_curve(db, code, day)
    rows = sorted(board.projects, key=lambda p: (view.LIGHT_ORDER[p.light], p.phase, p.code))
    warned: dict[str, int] = {}
    for w in board.warnings:
        warned[w.project] = warned.get(w.project, 0) + 1
    context = {
        "code": code,
        "name": unit_name(request, code),
        "board": board,
        "rows": rows,
        "warned": warned,
        "curve": curve,
        "charts": dashboard_charts(board, curve),
        "phase_label": view.phase_label,
        "domain_label": view.domain_label,
        "department_label": view.department_label,
        "money": view.money_text,
        "index": view.index_text,
        "manager": can(principal.role, Action.MANAGE_PROJECTS),
        "flash": flash_text(request),
        "plans": [] if board.projects else view.supervision_index(db, [code], day),
        "planner": can(principal.role, Action.PLAN_PROGRAMME),
        "departments": forms.department_choices(),
    }
    return render(request, "supervision_dashboard.html", context)


# -- one project and its progress report ----------------------------------------------------------


def project_page(
    request: Request, principal: Principal, code: str, project: str, day: date,
    form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    db = db_of(request)
    detail = view.project_detail(db, code, project, day)
    stored = db.tracking.project(code, project)
    editable = can(principal.role, Action.MANAGE_PROJECTS) and service.may_update(principal, stored)
    context = {
        "code": code,
        "name": unit_name(request, code),
        "p": detail,
        "editable": editable,
        "form": form or {},
        "errors": errors or {},
        "today": date.today(),
        "gate_label": lambda kind: GateKind(kind).label(),
        "risk_levels": [(r.value, r.label()) for r in RiskLevel],
        "statuses": [s.value for s in TrackingStatus],
        "phase_label": view.phase_label,
        "domain_label": view.domain_label,
        "department_label": view.department_label,
        "money": view.money_text,
        "index": view.index_text,
        "flash": flash_text(request),
    }
    name = "supervision_project_form.html" if "hx-request" in request.headers else None
    return render(request, name or "supervision_project.html", context, status)


@router.get(
    "/supervision/{code}/projects/{project}", response_class=HTMLResponse, include_in_schema=False
)
def project_view(
    request: Request, principal: Reader, code: str, project: str, as_of: str | None = None
) -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return project_page(request, principal, code, project, status_date(as_of))


@router.post("/supervision/{code}/projects/{project}", include_in_schema=False)
async def report_progress(
    request: Request, principal: Manager, code: str, project: str
) -> Response:
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    form = await posted_form(request)
    db = db_of(request)
    # Refused before the form is read: a foreign project's manager learns nothing from errors.
    service.own_project(db, code, project, principal)
    detail = view.project_detail(db, code, project, date.today())
    data = forms.report_from_form(form, detail)
    try:
        service.update_progress(db, code, project, data, actor=principal)
    except InputError as refused:
        errors = forms.form_errors(refused, data)
        # HTMX swaps only successful answers: the form with its errors comes back as 200.
        status = 200 if "hx-request" in request.headers else 422
        return project_page(request, principal, code, project, date.today(), form, errors, status)
    request.session[FLASH] = {"how": "reported", "code": project}
    target = f"/supervision/{code}/projects/{project}"
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
