"""Sign in and sign out, and ``/api/me``: who the request is signed in as.

Forms carry a CSRF token; a failed sign-in says no more than that it failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from cityloop.services.users import authenticate
from cityloop.web.auth import check_csrf, csrf_token, current_principal, sign_in, sign_out
from cityloop.web.templating import render

router = APIRouter()
HOME = "/frameworks"


class Me(BaseModel):
    username: str
    role: str
    scope: str | None
    department: str | None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"csrf": csrf_token(request), "failed": False})


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf_token_field)
    principal = authenticate(request.app.state.db, username.strip(), password, datetime.now(UTC))
    if principal is None:
        context = {"csrf": csrf_token(request), "failed": True, "username": username}
        return render(request, "login.html", context, status=401)
    sign_in(request, principal)
    return RedirectResponse(HOME, status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request, csrf_token_field: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf_token_field)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


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
    )
