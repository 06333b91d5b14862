"""Saved plans in the store: a unit's named plan with the settings it was solved with and the
result as JSON. ``db.plans`` (a ``PlanStore``) is the facade; every save is audited.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.store.audit import json_safe, record_audit, utc_now
from cityloop.store.models import Plan, Region

PLAN_ENTITY = "plans"


@dataclass(frozen=True)
class PlanRow:
    """A stored plan as written: settings and result are the JSON the service gave."""

    id: int
    unit: str
    name: str
    framework_id: str
    first_year: int
    settings: dict[str, Any]
    result: dict[str, Any]
    created_by: str
    created_at: datetime


def _row(plan: Plan) -> PlanRow:
    return PlanRow(
        id=plan.id,
        unit=plan.unit_code,
        name=plan.name,
        framework_id=plan.framework_id,
        first_year=plan.first_year,
        settings=dict(plan.settings),
        result=dict(plan.result),
        created_by=plan.created_by,
        created_at=plan.created_at,
    )


def save_plan(
    session: Session,
    unit: str,
    name: str,
    framework_id: str,
    first_year: int,
    settings: Mapping[str, Any],
    result: Mapping[str, Any],
    actor: str,
) -> PlanRow:
    """Add a plan of ``unit`` (which must be a stored region) and audit it."""
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    now = utc_now()
    plan = Plan(
        unit_code=unit,
        name=name,
        framework_id=framework_id,
        first_year=first_year,
        settings=json_safe(dict(settings)),
        result=json_safe(dict(result)),
        created_by=actor,
        created_at=now,
    )
    session.add(plan)
    session.flush()
    summary = {"unit": unit, "name": name, "framework": framework_id, "first_year": first_year}
    record_audit(session, actor, "create", PLAN_ENTITY, str(plan.id), after=summary, at=now)
    return _row(plan)


def list_plans(session: Session, units: Collection[str] | None = None) -> list[PlanRow]:
    """Saved plans (of ``units`` when given), newest first."""
    query = select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())
    if units is not None:
        query = query.where(Plan.unit_code.in_(set(units)))
    return [_row(p) for p in session.scalars(query)]


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


class PlanStore:
    """``db.plans``: saved plans, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def save(
        self,
        unit: str,
        name: str,
        framework_id: str,
        first_year: int,
        settings: Mapping[str, Any],
        result: Mapping[str, Any],
        *,
        actor: str,
    ) -> PlanRow:
        with self._db.session() as s:
            return save_plan(s, unit, name, framework_id, first_year, settings, result, actor)

    def list(self, units: Collection[str] | None = None) -> list[PlanRow]:
        with self._db.reader() as s:
            return list_plans(s, units)

    def get(self, plan_id: int) -> PlanRow | None:
        with self._db.reader() as s:
            plan = s.get(Plan, plan_id)
            return None if plan is None else _row(plan)
