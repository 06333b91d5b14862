"""Build the FastAPI application from settings; nothing connects or reads config at import.

``create_app(settings)`` wires the language switch, security headers, static files and routers.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop._version import __version__
from cityloop.i18n import t, use_language
from cityloop.store import Database
from cityloop.store.settings import Settings
from cityloop.web.auth import CSRF_HEADER, api_csrf_ok, session_secret
from cityloop.web.guard import install_handlers
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
        supervision_edit, outcomes, report_plan, report_evaluation,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
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
        max_age=8 * 3600,
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
    session's JSON API writes need the CSRF header, and every response gets the security
    headers (and the language cookie when ``?lang=`` chose it)."""

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

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if cookie is not None:
                    headers.append("set-cookie", cookie)
                for name, value in self.fixed.items():
                    headers[name] = value
            await send(message)

        with use_language(lang):
            if request.url.path.startswith("/api/") and not api_csrf_ok(request):
                refusal = JSONResponse(
                    {"detail": t("web.csrf_header_missing", header=CSRF_HEADER)}, status_code=403
                )
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
