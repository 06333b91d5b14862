"""Sharing pages: the department's requests and keys (``/sharing``), asking for a resource
(``/sharing/request``), deciding, withdrawing, reissuing and revoking, and the access log.

Thin: ``cityloop.services.sharing`` checks everything; a new key is shown once, in the answer
to the POST that issued it (never put in the session or a redirect).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cityloop.accounts import Action, Principal, Role, can
from cityloop.datahub.sharing_rules import (
    MAX_PURPOSE_CHARS,
    MAX_REASON_CHARS,
    MIN_PURPOSE_CHARS,
    SharingRuleError,
    may_decide,
)
from cityloop.errors import CityLoopError
from cityloop.frameworks.loader import departments
from cityloop.i18n import current_language
from cityloop.services import sharing
from cityloop.store.keys import IssuedKey
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, units_of
from cityloop.web.routes.sharing_api import db_of, found
from cityloop.web.routes.sharing_api import router as api_router
from cityloop.web.templating import render

router = APIRouter()
router.include_router(api_router)

Requester = Annotated[Principal, allowed(Action.REQUEST_SHARING)]
Decider = Annotated[Principal, allowed(Action.DECIDE_SHARING)]
FLASH = "sharing_flash"
LOG_PAGE = 50


def labels(request: Request) -> dict[str, dict[str, str]]:
    """Unit and department names in the reader's language, by code."""
    en = current_language() == "en"
    table = units_of(request).table
    zh_names = table["name_zh"].astype(str)
    en_names = table["name_en"].fillna("").astype(str) if "name_en" in table else zh_names
    units = {str(c): (en_names[c] or zh_names[c]) if en else zh_names[c] for c in table.index}
    depts = {code: (n["en"] if en else n["zh"]) for code, n in departments().items()}
    return {"units": units, "departments": depts}


def board_page(
    request: Request, principal: Principal, status: int = 200, **extra: Any
) -> HTMLResponse:
    board = sharing.board(db_of(request), principal)
    admin = principal.role == Role.ADMINISTRATOR
    decidable = {
        r.id
        for r in board.received
        if r.status.value == "pending"
        and can(principal.role, Action.DECIDE_SHARING)
        and may_decide(
            r.resource.department, user_department=principal.department, administrator=admin
        )
    }
    context: dict[str, Any] = {
        "board": board,
        "decidable": decidable,
        "decider": can(principal.role, Action.DECIDE_SHARING),
        "department": principal.department,
        "admin": admin,
        "names": labels(request),
        "flash": request.session.pop(FLASH, None),
        "new_key": None,
        "errors": [],
        **extra,
    }
    return render(request, "sharing.html", context, status)


def _key_shown(request: Request, principal: Principal, key: IssuedKey, how: str) -> HTMLResponse:
    return board_page(request, principal, new_key={"plain": key.plain, "prefix": key.prefix,
                                                   "how": how})  # fmt: skip


def _refused(request: Request, principal: Principal, refused: CityLoopError) -> HTMLResponse:
    return board_page(request, principal, 422, errors=[refused.render()])


@router.get("/sharing", response_class=HTMLResponse, include_in_schema=False)
def sharing_page(request: Request, principal: Requester) -> HTMLResponse:
    return board_page(request, principal)


