"""Sign in and sign out, and ``/api/me``: who the request is signed in as.

Forms carry a CSRF token; a failed sign-in says no more than that it failed. Sign-in attempts
are throttled per address (``web/ratelimit.py``) besides the per-account lockout.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.accounts import Role
from cityloop.accounts.sessions import new_session_token, token_digest
from cityloop.datahub.units import RegionLevel
from cityloop.i18n import t
from cityloop.services.users import authenticate
from cityloop.web.auth import check_csrf, csrf_token, current_principal, sign_in, sign_out
from cityloop.web.guard import Viewer
from cityloop.web.ratelimit import sign_in_limiter
from cityloop.web.templating import render

router = APIRouter()
HOME = "/"


class Me(BaseModel):
    username: str
    role: str
    scope: str | None
    department: str | None
    csrf_token: str  # send it back in the X-CSRF-Token header of API POSTs


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = HOME) -> HTMLResponse:
    context = {"csrf": csrf_token(request), "failed": False, "next": safe_next(next)}
    return render(request, "login.html", context)


def safe_next(target: str) -> str:
    """Where to go after sign-in: a path on this site only, never another host."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
    next_field: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    limiter = sign_in_limiter(request.app.state)
    if not limiter.allow(request.client.host if request.client else "-"):
        wait = math.ceil(60 / limiter.per_minute)  # the time one attempt's token takes to refill
        message = t("users.too_many_sign_ins", seconds=wait)
        refused = render(request, "error.html", {"status": 429, "message": message}, 429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    check_csrf(request, csrf_token_field)
    token = new_session_token()
    principal = authenticate(
        request.app.state.db,
        username.strip(),
        password,
        datetime.now(UTC),
        session_digest=token_digest(token),
    )
    target = safe_next(next_field)
    if principal is None:
        context = {
            "csrf": csrf_token(request),
            "failed": True,
            "username": username,
            "next": target,
        }
        return render(request, "login.html", context, status=401)
    sign_in(request, token)
    return RedirectResponse(target, status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request, csrf_token_field: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf_token_field)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/", include_in_schema=False)
def home(request: Request, principal: Viewer) -> Response:
    """Each role's starting page: an officer's collection list, a city user's city, else the
    ranking of the regions the user sees."""
    if principal.role == Role.DATA_OFFICER:
        return RedirectResponse("/collect", status_code=303)
    units = request.app.state.db.units() if principal.scope else None
    if units is not None and principal.scope in units.table.index:
        row = units.table.loc[principal.scope]
        if row["level"] == RegionLevel.CITY:
            return RedirectResponse(f"/cities/{principal.scope}", status_code=303)
        if row["level"] == RegionLevel.DISTRICT and isinstance(row["parent"], str):
            return RedirectResponse(f"/cities/{row['parent']}", status_code=303)
    return RedirectResponse("/ranking", status_code=303)


@router.get("/api/me", response_model=Me, tags=["session"])
def me(request: Request) -> Me:
    principal = current_principal(request)
    if principal is None:
        raise HTTPException(status_code=401, detail="not signed in")
    return Me(
        username=principal.username,
        role=principal.role.value,
        scope=principal.scope,
        department=principal.department,
        csrf_token=csrf_token(request),
    )
