"""The public survey page (no sign-in): ``GET /s/{slug}`` shows the form, ``POST /s/{slug}``
takes a form or a JSON submission and answers only after the response is committed.

Thin: tokens, validation and the writer are ``cityloop.services.survey_collect``'s. Not under
``/api``: the signed one-time token, not the session, protects these posts.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.errors import InputError, Problem
from cityloop.i18n import t
from cityloop.services.survey_collect import (
    Collector,
    PublicSurvey,
    SurveySettings,
    SurveyUnavailableError,
)
from cityloop.store.survey_writer import Outcome
from cityloop.survey.answers import form_payload
from cityloop.web.auth import session_secret
from cityloop.web.ratelimit import RateLimiter
from cityloop.web.templating import render

router = APIRouter()

DEVICE_COOKIE = "cityloop_device"
MAX_BODY = 64 * 1024  # a whole questionnaire's answers fit many times over
FORM_FIELDS = ("token",)
REFUSED = {
    Outcome.DUPLICATE_RECEIPT: (409, "surveypub.duplicate_submission"),
    Outcome.DUPLICATE_DEVICE: (409, "surveypub.already_answered"),
    Outcome.NOT_OPEN: (410, "surveypub.closed"),
}


def collector(request: Request) -> tuple[Collector, RateLimiter]:
    """The worker's collector and rate limiter, built on first use from the app's settings
    (``app.state.survey_settings`` when a test or the benchmark set one, else the
    environment's ``CITYLOOP_SURVEY_*``)."""
    state = request.app.state
    built: tuple[Collector, RateLimiter] | None = getattr(state, "survey_collector", None)
    if built is None:
        settings = getattr(state, "survey_settings", None) or SurveySettings()
        built = (
            Collector(state.db, session_secret(state.settings), settings),
            RateLimiter(settings.rate_per_minute),
        )
        state.survey_collector = built
    return built


@router.get("/s/{slug}", include_in_schema=False)
async def survey_page(request: Request, slug: str) -> Response:
    """The form, with a fresh one-time token and (first visit) a device cookie."""
    c, _ = collector(request)
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
    """A form post (page answers) or JSON ``{token, answers}`` (201 receipt, 409, 410, 422)."""
    c, limiter = collector(request)
    as_json = request.headers.get("content-type", "").startswith("application/json")
    address = request.client.host if request.client else "-"
    if not limiter.allow(address):
        return _refuse(request, as_json, 429, "surveypub.too_many")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        return _refuse(request, as_json, 413, "surveypub.too_large")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(request, as_json, 413, "surveypub.too_large")
    try:
        survey = c.survey(slug)
    except SurveyUnavailableError as exc:
        return _refuse(request, as_json, 410 if exc.gone else 404, exc.key)
    if as_json:
        token, payload = _json_payload(body)
    else:
        form = await request.form()
        fields = {k: [str(v) for v in form.getlist(k)] for k in form}
        token = fields.get("token", [""])[0]
        payload = form_payload(survey.questionnaire, fields, ignore=FORM_FIELDS)
    try:
        receipt, written = c.submit(
            survey,
            token,
            payload,
            device_id=request.cookies.get(DEVICE_COOKIE),
            source="api" if as_json else "web",
        )
    except InputError as exc:
        return _invalid(request, c, survey, as_json, token, payload, exc)
    outcome = await asyncio.wrap_future(written)
    if outcome in REFUSED:
        status, key = REFUSED[outcome]
        return _refuse(request, as_json, status, key)
    if as_json:
        return JSONResponse({"receipt": receipt}, status_code=201)
    return render(request, "survey_thanks.html", {"survey": survey, "receipt": receipt}, 201)


def _json_payload(body: bytes) -> tuple[str, dict[str, Any]]:
    """``token`` and ``answers`` of a JSON body; anything else gives empty ones, which the
    token check then refuses with a message."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", {}
    if not isinstance(data, dict):
        return "", {}
    token, answers = data.get("token"), data.get("answers")
    return (
        token if isinstance(token, str) else "",
        answers if isinstance(answers, dict) else {},
    )


def _invalid(
    request: Request,
    c: Collector,
    survey: PublicSurvey,
    as_json: bool,
    token: str,
    payload: dict[str, Any],
    exc: InputError,
) -> Response:
    """422: each problem next to its question; the form keeps the answers and a usable token."""
    problems = exc.problems or [Problem(exc.key, exc.params)]
    if as_json:
        listed = [
            {"question": p.location.column, "message": t(p.key, **p.params)} for p in problems
        ]
        return JSONResponse({"detail": exc.render(), "problems": listed}, status_code=422)
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


def _refuse(request: Request, as_json: bool, status: int, key: str) -> Response:
    if as_json:
        return JSONResponse({"detail": t(key)}, status_code=status)
    return render(request, "survey_message.html", {"message": t(key)}, status)
