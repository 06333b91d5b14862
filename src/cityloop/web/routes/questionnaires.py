"""The questionnaire designer: the list of shipped and stored questionnaires, the YAML editor
with a live check (problems with their paths, or a preview as citizens will see the form), and
saving a valid draft as a new version.

Thin: listing, checking and saving are ``cityloop.services.survey_design``'s.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal
from cityloop.errors import InputError
from cityloop.services import survey_design
from cityloop.survey.questionnaire import Questionnaire
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed
from cityloop.web.routes.surveys_api import db_of, problems_out
from cityloop.web.templating import render

router = APIRouter()

SurveyManager = Annotated[Principal, allowed(Action.MANAGE_SURVEYS)]
FLASH = "questionnaire_flash"
PREVIEW_DISTRICTS = ({"code": "d01", "name_zh": "示例区", "name_en": "Example district"},)
DraftText = Annotated[str, Form(max_length=survey_design.MAX_DRAFT_CHARS)]


@router.get("/questionnaires", response_class=HTMLResponse, include_in_schema=False)
def questionnaires(request: Request, principal: SurveyManager) -> HTMLResponse:
    context = {
        "entries": survey_design.questionnaire_catalogue(db_of(request)),
        "flash": request.session.pop(FLASH, None),
    }
    return render(request, "questionnaires.html", context)


@router.get(
    "/questionnaires/{questionnaire_id}/edit",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def edit(request: Request, principal: SurveyManager, questionnaire_id: str) -> HTMLResponse:
    text, template = survey_design.draft_text(db_of(request), questionnaire_id)
    return editor(request, text, template_of=template, editing=questionnaire_id)


def editor(request: Request, text: str, status: int = 200, **extra: Any) -> HTMLResponse:
    context: dict[str, Any] = {
        "yaml_text": text,
        "template_of": None,
        "editing": None,
        "problems": [],
        **extra,
    }
    return render(request, "questionnaire_edit.html", context, status)


@router.post("/questionnaires/validate", response_class=HTMLResponse, include_in_schema=False)
def validate(
    request: Request,
    principal: SurveyManager,
    yaml_text: DraftText,
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The designer's live check (an HTMX fragment): the problems, or the form's preview.

    Always 200: the fragment *is* the answer, and HTMX swaps only successful responses.
    """
    check_csrf(request, csrf_token)
    try:
        q, notes = survey_design.check_draft(db_of(request), yaml_text)
    except InputError as refused:
        context = {"problems": problems_out(refused), "head": refused.render().partition("\n")[0]}
        return render(request, "_survey_problems.html", context)
    return render(request, "_survey_preview.html", preview_context(q, notes))


def preview_context(q: Questionnaire, notes: list[str]) -> dict[str, Any]:
    return {"spec": q.spec, "notes": notes, "districts": PREVIEW_DISTRICTS}


@router.post("/questionnaires", include_in_schema=False)
def save(
    request: Request,
    principal: SurveyManager,
    yaml_text: DraftText,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Store a valid draft as a new version; an invalid one comes back with its problems."""
    check_csrf(request, csrf_token)
    try:
        saved = survey_design.save_draft(db_of(request), yaml_text, actor=principal.username)
    except InputError as refused:
        head = refused.render().partition("\n")[0]
        return editor(request, yaml_text, 422, problems=problems_out(refused), head=head)
    request.session[FLASH] = {"id": saved.id, "version": saved.version}
    return RedirectResponse("/questionnaires", status_code=303)
