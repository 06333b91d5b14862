"""The permission check every route makes: ``Allowed(action)`` as a FastAPI dependency.

Anonymous requests get 401 (pages: a redirect to the sign-in page); a role without the action,
or a unit outside the user's regions, gets 403 with the reason in the reader's language.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.accounts import AccessDenied, Action, Principal, authorise, can
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.i18n import t
from cityloop.services.dashboard_cache import NoRunError, regions
from cityloop.store import Database
from cityloop.web.auth import current_principal
from cityloop.web.templating import render


class NotSignedInError(Exception):
    """The request has no signed-in, active user."""


class Allowed:
    """Dependency: the signed-in principal, if their role may perform ``action``.

    Use as ``principal: Annotated[Principal, Allowed(Action.VIEW_DASHBOARD)]``; the route then
    runs only for a permitted user, and ``request.state.principal`` is set for the templates.
    """

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise NotSignedInError
        request.state.principal = principal
        if not can(principal.role, self.action):
            raise AccessDenied("accounts.denied.action", action=self.action, role=principal.role)
        return principal


def allowed(action: Action) -> Any:
    """``Depends(Allowed(action))``, for ``Annotated[Principal, allowed(...)]`` parameters."""
    return Depends(Allowed(action))


Viewer = Annotated[Principal, allowed(Action.VIEW_DASHBOARD)]


def units_of(request: Request) -> Units:
    """The stored regions; 404 when none are loaded yet.

    They come from the dashboards' cache (``cityloop.services.dashboard_cache.regions``), which
    re-reads them after at most ``FRESH_SECONDS``: reading them per request would cost more
    than a dashboard page. A region added or moved is seen that much later.
    """
    db: Database = request.app.state.db
    try:
        return regions(db).units
    except NoRunError:
        raise HTTPException(status_code=404, detail=t("web.no_regions")) from None


def authorise_unit(request: Request, principal: Principal, action: Action, unit: str) -> Units:
    """Refuse (403) a unit outside the user's regions, (404) one that does not exist."""
    units = units_of(request)
    if unit not in units.table.index:
        raise HTTPException(status_code=404, detail=t("web.unknown_unit", unit=unit))
    authorise(principal, action, unit=unit, units=units)
    return units


class ErrorOut(BaseModel):
    """A refusal: the reason in the reader's language (for ill-formed parameters, FastAPI's
    list of what was wrong where)."""

    detail: str | list[dict[str, Any]]


# What the handlers below (and the request-size and CSRF checks in front of the routes) answer,
# declared once for every route of the schema: JSON for the API, the error page for pages and
# downloads. A route that answers otherwise declares its own.
_REFUSAL = {"model": ErrorOut, "content": {"text/html": {"schema": {"type": "string"}}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_REFUSAL, "description": "A body that is not the JSON or form data it claims"},
    401: {**_REFUSAL, "description": "Not signed in"},
    403: {**_REFUSAL, "description": "Not allowed for this role or region, or no CSRF header"},
    404: {**_REFUSAL, "description": "No such thing, or nothing evaluated yet"},
    413: {**_REFUSAL, "description": "Request body too large"},
    422: {**_REFUSAL, "description": "Refused input, with the reason"},
}


def wants_html(request: Request) -> bool:
    """Pages get pages; the JSON API (``/api/...``) and HTMX fragments get data."""
    return not request.url.path.startswith("/api/") and "hx-request" not in request.headers


def install_handlers(app: FastAPI) -> None:
    """Turn NotSignedInError, AccessDenied, NoRunError and user errors into 401/403/404/422
    answers."""

    @app.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, exc: NotSignedInError) -> Response:
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return JSONResponse({"detail": t("web.not_signed_in")}, status_code=401)

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> Response:
        return refusal(request, exc, 403)

    @app.exception_handler(NoRunError)
    async def no_run(request: Request, exc: NoRunError) -> Response:
        # Nothing evaluated yet (or no such run): the API says 404, a page says what to do.
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.render()}, status_code=404)
        return render(request, "_no_run.html", {"message": exc.render()}, 404)

    @app.exception_handler(CityLoopError)
    async def user_error(request: Request, exc: CityLoopError) -> Response:
        return refusal(request, exc, 422)


def refusal(request: Request, exc: CityLoopError, status: int) -> Response:
    """The error page, or ``{"detail": message}`` for the API, with ``status``."""
    message = exc.render()
    if wants_html(request):
        return render(request, "error.html", {"status": status, "message": message}, status)
    return JSONResponse({"detail": message}, status_code=status)
