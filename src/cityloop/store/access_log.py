"""The hub's access log and endpoint checks in the store: one row per API access to a
resource's data (refusals included), one per probe of a resource's service endpoint.

Only ever appended; ``db.sharing`` (``cityloop.store.sharing.SharingStore``) is the facade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cityloop.store.audit import utc_now
from cityloop.store.models import AccessEntry, DataResource, ResourceCheck

LOG_PAGE = 100  # access-log rows per page unless asked otherwise


@dataclass(frozen=True)
class AccessRecord:
    """One access to log: who (key or user, department) did what to which resource, and the
    HTTP status they got; ``rows`` is how many data rows went out."""

    operation: str
    status: int
    resource_id: int | None = None
    key_id: int | None = None
    department: str | None = None
    actor: str = ""
    rows: int = 0
    client: str = ""
    at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class AccessRow:
    """A stored access-log entry."""

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


@dataclass(frozen=True)
class CheckRow:
    """One stored probe of a resource's endpoint."""

    resource_id: int
    at: datetime
    ok: bool
    latency_ms: float | None
    detail: str


def log_access(session: Session, records: Sequence[AccessRecord]) -> None:
    """Append access-log entries (one per API access, refusals included)."""
    if records:
        session.execute(
            insert(AccessEntry),
            [
                {
                    "at": r.at,
                    "resource_id": r.resource_id,
                    "key_id": r.key_id,
                    "department_code": r.department,
                    "actor": r.actor[:64],
                    "operation": r.operation,
                    "status": r.status,
                    "rows": r.rows,
                    "client": r.client[:100],
                }
                for r in records
            ],
        )


def read_access_log(
    session: Session,
    *,
    resource_id: int | None = None,
    department: str | None = None,
    involving: str | None = None,
    units: Iterable[str] | None = None,
    since: datetime | None = None,
    limit: int = LOG_PAGE,
    offset: int = 0,
) -> tuple[list[AccessRow], int]:
    """One page of the access log, newest first, and how many entries match in all.

    Filters (all must hold): the resource; the accessing ``department``; ``involving`` a
    department (accesses it made, or accesses to its resources); resources of ``units``;
    entries ``since`` a moment.
    """
    conditions: list[Any] = []
    if resource_id is not None:
        conditions.append(AccessEntry.resource_id == resource_id)
    if department is not None:
        conditions.append(AccessEntry.department_code == department)
    if involving is not None:
        owned = select(DataResource.id).where(DataResource.department_code == involving)
        conditions.append(
            (AccessEntry.department_code == involving) | AccessEntry.resource_id.in_(owned)
        )
    if units is not None:
        in_units = select(DataResource.id).where(DataResource.unit_code.in_(sorted(units)))
        conditions.append(AccessEntry.resource_id.in_(in_units))
    if since is not None:
        conditions.append(AccessEntry.at >= since)
    total = session.scalar(select(func.count()).select_from(AccessEntry).where(*conditions))
    query = (
        select(AccessEntry)
        .where(*conditions)
        .order_by(AccessEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [
        AccessRow(
            e.id,
            e.at,
            e.resource_id,
            e.key_id,
            e.department_code,
            e.actor,
            e.operation,
            e.status,
            e.rows,
            e.client,
        )
        for e in session.scalars(query)
    ]
    return rows, int(total or 0)


def add_check(
    session: Session,
    resource_id: int,
    *,
    ok: bool,
    latency_ms: float | None,
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Record one probe of a resource's endpoint."""
    session.execute(
        insert(ResourceCheck),
        {
            "resource_id": resource_id,
            "at": at or utc_now(),
            "ok": ok,
            "latency_ms": latency_ms,
            "detail": detail[:300],
        },
    )


def read_checks(
    session: Session, *, resource_id: int | None = None, since: datetime | None = None
) -> list[CheckRow]:
    """Endpoint probes, oldest first, of one resource or all, since a moment."""
    query = select(ResourceCheck).order_by(ResourceCheck.at, ResourceCheck.id)
    if resource_id is not None:
        query = query.where(ResourceCheck.resource_id == resource_id)
    if since is not None:
        query = query.where(ResourceCheck.at >= since)
    return [
        CheckRow(c.resource_id, c.at, c.ok, c.latency_ms, c.detail) for c in session.scalars(query)
    ]
