"""Sharing requests, their keys, the access log and endpoint checks in the store.

``db.sharing`` (a ``SharingStore``) is the facade; every decision and revocation is audited, and
an approval issues its key (``store.keys``) in the same transaction as the decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from cityloop.datahub.datastore_query import DataQuery
from cityloop.store import datastore
from cityloop.store.access_log import (
    AccessRecord,
    AccessRow,
    CheckRow,
    add_check,
    log_access,
    read_access_log,
    read_checks,
)
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.keys import (
    IssuedKey,
    KeyGrant,
    KeyRow,
    hash_key,
    issue_key,
    keys_of,
    revoke_key,
    verify_key,
)
from cityloop.store.models import (
    ApiKey,
    DataResource,
    KeyScope,
    SharingRequest,
    SharingStatus,
)

REQUEST_ENTITY = "sharing_requests"


class Sessions(Protocol):
    def session(self) -> AbstractContextManager[Session]: ...
    def reader(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class ResourceFacts:
    """What sharing needs to know of a catalogue entry (``data_resources``)."""

    id: int
    unit: str
    code: str
    department: str
    name_zh: str
    name_en: str
    sharing_type: str
    open_type: str
    status: str
    entity_type: str | None
    fields: list[dict[str, str]]


@dataclass(frozen=True)
class RequestRow:
    """A sharing request with the resource it asks for."""

    id: int
    resource: ResourceFacts
    requester_department: str
    purpose: str
    requested_by: str
    requested_at: datetime
    status: SharingStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


# -- resources ------------------------------------------------------------------------------------


def _facts(r: DataResource) -> ResourceFacts:
    return ResourceFacts(
        r.id, r.unit_code, r.code, r.department_code, r.name_zh, r.name_en,
        r.sharing_type.value, r.open_type.value, r.status.value, r.entity_type, list(r.fields),
    )  # fmt: skip


def resource_facts(session: Session, resource_id: int) -> ResourceFacts | None:
    """One catalogue entry's sharing facts; None when unknown."""
    row = session.get(DataResource, resource_id)
    return None if row is None else _facts(row)


def resources_facts(
    session: Session, *, units: Iterable[str] | None = None, published: bool = True
) -> list[ResourceFacts]:
    """Catalogue entries (of ``units``; only published ones unless told), by unit and code."""
    query = select(DataResource).order_by(DataResource.unit_code, DataResource.code)
    if units is not None:
        query = query.where(DataResource.unit_code.in_(sorted(units)))
    if published:
        query = query.where(DataResource.status == "published")
    return [_facts(r) for r in session.scalars(query)]


# -- requests -------------------------------------------------------------------------------------


def create_request(
    session: Session,
    resource_id: int,
    requester_department: str,
    purpose: str,
    actor: str,
    *,
    grant_at_once: bool = False,
) -> tuple[RequestRow, IssuedKey | None]:
    """Record a request; with ``grant_at_once`` (an unconditional resource) it is approved by
    the rules (``decided_by`` = "rules") and its read key issued in the same transaction."""
    now = utc_now()
    values: dict[str, Any] = {
        "resource_id": resource_id, "requester_department": requester_department,
        "purpose": purpose.strip(), "requested_by": actor, "requested_at": now,
        "status": SharingStatus.APPROVED if grant_at_once else SharingStatus.PENDING,
    }  # fmt: skip
    if grant_at_once:
        values |= {"decided_by": "rules", "decided_at": now, "decision_reason": "unconditional"}
    request_id = session.execute(
        insert(SharingRequest).values(**values).returning(SharingRequest.id)
    ).scalar_one()
    after = {"resource_id": resource_id, "department": requester_department,
             "status": values["status"].value}  # fmt: skip
    record_audit(session, actor, "request", REQUEST_ENTITY, str(request_id), after=after, at=now)
    key = None
    if grant_at_once:
        key = issue_key(
            session, resource_id=resource_id, department=requester_department,
            scope=KeyScope.READ, actor=actor, request_id=request_id,
        )  # fmt: skip
    return _must(session, request_id), key


