"""Project catalogue pages (项目库) and their JSON API: the list with filters, one project with
its edit form and reset, a city's own new project, and the Excel download and upload.

Thin: the rules are in ``cityloop.services.plan_catalogue``; every unit route is authorised.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.errors import InputError
from cityloop.i18n import current_language, t
from cityloop.planning.project_catalogue import project_record
from cityloop.planning.project_excel import number_text
from cityloop.planning.project_types import CatalogueProject, PlanType
from cityloop.services import plan_catalogue as service
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.routes.catalogue import unit_names
from cityloop.web.templating import render

router = APIRouter()
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]
FLASH = "plancat_flash"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class EffectOut(BaseModel):
    framework: str
    indicator: str
    low: float
    likely: float
    high: float


class ProjectOut(BaseModel):
    """One project as the unit sees it; ``status``: shipped, overridden or own."""

    code: str
    name: dict[str, str]
    domain: str
    description: dict[str, str]
    cost: list[float]
    staff: list[float]
    prerequisites: list[str]
    plan_types: list[str]
    applications: list[str]
    effects: list[EffectOut]
    foundation: float
    importance: float
    cycle: int
    total_cost: float
    status: str


class CatalogueOut(BaseModel):
    unit: str | None
    note: str
    projects: list[ProjectOut]


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _out(project: CatalogueProject, status: str) -> ProjectOut:
    record = project_record(project)
    return ProjectOut(**record, cycle=project.cycle, total_cost=project.total_cost, status=status)


def _view(request: Request, principal: Principal, unit: str | None) -> service.UnitCatalogue:
    if not unit:
        return service.shipped_view()
    authorise_unit(request, principal, Action.VIEW_PLANS, unit)
    return service.unit_view(db_of(request), unit)


def _project(view: service.UnitCatalogue, code: str) -> CatalogueProject:
    try:
        return view.project(code)
    except service.ProjectNotFoundError as missing:
        raise HTTPException(status_code=404, detail=missing.render()) from None


def _cities(request: Request, principal: Principal) -> list[str]:
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    table = units.table
    return [str(c) for c in table.index[table["level"] != "province"] if c in seen]


def _flash(request: Request, how: str, **params: Any) -> None:
    request.session[FLASH] = {"how": how, **params}


# -- pages ----------------------------------------------------------------------------------------


def list_page(
    request: Request, principal: Principal, unit: str | None, domain: str | None = None,
    plan_type: str | None = None, errors: list[str] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    view = _view(request, principal, unit)
    context = {
        "view": view,
        "unit": unit or None,
        "codes": view.listed(domain, plan_type),
        "chosen": {"domain": domain or "", "plan_type": plan_type or ""},
        "units": unit_names(request),
        "cities": _cities(request, principal),
        "plan_types": list(PlanType),
        "lang": current_language(),
        "planner": bool(unit) and can(principal.role, Action.PLAN_PROGRAMME),
        "flash": request.session.pop(FLASH, None),
        "errors": errors or [],
    }
    return render(request, "plan_catalogue.html", context, status)


@router.get("/plan/catalogue", response_class=HTMLResponse, include_in_schema=False)
def catalogue_page(
    request: Request,
    principal: Reader,
    unit: str | None = None,
    domain: str | None = None,
    plan_type: str | None = None,
) -> HTMLResponse:
    return list_page(request, principal, unit, domain, plan_type)


@router.get("/plan/catalogue/export.xlsx", include_in_schema=False)
def export_xlsx(request: Request, principal: Reader, unit: str | None = None) -> Response:
    if unit:
        authorise_unit(request, principal, Action.VIEW_PLANS, unit)
    content = service.export_workbook(db_of(request), unit or None, current_language())
    name = f"projects{'-' + unit if unit else ''}.xlsx"
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post("/plan/catalogue/{code}/import", include_in_schema=False)
async def import_xlsx(
    request: Request,
    principal: Planner,
    code: str,
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    data = await file.read(service.MAX_UPLOAD_BYTES + 1) if file is not None else b""
    name = (file.filename if file is not None else None) or "upload.xlsx"
    try:
        count = service.import_workbook(db_of(request), code, data, name, actor=principal.username)
    except InputError as refused:
        return list_page(request, principal, code, errors=refused.render().splitlines(), status=422)
    _flash(request, "imported", count=count)
    return RedirectResponse(f"/plan/catalogue?unit={quote(code)}", status_code=303)


def project_page(
    request: Request, principal: Principal, unit: str, project: CatalogueProject | None,
    *, values: dict[str, Any] | None = None, errors: list[str] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """One project's page with its edit form, or (``project`` None) the new-project form."""
    view = service.unit_view(db_of(request), unit)
    lang = current_language()
    context = {
        "view": view,
        "unit": unit,
        "project": project,
        "status_of": view.status.get(project.code, "own") if project else "own",
        "values": values,
        "units": unit_names(request),
        "needs": service.application_names(lang),
        "indicators": service.indicator_names(view.catalogue, lang),
        "plan_types": list(PlanType),
        "lang": lang,
        "planner": can(principal.role, Action.PLAN_PROGRAMME),
        "chart": {"years": [t("plancat.year_n", n=i + 1) for i in range(project.cycle)],
                  "cost": list(project.cost), "staff": list(project.staff),
                  "cost_label": t("plancat.head.cost"), "staff_label": t("plancat.head.staff")}
        if project else None,
        "amounts": {k: "; ".join(map(number_text, getattr(project, k))) for k in ("cost", "staff")}
        if project else {},
        "flash": request.session.pop(FLASH, None),
        "errors": errors or [],
    }  # fmt: skip
    return render(request, "plan_project.html", context, status)


