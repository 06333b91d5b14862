"""Plan pages (顶层设计): the cities a user plans for with their saved plans, a city's scores and
solve form with the roadmap, budget and trajectory charts, a saved plan, scenarios.

Thin: the work is in ``cityloop.services.plan`` and ``cityloop.services.plan_scenarios``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.i18n import current_language, pick, t
from cityloop.planning.project_types import PlanType
from cityloop.planning.scoring import FACTORS
from cityloop.services import plan as service
from cityloop.services import plan_scenarios
from cityloop.services.plan_export import plan_workbook
from cityloop.services.plan_settings import PlanSettings, plan_settings, settings_from_form
from cityloop.services.plan_view import PlanView
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.plan_charts import chart_data
from cityloop.web.templating import render

router = APIRouter()
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def unit_name(request: Request, code: str) -> str:
    row = units_of(request).table.loc[code]
    return pick({"zh": str(row["name_zh"]), "en": str(row.get("name_en") or "")})


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, values.get("csrf_token", ""))
    return values


def result_context(view: PlanView, settings: PlanSettings, *, editable: bool) -> dict[str, Any]:
    """What ``_plan_result.html`` needs: the view, its charts and the settings to re-send."""
    return {
        "view": view,
        "charts": chart_data(view),
        "settings_json": json.dumps(settings.model_dump(mode="json"), ensure_ascii=False),
        "editable": editable,
    }


# -- the index -----------------------------------------------------------------------------------


@router.get("/plan", response_class=HTMLResponse, include_in_schema=False)
def plan_index(request: Request, principal: Reader) -> HTMLResponse:
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    table = units.table
    cities = sorted(str(c) for c in table.index[table["level"] != "province"] if c in seen)
    plans = service.plans_of(db_of(request), cities)
    by_unit: dict[str, list[service.SavedPlan]] = {}
    for p in plans:
        by_unit.setdefault(p.unit, []).append(p)
    context = {
        "cities": [(c, unit_name(request, c)) for c in cities],
        "plans": by_unit,
        "planner": can(principal.role, Action.PLAN_PROGRAMME),
    }
    return render(request, "plan_index.html", context)


# -- one city: scores, the solve form and its result -------------------------------------------


def unit_page(
    request: Request, principal: Principal, code: str, settings: PlanSettings,
    result: dict[str, Any] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    rows = service.score_plan(db_of(request), code, settings)
    context = {
        "code": code,
        "name": unit_name(request, code),
        "settings": settings,
        "rows": sorted(rows, key=lambda r: (r.rank or 0, r.code)),
        "planner": can(principal.role, Action.PLAN_PROGRAMME),
        "plan_types": [p.value for p in PlanType],
        "factors": FACTORS,
        "result": result,
    }
    return render(request, "plan_unit.html", context, status)


@router.get("/plan/units/{code}", response_class=HTMLResponse, include_in_schema=False)
def plan_unit(request: Request, principal: Reader, code: str, shares: str = "") -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    if shares == "diagnosis":
        settings = service.suggested_settings(db_of(request), code)
    else:
        settings = PlanSettings()
    return unit_page(request, principal, code, settings)


@router.post("/plan/units/{code}/solve", response_class=HTMLResponse, include_in_schema=False)
async def plan_solve(request: Request, principal: Planner, code: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    settings = settings_from_form(await _form(request))
    view = service.solve_plan(db_of(request), code, settings)
    context = result_context(view, settings, editable=True) | {"code": code}
    if "hx-request" in request.headers:
        return render(request, "_plan_result.html", context)
    return unit_page(request, principal, code, settings, context)


@router.post("/plan/units/{code}/why-not", response_class=HTMLResponse, include_in_schema=False)
async def plan_why_not(request: Request, principal: Planner, code: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    form = await _form(request)
    settings = plan_settings(json.loads(form.get("settings_json") or "{}"))
    found = service.bring_in(db_of(request), code, settings, form.get("project", ""))
    return render(request, "_plan_why_not.html", {"b": found})


@router.post("/plan/units/{code}/save", include_in_schema=False)
async def plan_save(request: Request, principal: Planner, code: str) -> Response:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    form = await _form(request)
    settings = plan_settings(json.loads(form.get("settings_json") or "{}"))
    view = service.solve_plan(db_of(request), code, settings)
    saved = service.save_plan(
        db_of(request), view, settings, form.get("name", ""), actor=principal.username
    )
    target = f"/plan/saved/{saved.id}"
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# -- saved plans and scenarios ---------------------------------------------------------------------


def saved_plan(request: Request, principal: Principal, plan_id: int) -> service.SavedPlan:
    """The plan if it exists (404) and its unit is within the user's regions (403)."""
    try:
        found = service.plan(db_of(request), plan_id)
    except service.PlanNotFoundError as missing:
        raise HTTPException(status_code=404, detail=missing.render()) from None
    authorise_unit(request, principal, Action.VIEW_PLANS, found.unit)
    return found


@router.get("/plan/saved/{plan_id}", response_class=HTMLResponse, include_in_schema=False)
def plan_detail(request: Request, principal: Reader, plan_id: int) -> HTMLResponse:
    found = saved_plan(request, principal, plan_id)
    context = result_context(found.view, found.settings, editable=False) | {
        "saved": found,
        "code": found.unit,
        "name": unit_name(request, found.unit),
    }
    return render(request, "plan_detail.html", context)


@router.get("/plan/saved/{plan_id}/export.xlsx", include_in_schema=False)
def plan_export(request: Request, principal: Reader, plan_id: int) -> Response:
    found = saved_plan(request, principal, plan_id)
    content = plan_workbook(found.view, found.settings, found.name, current_language())
    filename = f"plan-{found.id}-{found.unit}.xlsx"
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/plan/units/{code}/scenarios", response_class=HTMLResponse, include_in_schema=False)
def plan_scenarios_page(
    request: Request,
    principal: Planner,
    code: str,
    budget: str = "",
    staff: str = "",
    phase_years: str = "",
    mandatory: str = "",
) -> HTMLResponse:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    form = {"budget": budget, "staff": staff, "phase_years": phase_years}
    settings = settings_from_form(form)
    specs = plan_scenarios.default_scenarios(settings, mandatory.strip() or None)
    comparison = plan_scenarios.compare(db_of(request), code, settings, specs)
    context = {
        "code": code,
        "name": unit_name(request, code),
        "settings": settings,
        "mandatory": mandatory,
        "c": comparison,
        "projects": service.score_plan(db_of(request), code, settings),
        "chart": {
            "labels": [s.label for s in comparison.scenarios],
            "totals": [s.expected_total for s in comparison.scenarios],
            "baseline": comparison.baseline_total,
            "name": t("planweb.col.expected_total"),
        },
    }
    return render(request, "plan_scenarios.html", context)
