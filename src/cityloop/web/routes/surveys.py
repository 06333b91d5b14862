"""Survey pages of the office: the list with the open and close forms, the live dashboard, answer
and margin uploads, publishing the 市民体验 score and the XLSX export.

Thin: results come from ``services.survey_dashboard``/``survey_results``, opening and closing
from ``services.survey_collect``. The designer and the JSON API are included from their modules.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.errors import InputError, Problem
from cityloop.i18n import current_language, t
from cityloop.services import survey_collect, survey_design, survey_results
from cityloop.services.collection import upload_name
from cityloop.services.survey_dashboard import survey_dashboard
from cityloop.store.surveys import SurveyRow
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.routes.questionnaires import router as designer_router
from cityloop.web.routes.surveys_api import authorised_survey, db_of, visible_surveys
from cityloop.web.routes.surveys_api import router as api_router
from cityloop.web.templating import render

router = APIRouter()
router.include_router(designer_router)
router.include_router(api_router)

SurveyViewer = Annotated[Principal, allowed(Action.VIEW_SURVEYS)]
SurveyManager = Annotated[Principal, allowed(Action.MANAGE_SURVEYS)]
FLASH = "survey_flash"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def city_names(request: Request) -> dict[str, str]:
    table = units_of(request).table
    zh = table["name_zh"].astype(str)
    en = table["name_en"].fillna("").astype(str) if "name_en" in table else zh
    lang_en = current_language() == "en"
    return {str(c): (en[c] or zh[c]) if lang_en else zh[c] for c in table.index}


def open_choices(request: Request, principal: Principal) -> dict[str, Any]:
    """The cities the user may open a survey in, and the questionnaires to open it with."""
    units = units_of(request)
    cities = units.table.index[units.table["level"] == "city"]
    seen = visible_units(units, principal.scope)
    names = city_names(request)
    return {
        "cities": sorted(
            ({"code": str(c), "name": names[str(c)]} for c in cities if c in seen),
            key=lambda c: c["code"],
        ),
        "questionnaires": survey_design.questionnaire_catalogue(db_of(request)),
        "this_year": datetime.now(UTC).year,
    }


def list_page(
    request: Request, principal: Principal, status: int = 200, **extra: Any
) -> HTMLResponse:
    manager = can(principal.role, Action.MANAGE_SURVEYS)
    context: dict[str, Any] = {
        "surveys": visible_surveys(request, principal),
        "names": city_names(request),
        "manager": manager,
        "base_url": str(request.base_url).rstrip("/"),
        "flash": request.session.pop(FLASH, None),
        "form": {},
        "errors": [],
        **(open_choices(request, principal) if manager else {}),
    }
    return render(request, "surveys.html", {**context, **extra}, status)


@router.get("/surveys", response_class=HTMLResponse, include_in_schema=False)
def surveys(request: Request, principal: SurveyViewer) -> HTMLResponse:
    return list_page(request, principal)


@router.post("/surveys", include_in_schema=False)
def open_survey(
    request: Request,
    principal: SurveyManager,
    unit: Annotated[str, Form(max_length=64)],
    questionnaire: Annotated[str, Form(max_length=200)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.MANAGE_SURVEYS, unit)
    qid, _, version = questionnaire.partition("@")
    try:
        row = survey_collect.open_survey(
            db_of(request), unit, qid, year=year, actor=principal.username, version=version or None
        )
    except InputError as refused:
        form = {"unit": unit, "questionnaire": questionnaire, "year": year}
        return list_page(request, principal, 422, form=form, errors=_listed(refused))
    request.session[FLASH] = {"how": "opened", "survey": row.id, "slug": row.slug}
    return RedirectResponse("/surveys", status_code=303)


@router.post("/surveys/{survey_id}/close", include_in_schema=False)
def close_survey(
    request: Request,
    principal: SurveyManager,
    survey_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorised_survey(request, principal, Action.MANAGE_SURVEYS, survey_id)
    survey_collect.close_survey(db_of(request), survey_id, actor=principal.username)
    request.session[FLASH] = {"how": "closed", "survey": survey_id}
    return RedirectResponse("/surveys", status_code=303)


# -- the dashboard ---------------------------------------------------------------------------------


def dashboard_page(
    request: Request, principal: Principal, row: SurveyRow, status: int = 200, **extra: Any
) -> HTMLResponse:
    context: dict[str, Any] = {
        "survey": row,
        "board": survey_dashboard(db_of(request), row.id),
        "city": city_names(request).get(row.unit, row.unit),
        "manager": can(principal.role, Action.MANAGE_SURVEYS),
        "public_url": f"{str(request.base_url).rstrip('/')}/s/{row.slug}",
        "flash": request.session.pop(FLASH, None),
        "upload_errors": [],
        **extra,
    }
    return render(request, "survey_dashboard.html", context, status)


@router.get("/surveys/{survey_id}", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, principal: SurveyViewer, survey_id: int) -> HTMLResponse:
    row = authorised_survey(request, principal, Action.VIEW_SURVEYS, survey_id)
    return dashboard_page(request, principal, row)


@router.get("/surveys/{survey_id}/live", include_in_schema=False)
def live(request: Request, principal: SurveyViewer, survey_id: int, since: int = -1) -> Response:
    """The dashboard's live part for HTMX polling; 204 (nothing to swap) while no new
    response arrived, so the charts are not drawn again for nothing."""
    row = authorised_survey(request, principal, Action.VIEW_SURVEYS, survey_id)
    if db_of(request).surveys.response_count(survey_id) == since:
        return Response(status_code=204)
    board = survey_dashboard(db_of(request), row.id)
    return render(request, "_survey_live.html", {"survey": row, "board": board})


@router.post("/surveys/{survey_id}/import", include_in_schema=False)
def import_answers(
    request: Request,
    principal: SurveyManager,
    survey_id: int,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    row = authorised_survey(request, principal, Action.MANAGE_SURVEYS, survey_id)

    def store(path: Path) -> dict[str, Any]:
        report = survey_results.import_answers(db_of(request), survey_id, path, principal.username)
        return {"how": "imported", "count": report.stored, "file": path.name}

    return _upload(request, principal, row, file, store)


@router.post("/surveys/{survey_id}/margins", include_in_schema=False)
def upload_margins(
    request: Request,
    principal: SurveyManager,
    survey_id: int,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    row = authorised_survey(request, principal, Action.MANAGE_SURVEYS, survey_id)

    def store(path: Path) -> dict[str, Any]:
        saved = survey_results.set_margins(db_of(request), survey_id, path, principal.username)
        return {"how": "margins", "variables": ", ".join(sorted(saved.margins)), "file": path.name}

    return _upload(request, principal, row, file, store)


@router.post("/surveys/{survey_id}/publish", include_in_schema=False)
def publish(
    request: Request,
    principal: SurveyManager,
    survey_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    row = authorised_survey(request, principal, Action.MANAGE_SURVEYS, survey_id)
    try:
        score = survey_results.publish_score(db_of(request), survey_id, principal.username)
    except InputError as refused:
        return dashboard_page(request, principal, row, 422, publish_errors=_listed(refused))
    request.session[FLASH] = {
        "how": "published", "indicator": score.indicator, "framework": score.framework,
        "year": score.year, "value": f"{score.value:.2f}", "unit": score.unit,
    }  # fmt: skip
    return RedirectResponse(f"/surveys/{survey_id}", status_code=303)


@router.get("/surveys/{survey_id}/export.xlsx", include_in_schema=False)
def export(request: Request, principal: SurveyViewer, survey_id: int) -> Response:
    authorised_survey(request, principal, Action.VIEW_SURVEYS, survey_id)
    name = f"survey-{survey_id}.xlsx"
    with tempfile.TemporaryDirectory(prefix="cityloop-export-") as folder:
        path = Path(folder) / name
        survey_results.export_survey(db_of(request), survey_id, path, current_language())
        content = path.read_bytes()
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# -- helpers ---------------------------------------------------------------------------------------


def _upload(
    request: Request, principal: Principal, row: SurveyRow, file: UploadFile, store: Any
) -> Response:
    """Save the upload under its own name in a private folder, hand it to ``store`` and go
    back to the dashboard; a refused file re-renders it with every problem listed."""
    name = upload_name(file.filename)
    suffix = Path(name).suffix.lower()
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    with tempfile.TemporaryDirectory(prefix="cityloop-survey-") as folder:
        try:
            if suffix not in UPLOAD_SUFFIXES or name.startswith("."):
                allowed_types = ", ".join(UPLOAD_SUFFIXES)
                raise InputError("surveyweb.upload.bad_type", file=name, allowed=allowed_types)
            if len(data) > MAX_UPLOAD_BYTES:
                raise InputError(
                    "surveyweb.upload.too_large", file=name, limit=MAX_UPLOAD_BYTES >> 20
                )
            path = Path(folder) / name
            path.write_bytes(data)
            request.session[FLASH] = store(path)
        except InputError as refused:
            # Messages name the file as stored here; the user knows it by its own name only.
            private = f"{folder}/"
            errors = [{**e, "file": e["file"].replace(private, "")} for e in _located(refused)]
            return dashboard_page(
                request,
                principal,
                row,
                422,
                upload_file=name,
                upload_head=refused.render().partition("\n")[0].replace(private, ""),
                upload_errors=errors,
            )
    return RedirectResponse(f"/surveys/{row.id}", status_code=303)


def _located(refused: InputError) -> list[dict[str, Any]]:
    """Each problem of a refused file with where it is (file, row, column) and what is wrong."""
    problems = refused.problems or [Problem(refused.key, refused.params)]
    return [
        {
            "file": p.location.file or "",
            "row": "" if p.location.row is None else p.location.row,
            "column": p.location.column or "",
            "text": t(p.key, **p.params),
        }
        for p in problems
    ]


def _listed(refused: InputError) -> list[str]:
    return [p.render() for p in refused.problems] or [refused.render()]
