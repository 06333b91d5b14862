"""A unit's project-catalogue overrides and own projects in the store (table ``plan_projects``).
``db.plan_projects`` (a ``PlanProjectStore``) is the facade; every change is audited.

A row holds only the fields the unit set; ``cityloop.planning.project_catalogue`` merges them
with the shipped catalogue and validates the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.store.audit import json_safe, record_audit, utc_now
from cityloop.store.models import PlanProject, Region

PLAN_PROJECT_ENTITY = "plan_projects"

Overrides = dict[str, dict[str, Any]]
# Called with the overrides a change would leave; raising refuses the change (nothing written).
OverrideCheck = Callable[[Overrides], None]


@dataclass(frozen=True)
class StoredOverride:
    """One unit's override of a project (or its own project): the fields, who set them, when."""

    unit: str
    code: str
    fields: dict[str, Any]
    updated_by: str
    updated_at: datetime


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


def _rows(session: Session, unit: str) -> dict[str, PlanProject]:
    query = select(PlanProject).where(PlanProject.unit_code == unit).order_by(PlanProject.id)
    return {row.code: row for row in session.scalars(query)}


def write_overrides(
    session: Session,
    unit: str,
    changes: Mapping[str, Mapping[str, Any] | None],
    *,
    actor: str,
    replace: bool = False,
    check: OverrideCheck | None = None,
) -> Overrides:
    """Set (a mapping) or remove (None or an empty mapping) each code's override of ``unit``.

    ``replace`` removes every override that ``changes`` does not name. ``check`` sees the
    overrides the change would leave before anything is written; the whole change is refused
    when it raises. Returns the unit's overrides afterwards.
    """
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    rows = _rows(session, unit)
    current: Overrides = {code: dict(row.fields) for code, row in rows.items()}
    wanted: Overrides = {} if replace else dict(current)
    for code, fields in changes.items():
        if fields:
            wanted[code] = json_safe(dict(fields))
        else:
            wanted.pop(code, None)
    if check is not None:
        check(wanted)
    now = utc_now()
    for code in [c for c in current if c not in wanted]:
        session.execute(delete(PlanProject).where(PlanProject.id == rows[code].id))
        record_audit(session, actor, "delete", PLAN_PROJECT_ENTITY, f"{unit}/{code}",
                     before=current[code], at=now)  # fmt: skip
    for code, fields in wanted.items():
        if current.get(code) == fields:
            continue
        if code in rows:
            rows[code].fields, rows[code].updated_by, rows[code].updated_at = fields, actor, now
        else:
            session.add(PlanProject(unit_code=unit, code=code, fields=fields,
                                    updated_by=actor, updated_at=now))  # fmt: skip
        record_audit(session, actor, "update" if code in current else "create",
                     PLAN_PROJECT_ENTITY, f"{unit}/{code}",
                     before=current.get(code), after=fields, at=now)  # fmt: skip
    session.flush()
    return wanted


class PlanProjectStore:
    """``db.plan_projects``: each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def overrides(self, unit: str) -> Overrides:
        """The unit's overrides by project code (in the order they were first set)."""
        with self._db.reader() as s:
            return {code: dict(row.fields) for code, row in _rows(s, unit).items()}

    def stored(self, unit: str) -> list[StoredOverride]:
        """The unit's overrides with who last changed each and when."""
        with self._db.reader() as s:
            return [
                StoredOverride(unit, r.code, dict(r.fields), r.updated_by, r.updated_at)
                for r in _rows(s, unit).values()
            ]

    def units(self) -> list[str]:
        """Units that have at least one override."""
        with self._db.reader() as s:
            query = select(PlanProject.unit_code).distinct().order_by(PlanProject.unit_code)
            return list(s.scalars(query))

    def write(
        self,
        unit: str,
        changes: Mapping[str, Mapping[str, Any] | None],
        *,
        actor: str,
        replace: bool = False,
        check: OverrideCheck | None = None,
    ) -> Overrides:
        """``write_overrides`` in one transaction (all or nothing)."""
        with self._db.session() as s:
            return write_overrides(s, unit, changes, actor=actor, replace=replace, check=check)
