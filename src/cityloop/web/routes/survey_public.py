"""The public survey page (no sign-in): ``GET /s/{slug}`` shows the form, ``POST /s/{slug}``
takes the form and answers only after the response is committed.

Thin: tokens, validation and the writer are ``cityloop.services.survey_collect``'s; JSON posts
to the same path are answered by ``web.survey_submissions`` before they reach this router. Not
under ``/api``: the signed one-time token, not the session, protects these posts.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.errors import InputError, Problem
from cityloop.i18n import t
from cityloop.services.survey_collect import (
    Collector,
    PublicSurvey,
    SurveyUnavailableError,
)
from cityloop.survey.answers import form_payload
from cityloop.web.survey_submissions import DEVICE_COOKIE, MAX_BODY, REFUSED, collector
from cityloop.web.templating import render

router = APIRouter()

FORM_FIELDS = ("token",)


@router.get("/s/{slug}", include_in_schema=False)
async def survey_page(request: Request, slug: str) -> Response:
    """The form, with a fresh one-time token and (first visit) a device cookie."""
    c, _ = collector(request.app.state)
    try:
        survey = c.survey(slug)
    except SurveyUnavailableError as exc:
        return _unavailable(request, exc)
    response = _form(request, survey, c.issue_token(survey), {}, {})
    if not request.cookies.get(DEVICE_COOKIE):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    return response


@router.post("/s/{slug}", include_in_schema=False)
async def submit(request: Request, slug: str) -> Response:
    """A form post: the thank-you page with the receipt (201), the form again with each
    problem next to its question (422), or a page saying why not (409, 410, 413, 429)."""
    c, limiter = collector(request.app.state)
    address = request.client.host if request.client else "-"
    if not limiter.allow(address):
        return _refuse(request, 429, "surveypub.too_many")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        return _refuse(request, 413, "surveypub.too_large")
    if len(await request.body()) > MAX_BODY:  # a chunked body declares no length
        return _refuse(request, 413, "surveypub.too_large")
    try:
        survey = c.survey(slug)
    except SurveyUnavailableError as exc:
        return _refuse(request, 410 if exc.gone else 404, exc.key)
    form = await request.form()
    fields = {k: [str(v) for v in form.getlist(k)] for k in form}
    token = fields.get("token", [""])[0]
    payload = form_payload(survey.questionnaire, fields, ignore=FORM_FIELDS)
    try:
        receipt, outcome = await c.submit(
            survey, token, payload, device_id=request.cookies.get(DEVICE_COOKIE), source="web"
        )
    except InputError as exc:
        return _invalid(request, c, survey, token, payload, exc)
    if outcome in REFUSED:
        status, key = REFUSED[outcome]
        return _refuse(request, status, key)
    return render(request, "survey_thanks.html", {"survey": survey, "receipt": receipt}, 201)


def _invalid(
    request: Request,
    c: Collector,
    survey: PublicSurvey,
    token: str,
    payload: dict[str, Any],
    exc: InputError,
) -> Response:
    """422: each problem next to its question; the form keeps the answers and a usable token."""
    problems = exc.problems or [Problem(exc.key, exc.params)]
    errors: dict[str, str] = {}
    for p in problems:
        errors.setdefault(p.location.column or "", t(p.key, **p.params))
    try:
        c.receipt_of(survey, token)
    except InputError:
        token = c.issue_token(survey)  # the form's token was bad: the next try gets a good one
    values = {k: v if isinstance(v, list) else [str(v)] for k, v in payload.items()}
    return _form(request, survey, token, values, errors, 422)


def _form(
    request: Request,
    survey: PublicSurvey,
    token: str,
    values: dict[str, list[str]],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    spec = survey.questionnaire.spec
    context = {
        "survey": survey,
        "spec": spec,
        "token": token,
        "values": values,
        "errors": errors,
    }
    return render(request, "survey_public.html", context, status)


def _unavailable(request: Request, exc: SurveyUnavailableError) -> Response:
    status = 410 if exc.gone else 404
    return render(request, "survey_message.html", {"message": t(exc.key)}, status)


def _refuse(request: Request, status: int, key: str) -> Response:
    return render(request, "survey_message.html", {"message": t(key)}, status)