def decide_request(
    session: Session, request_id: int, *, approve: bool, reason: str, actor: str
) -> tuple[RequestRow, IssuedKey | None]:
    """Approve (issuing the read key) or refuse a pending request, all in one transaction.

    The update only matches a pending request, so two deciders racing cannot both succeed:
    the loser gets ``None`` back from the update and a ``ValueError``.
    """
    status = SharingStatus.APPROVED if approve else SharingStatus.REFUSED
    done = session.execute(
        update(SharingRequest)
        .where(SharingRequest.id == request_id, SharingRequest.status == SharingStatus.PENDING)
        .values(
            status=status, decided_by=actor, decided_at=utc_now(), decision_reason=reason.strip()
        )
        .returning(SharingRequest.resource_id, SharingRequest.requester_department)
    ).first()
    if done is None:
        raise ValueError(f"sharing request {request_id} is not pending")
    record_audit(
        session, actor, "approve" if approve else "refuse", REQUEST_ENTITY, str(request_id),
        before={"status": SharingStatus.PENDING.value},
        after={"status": status.value, "reason": reason.strip()},
    )  # fmt: skip
    key = None
    if approve:
        key = issue_key(
            session, resource_id=done.resource_id, department=done.requester_department,
            scope=KeyScope.READ, actor=actor, request_id=request_id,
        )  # fmt: skip
    return _must(session, request_id), key


def withdraw_request(session: Session, request_id: int, actor: str) -> RequestRow:
    """Withdraw a pending request (the caller checked who may)."""
    done = session.execute(
        update(SharingRequest)
        .where(SharingRequest.id == request_id, SharingRequest.status == SharingStatus.PENDING)
        .values(status=SharingStatus.WITHDRAWN, decided_by=actor, decided_at=utc_now())
        .returning(SharingRequest.id)
    ).first()
    if done is None:
        raise ValueError(f"sharing request {request_id} is not pending")
    record_audit(
        session, actor, "withdraw", REQUEST_ENTITY, str(request_id),
        before={"status": "pending"}, after={"status": "withdrawn"},
    )  # fmt: skip
    return _must(session, request_id)


def reissue_key(session: Session, request_id: int, actor: str) -> IssuedKey:
    """Replace the live keys of an approved request by a new one (a lost key), atomically."""
    row = _must(session, request_id)
    for old in session.scalars(
        select(ApiKey.id).where(ApiKey.request_id == request_id, ApiKey.revoked_at.is_(None))
    ).all():
        revoke_key(session, old, actor)
    return issue_key(
        session, resource_id=row.resource.id, department=row.requester_department,
        scope=KeyScope.READ, actor=actor, request_id=request_id,
    )  # fmt: skip


def _requests_query() -> Select[tuple[SharingRequest, DataResource]]:
    return (
        select(SharingRequest, DataResource)
        .join(DataResource, DataResource.id == SharingRequest.resource_id)
        .order_by(SharingRequest.id.desc())
    )


def _request_row(req: SharingRequest, res: DataResource) -> RequestRow:
    return RequestRow(
        req.id, _facts(res), req.requester_department, req.purpose, req.requested_by,
        req.requested_at, req.status, req.decided_by, req.decided_at, req.decision_reason,
    )  # fmt: skip


def get_request(session: Session, request_id: int) -> RequestRow | None:
    """One request; None when unknown."""
    found = session.execute(_requests_query().where(SharingRequest.id == request_id)).first()
    return None if found is None else _request_row(*found)


def _must(session: Session, request_id: int) -> RequestRow:
    row = get_request(session, request_id)
    if row is None:
        raise ValueError(f"sharing request {request_id} does not exist")
    return row


def list_requests(
    session: Session,
    *,
    requester_department: str | None = None,
    owner_department: str | None = None,
    status: SharingStatus | None = None,
    units: Iterable[str] | None = None,
) -> list[RequestRow]:
    """Requests, newest first: made by one department, or for one department's resources, in
    a state, of resources in ``units``; no filter lists them all."""
    query = _requests_query()
    if requester_department is not None:
        query = query.where(SharingRequest.requester_department == requester_department)
    if owner_department is not None:
        query = query.where(DataResource.department_code == owner_department)
    if status is not None:
        query = query.where(SharingRequest.status == status)
    if units is not None:
        query = query.where(DataResource.unit_code.in_(sorted(units)))
    return [_request_row(req, res) for req, res in session.execute(query).all()]


def pending_or_live(session: Session, resource_id: int, department: str) -> bool:
    """Whether ``department`` already has a pending request or a live read key for a resource."""
    pending = select(SharingRequest.id).where(
        SharingRequest.resource_id == resource_id,
        SharingRequest.requester_department == department,
        SharingRequest.status == SharingStatus.PENDING,
    )
    live = select(ApiKey.id).where(
        ApiKey.resource_id == resource_id,
        ApiKey.department_code == department,
        ApiKey.scope == KeyScope.READ,
        ApiKey.revoked_at.is_(None),
    )
    return session.execute(pending.union_all(live).limit(1)).first() is not None


def key_id_of(session: Session, plain: str) -> int | None:
    """The id of the key ``plain`` whatever its state (to log a revoked key's attempts)."""
    return session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(plain)))


