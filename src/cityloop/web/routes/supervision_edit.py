"""Baseline changes (变更) and the Excel progress workbook on the web: one tracked project's
change form, the template download, the upload with its result, and their JSON API.

Thin: the rules are in ``cityloop.services.supervision_baseline`` and ``supervision_excel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.accounts import Action, Principal
from cityloop.errors import InputError, Problem
from cityloop.i18n import current_language, t
from cityloop.services import supervision_view as view
from cityloop.services import supervision_view_form as forms
from cityloop.services.supervision import own_project
from cityloop.services.supervision_baseline import BaselineChange, baseline_summary, change_baseline
from cityloop.services.supervision_excel import (
    MAX_UPLOAD_BYTES,
    UploadResult,
    progress_template,
    upload_progress,
)
from cityloop.services.supervision_view import ProjectDetail
from cityloop.store.tracking import StoredProject
from cityloop.supervision import RiskLevel
from cityloop.supervision.progress_sheet import COLUMNS
from cityloop.web.auth import check_csrf
from cityloop.web.guard import ErrorOut, allowed, authorise_unit
from cityloop.web.routes.supervision import FLASH, db_of, unit_name
from cityloop.web.templating import render

router = APIRouter()
Manager = Annotated[Principal, allowed(Action.MANAGE_PROJECTS)]
UPLOAD_RESULT = "supervision_upload_result"
NEW_MILESTONE_ROWS = 2  # blank rows for new milestones; more are added by saving again
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ProblemOut(BaseModel):
    """One refused field or cell: its catalogue key, message and where it sits."""

    key: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


class RefusalOut(BaseModel):
    """A refused change or upload (422): what was wrong, every problem listed."""

    detail: str
    problems: list[ProblemOut]


class BaselineOut(BaseModel):
    """A baseline change done: the parts that changed (none: nothing differed), in words, and
    the project afterwards."""

    code: str
    changed: list[str]
    message: str
    project: ProjectDetail


class UploadOut(BaseModel):
    """An upload done: the projects that got a progress report and those left unchanged."""

    applied: list[str]
    unchanged: list[str]
    message: str


def editable_project(
    request: Request, principal: Principal, code: str, project: str
) -> StoredProject:
    """``code``'s project ``project`` if ``principal`` may change it (403 otherwise: another
    region, or a project manager's foreign project; the unit tracks no such project: 422)."""
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    return own_project(db_of(request), code, project, principal)


def refusal(refused: InputError) -> JSONResponse:
    """The API's 422 with every problem and its place."""
    body = RefusalOut(
        detail=refused.render().partition("\n")[0],
        problems=[
            ProblemOut(key=p.key, message=t(p.key, **p.params), sheet=p.location.sheet,
                       row=p.location.row, column=p.location.column)
            for p in refused.problems
        ],
    )  # fmt: skip
    return JSONResponse(body.model_dump(), status_code=422)


# -- the baseline change form ---------------------------------------------------------------------


def _differs(given: str, current: float) -> bool:
    try:
        return float(given) != current
    except ValueError:
        return True  # not a number: passed on, so that validation names the field