def _form(request_form: Any) -> dict[str, list[str]]:
    return {k: [str(v) for v in request_form.getlist(k)] for k in request_form}


@router.get("/plan/catalogue/{code}/new", response_class=HTMLResponse, include_in_schema=False)
def new_page(request: Request, principal: Planner, code: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    return project_page(request, principal, code, None)


@router.post("/plan/catalogue/{code}/new", include_in_schema=False)
async def new_project(request: Request, principal: Planner, code: str) -> Response:
    form = _form(await request.form())
    check_csrf(request, (form.get("csrf_token") or [""])[0])
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    project_code = (form.get("code") or [""])[0].strip()
    db = db_of(request)
    try:
        if project_code in service.unit_catalogue(db, code).projects:
            raise InputError("plancat.code_taken", code=project_code)
        fields = service.form_fields(form, own=True)
        service.set_override(db, code, project_code, fields, actor=principal.username)
    except InputError as refused:
        values = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        return project_page(request, principal, code, None, values=values,
                            errors=refused.render().splitlines(), status=422)  # fmt: skip
    _flash(request, "added", code=project_code)
    return RedirectResponse(f"/plan/catalogue/{quote(code)}/{project_code}", status_code=303)


@router.get(
    "/plan/catalogue/{code}/{project}", response_class=HTMLResponse, include_in_schema=False
)
def project_view(request: Request, principal: Reader, code: str, project: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    found = _project(service.unit_view(db_of(request), code), project)
    return project_page(request, principal, code, found)


@router.post("/plan/catalogue/{code}/{project}", include_in_schema=False)
async def edit_project(request: Request, principal: Planner, code: str, project: str) -> Response:
    form = _form(await request.form())
    check_csrf(request, (form.get("csrf_token") or [""])[0])
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    view = service.unit_view(db_of(request), code)
    found = _project(view, project)
    try:
        fields = service.form_fields(form, own=view.status[project] == "own")
        service.set_override(db_of(request), code, project, fields, actor=principal.username)
    except InputError as refused:
        return project_page(request, principal, code, found,
                            errors=refused.render().splitlines(), status=422)  # fmt: skip
    _flash(request, "saved", code=project)
    return RedirectResponse(f"/plan/catalogue/{quote(code)}/{project}", status_code=303)


@router.post("/plan/catalogue/{code}/{project}/reset", include_in_schema=False)
def reset_project(
    request: Request,
    principal: Planner,
    code: str,
    project: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    own = service.unit_view(db_of(request), code).status.get(project) == "own"
    service.reset_override(db_of(request), code, project, actor=principal.username)
    _flash(request, "removed" if own else "reset", code=project)
    target = f"/plan/catalogue?unit={quote(code)}" if own else f"/plan/catalogue/{code}/{project}"
    return RedirectResponse(target, status_code=303)


# -- JSON API ------------------------------------------------------------------------------------


@router.get("/api/plan/catalogue", response_model=CatalogueOut)
def api_catalogue(request: Request, principal: Reader, unit: str | None = None) -> CatalogueOut:
    """The shipped catalogue, or (``unit``) the unit's with its changes marked."""
    view = _view(request, principal, unit)
    projects = [_out(p, view.status[p.code]) for p in view.catalogue.projects.values()]
    return CatalogueOut(unit=unit or None, note=t("plancat.illustrative"), projects=projects)


@router.get("/api/plan/catalogue/{code}/{project}", response_model=ProjectOut)
def api_project(request: Request, principal: Reader, code: str, project: str) -> ProjectOut:
    view = _view(request, principal, code)
    return _out(_project(view, project), view.status[project])


@router.put("/api/plan/catalogue/{code}/{project}", response_model=ProjectOut)
def api_set(
    request: Request,
    principal: Planner,
    code: str,
    project: str,
    fields: Annotated[dict[str, Any], Body()],
) -> ProjectOut:
    """Make the unit's version of ``project`` the shipped project changed by exactly ``fields``
    (a new code: ``fields`` is the whole own project)."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    found = service.set_override(db_of(request), code, project, fields,
                                 actor=principal.username, replace=True)  # fmt: skip
    return _out(found, service.unit_view(db_of(request), code).status[project])


@router.delete("/api/plan/catalogue/{code}/{project}", response_model=dict[str, bool])
def api_reset(request: Request, principal: Planner, code: str, project: str) -> dict[str, bool]:
    """Remove the unit's change to ``project`` (or its own project); ``removed`` says whether
    there was one."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    removed = service.reset_override(db_of(request), code, project, actor=principal.username)
    return {"removed": removed}