def key_row(session: Session, key_id: int) -> KeyRow | None:
    """One stored key as people see it; None when unknown."""
    k = session.get(ApiKey, key_id)
    if k is None:
        return None
    return KeyRow(
        k.id, k.prefix, k.resource_id, k.department_code, k.scope, k.request_id, k.created_by,
        k.created_at, k.expires_at, k.revoked_by, k.revoked_at,
    )  # fmt: skip


class SharingStore:
    """``db.sharing``: requests, keys, the access log and endpoint checks; each call is one
    transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def resource(self, resource_id: int) -> ResourceFacts | None:
        with self._db.reader() as s:
            return resource_facts(s, resource_id)

    def resources(
        self, *, units: Iterable[str] | None = None, published: bool = True
    ) -> list[ResourceFacts]:
        with self._db.reader() as s:
            return resources_facts(s, units=units, published=published)

    def create_request(
        self, resource_id: int, department: str, purpose: str, *, actor: str, grant_at_once: bool
    ) -> tuple[RequestRow, IssuedKey | None]:
        with self._db.session() as s:
            return create_request(
                s, resource_id, department, purpose, actor, grant_at_once=grant_at_once
            )

    def decide(
        self, request_id: int, *, approve: bool, reason: str, actor: str
    ) -> tuple[RequestRow, IssuedKey | None]:
        with self._db.session() as s:
            return decide_request(s, request_id, approve=approve, reason=reason, actor=actor)

    def withdraw(self, request_id: int, *, actor: str) -> RequestRow:
        with self._db.session() as s:
            return withdraw_request(s, request_id, actor)

    def reissue(self, request_id: int, *, actor: str) -> IssuedKey:
        with self._db.session() as s:
            return reissue_key(s, request_id, actor)

    def request(self, request_id: int) -> RequestRow | None:
        with self._db.reader() as s:
            return get_request(s, request_id)

    def requests(self, **filters: Any) -> list[RequestRow]:
        """See ``list_requests`` for the filters."""
        with self._db.reader() as s:
            return list_requests(s, **filters)

    def pending_or_live(self, resource_id: int, department: str) -> bool:
        with self._db.reader() as s:
            return pending_or_live(s, resource_id, department)

    def key_rows(
        self, *, resource_id: int | None = None, department: str | None = None
    ) -> list[KeyRow]:
        with self._db.reader() as s:
            return keys_of(s, resource_id=resource_id, department=department)

    def key(self, key_id: int) -> KeyRow | None:
        with self._db.reader() as s:
            return key_row(s, key_id)

    def key_id_of(self, plain: str) -> int | None:
        with self._db.reader() as s:
            return key_id_of(s, plain)

    def verify_read_key(self, plain: str) -> KeyGrant | None:
        """The grant of a live read key; None for an unknown, revoked or expired one."""
        with self._db.reader() as s:
            return verify_key(s, plain, KeyScope.READ)

    def revoke(self, key_id: int, *, actor: str) -> bool:
        """Revoke a key at once (audited); False when it was revoked already."""
        with self._db.session() as s:
            return revoke_key(s, key_id, actor)

    def log(self, *records: AccessRecord) -> None:
        with self._db.session() as s:
            log_access(s, records)

    def access_log(self, **filters: Any) -> tuple[list[AccessRow], int]:
        """See ``read_access_log`` for the filters."""
        with self._db.reader() as s:
            return read_access_log(s, **filters)

    def add_check(self, resource_id: int, *, ok: bool, latency_ms: float | None,
                  detail: str = "", at: datetime | None = None) -> None:  # fmt: skip
        with self._db.session() as s:
            add_check(s, resource_id, ok=ok, latency_ms=latency_ms, detail=detail, at=at)

    def checks(
        self, *, resource_id: int | None = None, since: datetime | None = None
    ) -> list[CheckRow]:
        with self._db.reader() as s:
            return read_checks(s, resource_id=resource_id, since=since)

    # The data of a resource (``cityloop.store.datastore``), for the read API.

    def table_frame(self, resource_id: int) -> pd.DataFrame:
        with self._db.reader() as s:
            return datastore.table_frame(s, resource_id)

    def sensor_page(
        self, resource: ResourceFacts, query: DataQuery
    ) -> tuple[list[dict[str, Any]], int]:
        with self._db.reader() as s:
            return datastore.sensor_page(s, resource, query)

    def published_resources(self) -> list[dict[str, Any]]:
        """Published catalogue entries with department and unit names (the open-data API)."""
        with self._db.reader() as s:
            return datastore.published_resources(s)
