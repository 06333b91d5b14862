"""Collection rounds and reminders (催报): open a round, list rounds, record and read reminders,
and read the stored cells of a round's year with who entered them and when.

Every write adds an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.frameworks import stored_framework
from cityloop.store.models import (
    CollectionReminder,
    CollectionRound,
    Department,
    IndicatorValue,
    Region,
)

ROUND_ENTITY = "collection_rounds"
REMINDER_ENTITY = "collection_reminders"
CELL_COLUMNS = (
    "unit", "indicator", "value", "source", "note", "entered_by", "entered_at", "origin_kind",
)  # fmt: skip


@dataclass(frozen=True)
class RoundRow:
    """A collection round: framework and year, the deadline moment, who opened it and when."""

    id: int
    framework_id: str
    year: int
    deadline: datetime
    note: str
    opened_by: str
    opened_at: datetime


@dataclass(frozen=True)
class ReminderRow:
    """A reminder sent to a department about a round; ``unit`` None: every region."""

    id: int
    round_id: int
    department: str
    unit: str | None
    message: str
    sent_by: str
    sent_at: datetime


def open_round(
    session: Session, framework_id: str, year: int, deadline: datetime, note: str, actor: str
) -> RoundRow:
    """Open a round for a stored framework; refuse a second round of the same framework and
    year."""
    stored_framework(session, framework_id)  # raises for a framework not in the database
    taken = select(CollectionRound.id).where(
        CollectionRound.framework_id == framework_id, CollectionRound.year == year
    )
    if session.scalar(taken) is not None:
        raise InputError("collect.round_exists", framework=framework_id, year=year)
    row = CollectionRound(
        framework_id=framework_id,
        year=year,
        deadline=deadline,
        note=note,
        opened_by=actor,
        opened_at=utc_now(),
    )
    session.add(row)
    session.flush()
    opened = _round(row)
    record_audit(
        session,
        actor,
        "open",
        ROUND_ENTITY,
        str(opened.id),
        after={
            "framework": framework_id,
            "year": year,
            "deadline": deadline.isoformat(),
            "note": note,
        },
        at=opened.opened_at,
    )
    return opened


def list_rounds(session: Session, framework_id: str | None = None) -> list[RoundRow]:
    """Rounds, newest year first (then newest opened)."""
    query = select(CollectionRound).order_by(CollectionRound.year.desc(), CollectionRound.id.desc())
    if framework_id is not None:
        query = query.where(CollectionRound.framework_id == framework_id)
    return [_round(r) for r in session.scalars(query)]


def get_round(session: Session, round_id: int) -> RoundRow | None:
    """One round; None when unknown."""
    row = session.get(CollectionRound, round_id)
    return None if row is None else _round(row)


def add_reminder(
    session: Session,
    round_id: int,
    department: str,
    unit: str | None,
    message: str,
    actor: str,
) -> ReminderRow:
    """Record a reminder to ``department`` (for the region ``unit``, None: all regions)."""
    if session.get(CollectionRound, round_id) is None:
        raise InputError("collect.unknown_round", round=round_id)
    if session.get(Department, department) is None:
        raise InputError("collect.unknown_department", department=department)
    if unit is not None and session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    row = CollectionReminder(
        round_id=round_id,
        department_code=department,
        unit_code=unit,
        message=message,
        sent_by=actor,
        sent_at=utc_now(),
    )
    session.add(row)
    session.flush()
    sent = _reminder(row)
    record_audit(
        session,
        actor,
        "remind",
        REMINDER_ENTITY,
        str(sent.id),
        after={"round": round_id, "department": department, "unit": unit, "message": message},
        at=sent.sent_at,
    )
    return sent


def list_reminders(
    session: Session, round_id: int, department: str | None = None
) -> list[ReminderRow]:
    """A round's reminders (to one department when given), newest first."""
    query = (
        select(CollectionReminder)
        .where(CollectionReminder.round_id == round_id)
        .order_by(CollectionReminder.sent_at.desc(), CollectionReminder.id.desc())
    )
    if department is not None:
        query = query.where(CollectionReminder.department_code == department)
    return [_reminder(r) for r in session.scalars(query)]


def round_cells(
    session: Session, framework_id: str, year: int, units: Sequence[str] | None = None
) -> pd.DataFrame:
    """The stored values of one framework and year (of ``units`` when given) with who entered
    each and when: columns ``CELL_COLUMNS``."""
    v = IndicatorValue
    query = select(
        v.region_code, v.indicator, v.value, v.source, v.note, v.entered_by, v.entered_at,
        v.origin_kind,
    ).where(v.framework_id == framework_id, v.year == year)  # fmt: skip
    if units is not None:
        query = query.where(v.region_code.in_(list(units)))
    frame = pd.DataFrame(session.execute(query).all(), columns=list(CELL_COLUMNS))
    return frame.astype({"unit": "string", "indicator": "string", "value": "float64"})


def _round(row: CollectionRound) -> RoundRow:
    return RoundRow(
        id=row.id,
        framework_id=row.framework_id,
        year=row.year,
        deadline=row.deadline,
        note=row.note,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
    )


def _reminder(row: CollectionReminder) -> ReminderRow:
    return ReminderRow(
        id=row.id,
        round_id=row.round_id,
        department=row.department_code,
        unit=row.unit_code,
        message=row.message,
        sent_by=row.sent_by,
        sent_at=row.sent_at,
    )