@router.get("/sharing/request", response_class=HTMLResponse, include_in_schema=False)
def request_page(
    request: Request,
    principal: Requester,
    resource: Annotated[int | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    return _request_form(request, principal, resource, department)


def _request_form(
    request: Request,
    principal: Principal,
    resource_id: int | None,
    department: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    db = db_of(request)
    admin = principal.role == Role.ADMINISTRATOR
    offered = sharing.requestable(db, principal, department)
    chosen = next((r for r in offered if r.id == resource_id), None)
    context: dict[str, Any] = {
        "offered": offered,
        "chosen": chosen,
        "asked_for": resource_id,
        "admin": admin,
        "department": sharing.acting_department(principal, department),
        "all_departments": sorted(departments()) if admin else [],
        "names": labels(request),
        "min_purpose": MIN_PURPOSE_CHARS,
        "max_purpose": MAX_PURPOSE_CHARS,
        "purpose": "",
        "errors": [],
        **extra,
    }
    return render(request, "sharing_request.html", context, status)


@router.post("/sharing/request", include_in_schema=False)
def ask(
    request: Request,
    principal: Requester,
    resource: Annotated[int, Form()],
    purpose: Annotated[str, Form(max_length=MAX_PURPOSE_CHARS)] = "",
    department: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        outcome = sharing.request_sharing(
            db_of(request), principal, resource, purpose, department=department or None
        )
    except CityLoopError as refused:
        return _request_form(
            request, principal, resource, department or None, 422,
            purpose=purpose, errors=[refused.render()],
        )  # fmt: skip
    if outcome.key is not None:
        return _key_shown(request, principal, outcome.key, "granted")
    request.session[FLASH] = {"how": "requested", "request": outcome.request.id}
    return RedirectResponse("/sharing", status_code=303)


@router.post("/sharing/requests/{request_id}/decide", include_in_schema=False)
def decide(
    request: Request,
    principal: Decider,
    request_id: int,
    decision: Annotated[str, Form(pattern="^(approve|refuse)$")],
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    try:
        with found():
            outcome = sharing.decide(
                db_of(request), principal, request_id, approve=decision == "approve",
                reason=reason,
            )  # fmt: skip
    except SharingRuleError as refused:
        return _refused(request, principal, refused)
    if outcome.key is not None:
        return _key_shown(request, principal, outcome.key, "approved")
    request.session[FLASH] = {"how": "refused", "request": request_id}
    return RedirectResponse("/sharing", status_code=303)


@router.post("/sharing/requests/{request_id}/withdraw", include_in_schema=False)
def withdraw(
    request: Request, principal: Requester, request_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    check_csrf(request, csrf_token)
    try:
        with found():
            sharing.withdraw(db_of(request), principal, request_id)
    except SharingRuleError as refused:
        return _refused(request, principal, refused)
    request.session[FLASH] = {"how": "withdrawn", "request": request_id}
    return RedirectResponse("/sharing", status_code=303)


@router.post("/sharing/requests/{request_id}/reissue", include_in_schema=False)
def reissue(
    request: Request, principal: Requester, request_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    check_csrf(request, csrf_token)
    try:
        with found():
            key = sharing.reissue(db_of(request), principal, request_id)
    except SharingRuleError as refused:
        return _refused(request, principal, refused)
    return _key_shown(request, principal, key, "reissued")


@router.post("/sharing/keys/{key_id}/revoke", include_in_schema=False)
def revoke(
    request: Request, principal: Decider, key_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf_token)
    try:
        with found():
            key = sharing.revoke(db_of(request), principal, key_id)
    except SharingRuleError as refused:
        return _refused(request, principal, refused)
    request.session[FLASH] = {"how": "revoked", "prefix": key.prefix}
    return RedirectResponse("/sharing", status_code=303)


@router.get("/sharing/log", response_class=HTMLResponse, include_in_schema=False)
def access_log(
    request: Request,
    principal: Decider,
    resource: Annotated[str, Query(max_length=20)] = "",
    department: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    resource_id = int(resource) if resource.strip().isdigit() else None
    rows, total = sharing.access_log(
        db_of(request), principal, resource_id=resource_id, department=department or None,
        limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE,
    )  # fmt: skip
    filters = {"resource": resource, "department": department}
    pages = max(1, -(-total // LOG_PAGE))
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": filters,
        "query_of": lambda p: urlencode({**filters, "page": p}),
        "resources": {r.id: r for r in db_of(request).sharing.resources(published=False)},
        "names": labels(request),
    }
    return render(request, "sharing_log.html", context)
