"""Data collection pages: an officer's owed values with the form, the template and the upload;
an evaluator's completeness per department with the chase (催报) button.

Thin: every check and write is in ``cityloop.services.collection``. The JSON API is in
``collect_api`` and included here, so the app includes one router for the area.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal, Role, can
from cityloop.collection import CellsRefusedError
from cityloop.errors import InputError, Problem
from cityloop.i18n import current_language, pick, t
from cityloop.services import collection as service
from cityloop.store import Database, OriginKind, WriteCounts
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed
from cityloop.web.routes.collect_api import router as api_router
from cityloop.web.templating import render

router = APIRouter()
router.include_router(api_router)

FLASH = "collect_flash"
MAX_FORM_FIELDS = 6000  # three inputs per owed cell, plus the token and the round
FIELDS = ("value", "source", "note")


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def page_context(request: Request, principal: Principal, round_id: int | None) -> dict[str, Any]:
    """Everything the collection page shows for ``principal`` and the chosen round."""
    db = _db(request)
    round_ = service.choose_round(db, round_id)
    context: dict[str, Any] = {
        "rounds": db.rounds(),
        "round": round_,
        "errors": {},
        "when": service.shown_time,
    }
    context["flash"] = request.session.pop(FLASH, None)
    if round_ is None:
        return context
    scope = service.scope_of(db, principal, round_, datetime.now(UTC))
    progress = service.progress(db, scope)
    context.update(
        scope=scope,
        progress=progress,
        overdue=progress.overdue(scope.deadline),
        framework_title=pick(scope.framework.spec.title.as_dict()),
        officer=principal.role == Role.DATA_OFFICER,
        may_upload=can(principal.role, Action.UPLOAD_VALUES),
        may_chase=can(principal.role, Action.CHASE_DATA),
    )
    if context["officer"]:
        context["owed"] = service.owed_table(db, scope).to_dict("records")
        context["reminders"] = service.reminders_for(db, principal, scope, limit=5)
    else:
        departments = service.by_department(db, principal, scope, progress)
        context["departments"] = departments
        context["units_status"] = service.by_unit(scope, progress)
        context["chart"] = {
            "names": [d.name for d in departments],
            "shares": [round(d.share * 100, 1) for d in departments],
            "missing": [d.missing for d in departments],
            "label": t("collect.share"),
        }
    return context


def collect_page(
    request: Request,
    principal: Principal,
    round_id: int | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    context = page_context(request, principal, round_id)
    return render(request, "collect.html", {**context, **extra}, status)


def saved(request: Request, round_id: int, counts: WriteCounts, how: str) -> Response:
    """Remember the counts for the next page and go there (a reload does not post again)."""
    request.session[FLASH] = {"how": how, **asdict(counts)}
    return RedirectResponse(f"/collect?round={round_id}", status_code=303)


@router.get("/collect", response_class=HTMLResponse, include_in_schema=False)
def collect(
    request: Request,
    principal: Annotated[Principal, allowed(Action.VIEW_VALUES)],
    round: int | None = None,
) -> HTMLResponse:
    return collect_page(request, principal, round)


@router.post("/collect/values", include_in_schema=False)
async def enter_values(
    request: Request, principal: Annotated[Principal, allowed(Action.ENTER_VALUES)]
) -> Response:
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    token = form.get("csrf_token")
    check_csrf(request, token if isinstance(token, str) else None)
    round_id = _int(form.get("round"))
    # Inputs are named "value|unit|indicator" (and source, note): one cell per unit+indicator.
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for name, given in form.multi_items():
        field, _, key = name.partition("|")
        unit, _, indicator = key.partition("|")
        if field in FIELDS and unit and indicator and isinstance(given, str):
            cells.setdefault((unit, indicator), {})[field] = given
    inputs = [
        service.CellInput(unit, indicator, **fields)
        for (unit, indicator), fields in cells.items()
        if fields.get("value", "").strip()  # an empty value is no value: nothing to write
    ]
    return await run_in_threadpool(_save_form, request, principal, round_id, inputs, cells)


def _save_form(
    request: Request,
    principal: Principal,
    round_id: int | None,
    inputs: list[service.CellInput],
    submitted: dict[tuple[str, str], dict[str, str]],
) -> Response:
    db = _db(request)
    round_ = service.choose_round(db, round_id)
    if round_ is None:
        raise InputError("collect.no_round")
    scope = service.scope_of(db, principal, round_, datetime.now(UTC))
    if not inputs:
        return collect_page(request, principal, round_.id, 422, form_message=t("collect.empty"))
    try:
        counts = service.save_cells(db, principal, scope, inputs, OriginKind.FORM)
    except CellsRefusedError as refused:
        errors: dict[tuple[str, str], list[str]] = {}
        listed = []
        for problem in refused.problems:
            row = problem.location.row
            cell = inputs[row] if row is not None and 0 <= row < len(inputs) else None
            field = problem.location.column or ""
            message = t(problem.key, **problem.params)
            key = (cell.unit, cell.indicator) if cell else ("", "")
            errors.setdefault(key, []).append(f"{t(f'collect.field.{field}')}：{message}")
            listed.append({"unit": key[0], "indicator": key[1], "field": field, "text": message})
        return collect_page(
            request,
            principal,
            round_.id,
            403 if refused.denied else 422,
            errors=errors,
            form_errors=listed,
            submitted=submitted,
        )
    return saved(request, round_.id, counts, "form")


@router.post("/collect/upload", include_in_schema=False)
def upload(
    request: Request,
    principal: Annotated[Principal, allowed(Action.UPLOAD_VALUES)],
    file: Annotated[UploadFile, File()],
    round: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    db = _db(request)
    round_ = service.choose_round(db, round)
    assert round_ is not None  # choose_round raises for an unknown id
    scope = service.scope_of(db, principal, round_, datetime.now(UTC))
    name = service.upload_name(file.filename)
    try:
        data = file.file.read(service.MAX_UPLOAD_BYTES + 1)
        counts = service.save_upload(db, principal, scope, data, file.filename)
    except InputError as refused:
        denied = isinstance(refused, CellsRefusedError) and refused.denied
        return collect_page(
            request,
            principal,
            round_.id,
            403 if denied else 422,
            upload_file=name,
            upload_head=refused.render().partition("\n")[0],
            upload_errors=[_located(p) for p in refused.problems],
        )
    return saved(request, round_.id, counts, "file")


def _located(problem: Problem) -> dict[str, Any]:
    where = problem.location
    return {
        "sheet": where.sheet or "",
        "row": where.row if where.row is not None else "",
        "column": where.column or "",
        "text": t(problem.key, **problem.params),
    }


@router.get("/collect/template.xlsx", include_in_schema=False)
def template(
    request: Request,
    principal: Annotated[Principal, allowed(Action.UPLOAD_VALUES)],
    round: int | None = None,
) -> Response:
    db = _db(request)
    round_ = service.choose_round(db, round)
    if round_ is None:
        raise InputError("collect.no_round")
    scope = service.scope_of(db, principal, round_, datetime.now(UTC))
    name, content = service.template_bytes(scope, current_language())
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/collect/missing", response_class=HTMLResponse, include_in_schema=False)
def missing(
    request: Request,
    principal: Annotated[Principal, allowed(Action.VIEW_VALUES)],
    round: int | None = None,
    department: str | None = None,
) -> HTMLResponse:
    """The cells still missing (of one department when given), city by city."""
    db = _db(request)
    round_ = service.choose_round(db, round)
    if round_ is None:
        raise InputError("collect.no_round")
    scope = service.scope_of(db, principal, round_, datetime.now(UTC))
    progress = service.progress(db, scope)
    names = service.unit_names(scope.units)
    rows = [
        {"unit": unit, "name": names.get(unit, unit), "indicators": codes}
        for unit, codes in service.missing_by_unit(progress, department)
    ]
    title = service.department_name(department) if department else t("collect.all_departments")
    context = {"round": round_, "department_name": title, "rows": rows}
    fragment = "hx-request" in request.headers
    return render(request, "_collect_missing.html" if fragment else "collect_missing.html", context)


@router.post("/collect/remind", include_in_schema=False)
def remind(
    request: Request,
    principal: Annotated[Principal, allowed(Action.CHASE_DATA)],
    round: Annotated[int, Form()],
    department: Annotated[str, Form(max_length=64)],
    message: Annotated[str, Form(max_length=service.MAX_MESSAGE)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    sent = service.send_reminder(_db(request), principal, round, department, message=message)
    if "hx-request" in request.headers:
        return render(request, "_collect_reminded.html", {"sent": sent, "when": service.shown_time})
    request.session[FLASH] = {"how": "remind", "department": service.department_name(department)}
    return RedirectResponse(f"/collect?round={round}", status_code=303)


def _int(value: Any) -> int | None:
    try:
        return int(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None
