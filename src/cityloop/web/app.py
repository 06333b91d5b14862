"""Build the FastAPI application from settings; nothing connects or reads config at import.

``create_app(settings)`` wires the language switch, security headers, static files and routers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from cityloop._version import __version__
from cityloop.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language, t, use_language
from cityloop.store import Database
from cityloop.store.settings import Settings
from cityloop.web.auth import CSRF_HEADER, api_csrf_ok, session_secret
from cityloop.web.guard import install_handlers
from cityloop.web.routes import (
    cities,
    collect,
    frameworks,
    health,
    ranking,
    robustness,
    runs,
    session,
    whatif,
)

LANG_COOKIE = "cityloop_lang"
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
    for module in (health, session, frameworks, cities, ranking, collect, runs, whatif, robustness):
        app.include_router(module.router)
    install_handlers(app)

    @app.middleware("http")
    async def language_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        lang = request_language(request)
        request.state.lang = lang
        with use_language(lang):
            if request.url.path.startswith("/api/") and not api_csrf_ok(request):
                response: Response = JSONResponse(
                    {"detail": t("web.csrf_header_missing", header=CSRF_HEADER)}, status_code=403
                )
            else:
                response = await call_next(request)
        if "lang" in request.query_params:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if settings.hsts:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    # Added last so it runs first: the session is there for everything above.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="cityloop_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    return app


def request_language(request: Request) -> str:
    """``?lang=`` first, then the language cookie, then zh-CN; unknown values fall back."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate:
            try:
                lang = normalise_language(candidate)
            except ValueError:
                continue
            if lang in LANGUAGES:
                return lang
    return DEFAULT_LANGUAGE
