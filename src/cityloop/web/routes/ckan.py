"""The CKAN Action API subset that common CKAN clients use, for the open-data catalogue:
``package_list``, ``package_search``, ``package_show``, ``resource_show``,
``datastore_search`` and ``status_show`` at ``/api/3/action/{action}`` (and ``/api/action/``,
where ckanapi sends them), by GET with query parameters or POST with a JSON body.

No session needed: open data is public, and a key in ``Authorization`` (or ``X-CKAN-API-Key``)
reads the one resource it was issued for. Thin: ``cityloop.services.open_data`` does the work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import open_data
from cityloop.services.data_access import AccessRefusedError, Caller
from cityloop.store import Database
from cityloop.web.auth import current_principal

router = APIRouter(tags=["ckan"])

ERROR_TYPES = {403: "Authorization Error", 404: "Not Found Error", 409: "Validation Error"}


class FailureOut(BaseModel):
    """CKAN's envelope of a failed action: ``error`` has ``__type`` and ``message``."""

    help: str
    success: bool
    error: dict[str, Any]


# 400 for an unknown action; the rest as ERROR_TYPES says. Not the app's ``detail`` answers.
FAILURES: dict[int | str, dict[str, Any]] = {
    status: {"model": FailureOut} for status in (400, *ERROR_TYPES)
}
Action = Callable[[Database, Caller, dict[str, Any], str], Any]
ACTIONS: dict[str, Action] = {
    "package_list": lambda db, caller, params, base: open_data.package_list(db, params),
    "package_search": lambda db, caller, params, base: open_data.package_search(db, params, base),
    "package_show": lambda db, caller, params, base: open_data.package_show(
        db, caller, params.get("id"), base
    ),
    "resource_show": lambda db, caller, params, base: open_data.resource_show(
        db, caller, params.get("id"), base
    ),
    "datastore_search": open_data.datastore_search,
    "status_show": lambda db, caller, params, base: open_data.status_show(base),
}


def api_key(request: Request) -> str | None:
    """The key CKAN clients send: ``Authorization`` (raw or ``Bearer``) or ``X-CKAN-API-Key``."""
    raw = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
    if not raw:
        return None
    scheme, _, rest = raw.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else raw.strip()


async def action_params(request: Request) -> dict[str, Any]:
    """Query parameters, overlaid by a JSON (or form) body's fields for a POST."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            if request.headers.get("content-type", "").startswith("application/json"):
                try:
                    data = json.loads(body)
                except json.JSONDecodeError:
                    data = None
                if not isinstance(data, dict):
                    raise InputError("ckan.body_not_object")
                params |= data
            else:
                params |= dict(await request.form())
    return params


def answer(request: Request, name: str, result: Any) -> JSONResponse:
    return JSONResponse({"help": _help(request, name), "success": True, "result": result})


def failure(request: Request, name: str, status: int, message: str, **extra: Any) -> JSONResponse:
    kind = ERROR_TYPES.get(status, "Bad Request")
    error = {"__type": kind, "message": f"{kind}: {message}", **extra}
    body = {"help": _help(request, name), "success": False, "error": error}
    return JSONResponse(body, status_code=status)


def _help(request: Request, name: str) -> str:
    return f"{_base(request)}{open_data.API}/help_show?name={name}"


async def run_action(request: Request, action: str) -> JSONResponse:
    """Dispatch one CKAN action and answer in CKAN's envelope."""
    handler = ACTIONS.get(action)
    if handler is None:
        return failure(request, action, 400, t("ckan.unknown_action", action=action))
    try:
        params = await action_params(request)
    except InputError as refused:
        return failure(request, action, 409, refused.render())
    # The store is synchronous: run the action in the thread pool, off the event loop.
    return await run_in_threadpool(_run, request, action, handler, params)


def _run(request: Request, action: str, handler: Action, params: dict[str, Any]) -> JSONResponse:
    db: Database = request.app.state.db
    host = request.client.host if request.client is not None else ""
    caller = Caller(
        key=api_key(request),
        principal=current_principal(request),
        client=f"{host} {request.headers.get('user-agent', '')}".strip()[:100],
    )
    try:
        return answer(request, action, handler(db, caller, params, _base(request)))
    except AccessRefusedError as refused:
        return failure(request, action, refused.status, refused.render())
    except InputError as refused:
        fields: dict[str, list[str]] = {}
        for p in refused.problems:
            fields.setdefault(p.location.column or "params", []).append(t(p.key, **p.params))
        return failure(request, action, 409, refused.render(), **fields)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# One operation per method: OpenAPI needs each operationId once.
@router.get("/api/3/action/{action}", responses=FAILURES, operation_id="ckan_action_get")
@router.post("/api/3/action/{action}", responses=FAILURES, operation_id="ckan_action_post")
async def ckan_action(request: Request, action: str) -> JSONResponse:
    """A CKAN action: package_list, package_search, package_show, resource_show,
    datastore_search or status_show; answers ``{"help", "success", "result"}``."""
    return await run_action(request, action)


@router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
async def ckan_action_unversioned(request: Request, action: str) -> JSONResponse:
    """The same actions at CKAN's unversioned path, where ckanapi sends them."""
    return await run_action(request, action)
