"""Build the FastAPI application from settings; nothing connects or reads config at import.

``create_app(settings)`` wires the language switch, security headers, static files and routers.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop._version import __version__
from cityloop.accounts.sessions import SESSION_LIFETIME
from cityloop.i18n import t, use_language
from cityloop.store import Database
from cityloop.store.settings import Settings
from cityloop.web.auth import CSRF_HEADER, api_csrf_ok, session_secret
from cityloop.web.guard import ERROR_RESPONSES, install_handlers
from cityloop.web.language import language_cookie, request_language
from cityloop.web.routes import (
    catalogue,
    cities,
    ckan,
    collect,
    derived,
    frameworks,
    health,
    outcomes,
    plan,
    plan_api,
    plan_catalogue,
    plan_diagnosis,
    quality,
    ranking,
    report_evaluation,
    report_plan,
    report_supervision,
    robustness,
    runs,
    sensors,
    session,
    sharing,
    supervision,
    supervision_api,
    supervision_edit,
    survey_public,
    surveys,
    whatif,
)
from cityloop.web.survey_submissions import SurveySubmissions

# Scripts only from our own origin (ECharts and HTMX are vendored), never inline; no framing.
# Styles allow inline attributes because ECharts writes style attributes into its SVG and
# tooltips; an injected style cannot run code, an injected script is what the policy stops.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# No request body may be larger: above every route's own limit (the largest, 20 MiB, is the
# catalogue's and the survey import's), so those routes still say which file was too large,
# while a bigger body is refused before anything reads it (multipart parsing spools a whole
# upload to disk before a route sees it).
MAX_REQUEST_BYTES = 24 * 1024 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    """The CityLoop web application for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    app = FastAPI(title="CityLoop", version=__version__, docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.db = Database.open(settings)  # builds the engine; connects on first use
    static = Path(str(resources.files("cityloop.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    # The public survey routes come first: a submission then matches at the first route
    # instead of after every other one (they take the most requests by far).
    routers = (
        survey_public, health, session, frameworks, cities, ranking, collect, runs, whatif,
        robustness, surveys, quality, sensors, derived, sharing, ckan, catalogue,
        plan_catalogue, plan, plan_api, plan_diagnosis, supervision, supervision_api,
        supervision_edit, outcomes, report_plan, report_evaluation, report_supervision,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    install_handlers(app)

    # A pure ASGI middleware, not ``@app.middleware("http")``: that one runs every request in
    # an extra task with a copied body stream, which cost more CPU than a survey submission's
    # own work (measured: benchmarks/survey_load.py, docs/survey-collection.md).
    app.add_middleware(LanguageAndHeaders, hsts=settings.hsts)

    # Added last so it runs first: the session is there for everything above.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="cityloop_session",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    # Outermost of ours: JSON survey submissions are answered before sessions and routing.
    app.add_middleware(SurveySubmissions, headers=security_headers(settings.hsts))
    return app


def security_headers(hsts: bool) -> dict[str, str]:
    """The headers every response carries (HSTS only when the site is served over HTTPS)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if hsts:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


class LanguageAndHeaders:
    """Every request runs in its reader's language (``?lang=``, cookie, zh-CN), a signed-in
    session's JSON API writes need the CSRF header, no body passes ``MAX_REQUEST_BYTES``, and
    every response gets the security headers (and the language cookie when ``?lang=`` chose
    it), a server error's included."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.fixed = security_headers(hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        lang = request_language(request)
        request.state.lang = lang
        cookie = language_cookie(lang) if "lang" in request.query_params else None

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                if cookie is not None:
                    headers.append("set-cookie", cookie)
                for name, value in self.fixed.items():
                    headers[name] = value
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            # A body without Content-Length (chunked) is counted as it arrives; the route that
            # reads it gets a 413 once it passes the limit.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_REQUEST_BYTES:
                raise HTTPException(413, t("security.too_large", limit=MAX_REQUEST_BYTES >> 20))
            return message

        declared = request.headers.get("content-length", "")
        with use_language(lang):
            if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
                refusal = JSONResponse(
                    {"detail": t("security.too_large", limit=MAX_REQUEST_BYTES >> 20)}, 413
                )
                await refusal(scope, receive, send_with_headers)
            elif request.url.path.startswith("/api/") and not api_csrf_ok(request):
                refusal = JSONResponse(
                    {"detail": t("web.csrf_header_missing", header=CSRF_HEADER)}, status_code=403
                )
                await refusal(scope, receive, send_with_headers)
            else:
                try:
                    await self.app(scope, receive_limited, send_with_headers)
                except Exception:
                    # Starlette answers an unhandled error outside this middleware, without
                    # the security headers: answer here, and re-raise so the server logs it.
                    if not started:
                        error = PlainTextResponse(t("security.server_error"), status_code=500)
                        await error(scope, receive, send_with_headers)
                    raise