def baseline_from_form(
    form: Mapping[str, str], stored: StoredProject
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The ``BaselineChange`` data a posted form makes, and the form field of each entry of
    its lists (``milestones``, ``budget``, ``risks``) to place problems beside.

    The form shows the baseline as it stands; only what the user changed goes into the
    change, so that the audit log holds exactly that. A budget year emptied is dropped.
    """
    r = stored.record
    data: dict[str, Any] = {"reason": form.get("reason", "")}
    where: dict[str, list[str]] = {"milestones": [], "budget": [], "risks": []}
    owner = form.get("owner_department")
    if owner is not None and owner != (stored.owner_department or ""):
        data["owner_department"] = owner
    milestones: list[dict[str, Any]] = []
    for position, m in zip(stored.milestone_positions, r.milestones, strict=True):
        key = f"milestones.{position}"
        name = form.get(f"{key}.name", m.name).strip()
        due = form.get(f"{key}.due", m.planned_date.isoformat()).strip()
        value = form.get(f"{key}.value", f"{m.planned_value:g}").strip()
        change: dict[str, Any] = {"position": position}
        if name != m.name:
            change["name"] = name
        if due != m.planned_date.isoformat():
            change["due"] = due
        if _differs(value, m.planned_value):
            change["value"] = value
        if form.get(f"{key}.remove") == "on":
            change["remove"] = True
        if len(change) > 1:
            milestones.append(change)
            where["milestones"].append(key)
    for k in range(1, NEW_MILESTONE_ROWS + 1):
        key = f"new_milestones.{k}"
        fields = {f: form.get(f"{key}.{f}", "").strip() for f in ("name", "due", "value")}
        if any(fields.values()):
            milestones.append({f: v or None for f, v in fields.items()})
            where["milestones"].append(key)
    gates = {
        g.kind.value: form[f"gates.{g.kind.value}"].strip() for g in r.gates
        if form.get(f"gates.{g.kind.value}", g.planned_date.isoformat()).strip()
        != g.planned_date.isoformat()
    }  # fmt: skip
    budget: list[dict[str, Any]] = []
    for b in r.budget:
        given = form.get(f"budget.{b.year}")
        if given is not None and (not given.strip() or _differs(given.strip(), b.planned_cost)):
            budget.append({"year": b.year, "planned_cost": given.strip() or None})
            where["budget"].append(f"budget.{b.year}")
    year, cost = (form.get(f"new_budget.{f}", "").strip() for f in ("year", "cost"))
    if year or cost:
        budget.append({"year": year or None, "planned_cost": cost or None})
        where["budget"].append("new_budget")
    risks: list[dict[str, Any]] = []
    for risk_id, risk in zip(stored.risk_ids, r.risks, strict=True):
        key = f"risks.{risk_id}"
        text = form.get(f"{key}.text", risk.text).strip()
        level = form.get(f"{key}.level", risk.level.value)
        close = form.get(f"{key}.close") == "on"
        if close or text != risk.text or level != risk.level.value:
            risks.append({"id": risk_id, "text": text if text != risk.text else None,
                          "level": level if level != risk.level.value else None,
                          "close": close})  # fmt: skip
            where["risks"].append(key)
    new_risk = form.get("new_risk.text", "").strip()
    if new_risk:
        risks.append({"text": new_risk, "level": form.get("new_risk.level") or None})
        where["risks"].append("new_risk")
    data |= {"milestones": milestones, "gates": gates, "budget": budget, "risks": risks}
    return data, where


def _field_of(problem: Problem, where: Mapping[str, list[str]]) -> str:
    """The form field ``problem`` belongs to (``""``: the form as a whole)."""
    head, _, rest = (problem.location.column or "").partition(".")
    index = rest.partition(".")[0]
    if head in where and index.isdigit():
        # Problems number the change's list entries from 1 (``errors.entry_path``).
        entry = int(index) - 1
        keys = where[head]
        return keys[entry] if 0 <= entry < len(keys) else ""
    if head == "gates" and index:
        return f"gates.{index}"
    return head if head in ("reason", "owner_department") else ""


def form_errors(
    refused: InputError, where: Mapping[str, list[str]], code: str
) -> dict[str, list[str]]:
    """The problems of a refused change by the form field they belong to, in words."""
    found: dict[str, list[str]] = {}
    for p in refused.problems:
        field = _field_of(p, where)
        if field == "reason":
            text = t("supervision.baseline.no_reason", code=code)
        else:
            text = t(p.key, **p.params)
        found.setdefault(field, []).append(text)
    if not refused.problems:
        found[""] = [refused.render()]
    return found


def baseline_page(
    request: Request, stored: StoredProject, *, form: Mapping[str, str] | None = None,
    errors: dict[str, list[str]] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    r = stored.record
    departments = forms.department_choices()
    if stored.owner_department and stored.owner_department not in dict(departments):
        departments.append((stored.owner_department, stored.owner_department))
    context = {
        "code": stored.unit,
        "name": unit_name(request, stored.unit),
        "project": stored,
        "milestones": list(zip(stored.milestone_positions, r.milestones, strict=True)),
        "risks": list(zip(stored.risk_ids, r.risks, strict=True)),
        "new_rows": range(1, NEW_MILESTONE_ROWS + 1),
        "departments": departments,
        "risk_levels": [(level.value, level.label()) for level in RiskLevel],
        "form": form or {},
        "errors": errors or {},
    }
    return render(request, "supervision_baseline.html", context, status)


@router.get(
    "/supervision/{code}/projects/{project}/baseline",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def baseline_form(request: Request, principal: Manager, code: str, project: str) -> HTMLResponse:
    return baseline_page(request, editable_project(request, principal, code, project))


@router.post("/supervision/{code}/projects/{project}/baseline", include_in_schema=False)
async def baseline_post(request: Request, principal: Manager, code: str, project: str) -> Response:
    stored = await run_in_threadpool(editable_project, request, principal, code, project)
    posted = await request.form()
    form = {k: str(v) for k, v in posted.items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    data, where = baseline_from_form(form, stored)
    try:
        result = await run_in_threadpool(
            change_baseline, db_of(request), code, project, data, actor=principal
        )
    except InputError as refused:
        errors = form_errors(refused, where, project)
        errors.setdefault("", []).insert(0, refused.render().partition("\n")[0])
        return baseline_page(request, stored, form=form, errors=errors, status=422)
    request.session[FLASH] = {"how": "baseline", "code": project, "changed": result.changed}
    return RedirectResponse(f"/supervision/{code}/projects/{quote(project)}", status_code=303)


# -- the progress workbook: template and upload ---------------------------------------------------


@router.get("/supervision/{code}/progress.xlsx", include_in_schema=False)
def template_download(request: Request, principal: Manager, code: str) -> Response:
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    today = date.today()
    content = progress_template(
        db_of(request), code, actor=principal, lang=current_language(), today=today
    )
    name = f"progress-{code}-{today.isoformat()}.xlsx"
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


def upload_message(result: UploadResult) -> str:
    """What an upload did, in words."""
    sep = t("supervision.baseline.sep")
    return " ".join(
        t(f"supervision.upload.{how}", count=len(codes), codes=sep.join(codes))
        for how, codes in (("applied", result.applied), ("unchanged", result.unchanged))
        if codes
    ) or t("supervision.web.upload_nothing")


SHEET_COLUMNS = {c for columns in COLUMNS.values() for c in columns}


def column_label(column: str | None) -> str:
    """A workbook column as its header reads in the reader's language (else as given)."""
    if column in SHEET_COLUMNS:
        return t(f"supervision.sheet.col.{column}")
    return column or ""


def upload_page(
    request: Request, code: str, *, result: dict[str, Any] | None = None, file: str = "",
    head: str = "", problems: list[Problem] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    context = {
        "code": code,
        "name": unit_name(request, code),
        "result": result,
        "file": file,
        "head": head,
        "problems": [
            {"sheet": p.location.sheet or "", "row": p.location.row or "",
             "column": p.location.column or "", "label": column_label(p.location.column),
             "text": t(p.key, **p.params)}
            for p in problems or []
        ],
        "limit_mb": MAX_UPLOAD_BYTES >> 20,
    }  # fmt: skip
    return render(request, "supervision_upload.html", context, status)


@router.get("/supervision/{code}/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_form(request: Request, principal: Manager, code: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    return upload_page(request, code, result=request.session.pop(UPLOAD_RESULT, None))


def _read(file: UploadFile | None) -> tuple[bytes, str]:
    """At most one byte past the limit (the service then refuses the file), and its name."""
    if file is None:
        return b"", "upload.xlsx"
    return file.file.read(MAX_UPLOAD_BYTES + 1), file.filename or "upload.xlsx"


@router.post("/supervision/{code}/upload", include_in_schema=False)
def upload_post(
    request: Request,
    principal: Manager,
    code: str,
    file: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    data, name = _read(file)
    try:
        result = upload_progress(db_of(request), code, data, name, actor=principal)
    except InputError as refused:
        return upload_page(request, code, file=name, head=refused.render().partition("\n")[0],
                           problems=refused.problems, status=422)  # fmt: skip
    request.session[UPLOAD_RESULT] = {
        "file": name, "applied": result.applied, "unchanged": result.unchanged,
        "message": upload_message(result),
    }  # fmt: skip
    return RedirectResponse(f"/supervision/{code}/upload", status_code=303)


# -- JSON API -------------------------------------------------------------------------------------


@router.put(
    "/api/supervision/{code}/projects/{project}/baseline",
    response_model=BaselineOut,
    responses={403: {}, 422: {"model": RefusalOut | ErrorOut}},
    tags=["supervision"],
)
def api_baseline(
    request: Request, principal: Manager, code: str, project: str, body: BaselineChange
) -> BaselineOut | JSONResponse:
    """Change the project's baseline with its reason, all or nothing; parts left out stay as
    they are. A project manager may change only their own projects (403 otherwise)."""
    editable_project(request, principal, code, project)
    db = db_of(request)
    try:
        result = change_baseline(db, code, project, body, actor=principal)
    except InputError as refused:
        return refusal(refused)
    return BaselineOut(
        code=project, changed=result.changed, message=baseline_summary(project, result.changed),
        project=view.project_detail(db, code, project, date.today()),
    )  # fmt: skip


@router.post(
    "/api/supervision/{code}/progress-upload",
    response_model=UploadOut,
    responses={403: {}, 422: {"model": RefusalOut | ErrorOut}},
    tags=["supervision"],
)
def api_upload(
    request: Request, principal: Manager, code: str, file: Annotated[UploadFile, File()]
) -> UploadOut | JSONResponse:
    """Apply a filled progress workbook (the template of ``/supervision/{code}/progress.xlsx``),
    all or nothing; each problem names its sheet, row and column."""
    authorise_unit(request, principal, Action.MANAGE_PROJECTS, code)
    data, name = _read(file)
    try:
        result = upload_progress(db_of(request), code, data, name, actor=principal)
    except InputError as refused:
        return refusal(refused)
    return UploadOut(
        applied=result.applied, unchanged=result.unchanged, message=upload_message(result)
    )
