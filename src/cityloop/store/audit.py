"""The audit log's one writer: every change made through the store adds a row here.

Rows are only ever added; the database itself refuses to change or remove them (triggers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.store.models import AuditEntry


def utc_now() -> datetime:
    return datetime.now(UTC)


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no such numbers and PostgreSQL
    refuses them in a JSON column."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one audit row in the caller's transaction, so it commits (or not) with the change."""
    session.execute(
        insert(AuditEntry),
        {
            "at": at or utc_now(),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": None if before is None else json_safe(before),
            "after": None if after is None else json_safe(after),
        },
    )


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as read back: who, when, what (action, entity, id), before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def read_audit(session: Session, *, after_id: int = 0, entity: str | None = None) -> list[AuditRow]:
    """The audit entries with an id above ``after_id`` (of one ``entity`` when given), oldest
    first; reading is all the store offers besides ``record_audit``."""
    query = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    return [
        AuditRow(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.before, e.after)
        for e in session.scalars(query)
    ]
