"""The sharing JSON API: list requestable resources, ask for one, decide, withdraw, reissue a
key, list and revoke keys, and read the access log — the same checks as the pages.

POSTs from a signed-in browser session need the ``X-CSRF-Token`` header (``GET /api/me``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal
from cityloop.datahub.sharing_rules import MAX_PURPOSE_CHARS, MAX_REASON_CHARS
from cityloop.services import sharing
from cityloop.store import Database
from cityloop.store.access_log import AccessRow
from cityloop.store.keys import IssuedKey, KeyRow
from cityloop.store.sharing import RequestRow, ResourceFacts
from cityloop.web.guard import allowed

router = APIRouter(prefix="/api/sharing", tags=["sharing"])

Requester = Annotated[Principal, allowed(Action.REQUEST_SHARING)]
Decider = Annotated[Principal, allowed(Action.DECIDE_SHARING)]
MAX_LOG_PAGE = 1000


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


@contextmanager
def found() -> Iterator[None]:
    """An unknown request or key is 404 (the other refusals are 403/422 by the handlers)."""
    try:
        yield
    except sharing.SharingNotFoundError as missing:
        raise HTTPException(status_code=404, detail=missing.render()) from None


# -- models ----------------------------------------------------------------------------------------


class ResourceOut(BaseModel):
    id: int
    unit: str
    code: str
    department: str
    name_zh: str
    name_en: str
    sharing_type: str
    open_type: str


class RequestOut(BaseModel):
    id: int
    resource: ResourceOut
    requester_department: str
    purpose: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


class NewKeyOut(BaseModel):
    key_id: int
    prefix: str
    key: str = Field(description="The plain key: shown this once, never stored")


class OutcomeOut(BaseModel):
    request: RequestOut
    key: NewKeyOut | None


class RequestsOut(BaseModel):
    made: list[RequestOut]
    received: list[RequestOut]


class KeyOut(BaseModel):
    key_id: int
    prefix: str
    resource_id: int
    department: str
    scope: str
    request_id: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None


class KeysOut(BaseModel):
    held: list[KeyOut]
    issued: list[KeyOut]


class AccessOut(BaseModel):
    id: int
    at: datetime
    resource_id: int | None
    key_id: int | None
    department: str | None
    actor: str
    operation: str
    status: int
    rows: int
    client: str


class AccessLogOut(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[AccessOut]


class RequestIn(BaseModel):
    resource_id: int
    purpose: str = Field(max_length=MAX_PURPOSE_CHARS)
    department: str | None = Field(default=None, max_length=64, description="administrators")


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)


def resource_out(r: ResourceFacts) -> ResourceOut:
    return ResourceOut(
        id=r.id, unit=r.unit, code=r.code, department=r.department, name_zh=r.name_zh,
        name_en=r.name_en, sharing_type=r.sharing_type, open_type=r.open_type,
    )  # fmt: skip


def request_out(r: RequestRow) -> RequestOut:
    return RequestOut(
        id=r.id, resource=resource_out(r.resource), requester_department=r.requester_department,
        purpose=r.purpose, requested_by=r.requested_by, requested_at=r.requested_at,
        status=r.status.value, decided_by=r.decided_by, decided_at=r.decided_at,
        decision_reason=r.decision_reason,
    )  # fmt: skip


def new_key_out(key: IssuedKey | None) -> NewKeyOut | None:
    return None if key is None else NewKeyOut(key_id=key.key_id, prefix=key.prefix, key=key.plain)


def key_out(k: KeyRow) -> KeyOut:
    return KeyOut(
        key_id=k.key_id, prefix=k.prefix, resource_id=k.resource_id, department=k.department,
        scope=k.scope.value, request_id=k.request_id, created_by=k.created_by,
        created_at=k.created_at, expires_at=k.expires_at, revoked_by=k.revoked_by,
        revoked_at=k.revoked_at,
    )  # fmt: skip


def access_out(e: AccessRow) -> AccessOut:
    return AccessOut(**e.__dict__)


# -- routes ----------------------------------------------------------------------------------------


@router.get("/resources", response_model=list[ResourceOut])
def requestable(
    request: Request, principal: Requester, department: str | None = None
) -> list[ResourceOut]:
    """Published, shareable resources of other departments in the user's regions."""
    return [resource_out(r) for r in sharing.requestable(db_of(request), principal, department)]


@router.get("/requests", response_model=RequestsOut)
def requests(request: Request, principal: Requester) -> RequestsOut:
    """Requests the user's department made, and requests for its resources (pending first)."""
    board = sharing.board(db_of(request), principal)
    return RequestsOut(
        made=[request_out(r) for r in board.made],
        received=[request_out(r) for r in board.received],
    )


@router.post("/requests", response_model=OutcomeOut, status_code=201)
def ask(request: Request, principal: Requester, body: RequestIn) -> OutcomeOut:
    """Ask for a resource; an unconditional one comes with its key at once (shown once)."""
    outcome = sharing.request_sharing(
        db_of(request), principal, body.resource_id, body.purpose, department=body.department
    )
    return OutcomeOut(request=request_out(outcome.request), key=new_key_out(outcome.key))


@router.post("/requests/{request_id}/decision", response_model=OutcomeOut)
def decide(request: Request, principal: Decider, request_id: int, body: DecisionIn) -> OutcomeOut:
    """Approve (the requester's key comes back, once) or refuse with a reason."""
    with found():
        outcome = sharing.decide(
            db_of(request), principal, request_id, approve=body.approve, reason=body.reason
        )
    return OutcomeOut(request=request_out(outcome.request), key=new_key_out(outcome.key))


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut)
def withdraw(request: Request, principal: Requester, request_id: int) -> RequestOut:
    """Withdraw a pending request of the user's department."""
    with found():
        return request_out(sharing.withdraw(db_of(request), principal, request_id))


@router.post("/requests/{request_id}/reissue", response_model=NewKeyOut)
def reissue(request: Request, principal: Requester, request_id: int) -> NewKeyOut:
    """A new key for an approved request of the user's department; the old one stops."""
    with found():
        key = sharing.reissue(db_of(request), principal, request_id)
    out = new_key_out(key)
    assert out is not None
    return out


@router.get("/keys", response_model=KeysOut)
def keys(request: Request, principal: Decider) -> KeysOut:
    """Keys the user's department holds, and keys issued for its resources."""
    board = sharing.board(db_of(request), principal)
    return KeysOut(
        held=[key_out(k) for k in board.held_keys], issued=[key_out(k) for k in board.issued_keys]
    )


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke(request: Request, principal: Decider, key_id: int) -> KeyOut:
    """Revoke a key: its very next request is refused."""
    with found():
        return key_out(sharing.revoke(db_of(request), principal, key_id))


@router.get("/log", response_model=AccessLogOut)
def access_log(
    request: Request,
    principal: Decider,
    resource: int | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AccessLogOut:
    """The access log, newest first: every read of a resource's data, refusals included."""
    rows, total = sharing.access_log(
        db_of(request), principal, resource_id=resource, department=department or None,
        since=since, limit=limit, offset=offset,
    )  # fmt: skip
    return AccessLogOut(
        total=total, limit=limit, offset=offset, entries=[access_out(e) for e in rows]
    )
