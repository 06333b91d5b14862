"""Tracked projects in the store: ``db.tracking`` creates them from a plan, reads a unit's as
supervision records (optionally as they stood on a past day), records progress and changes
baselines, each call one transaction.

The records and reads live in ``tracking_read``, the writers in ``tracking_write`` and
``tracking_baseline``; their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.store.models import ProjectSpend
from cityloop.store.tracking_baseline import BaselineEdit, MilestoneEdit, RiskEdit, change_baseline
from cityloop.store.tracking_read import (
    CANCELLED,
    ENTITY,
    NewTrackedProject,
    Payment,
    PaymentRow,
    ProgressChange,
    ProgressEntry,
    StoredProject,
    TrackedProjectNotFoundError,
    count_projects,
    net_payments,
    one_project,
    read_history,
    read_projects,
    stored_paid,
)
from cityloop.store.tracking_write import create_projects, record_progress


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


class TrackingStore:
    """``db.tracking``: tracked projects and their progress, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def create(self, unit: str, projects: Sequence[NewTrackedProject], *, actor: str) -> list[str]:
        """Start tracking the projects not tracked yet; the codes added."""
        with self._db.session() as s:
            return create_projects(s, unit, projects, actor)

    def projects(
        self, unit: str, codes: Collection[str] | None = None, *, as_of: date | None = None
    ) -> list[StoredProject]:
        """The unit's tracked projects (as of a day when given)."""
        with self._db.reader() as s:
            return read_projects(s, unit, codes, as_of)

    def project(self, unit: str, code: str) -> StoredProject:
        """One tracked project; ``TrackedProjectNotFoundError`` when there is none."""
        with self._db.reader() as s:
            return one_project(s, unit, code)

    def counts(self, units: Sequence[str]) -> dict[str, int]:
        """How many projects each of ``units`` tracks (units tracking none are left out)."""
        if not units:
            return {}
        with self._db.reader() as s:
            return count_projects(s, units)

    def history(self, project_id: int) -> list[ProgressEntry]:
        """A tracked project's progress reports, newest first."""
        with self._db.reader() as s:
            return read_history(s, project_id)

    def payments(self, unit: str, code: str) -> list[PaymentRow]:
        """A project's payments and corrections in the order they were entered."""
        with self._db.reader() as s:
            project = one_project(s, unit, code)
            query = select(ProjectSpend).where(ProjectSpend.project_id == project.id)
            return [
                PaymentRow(e.id, e.day, e.amount, e.note, e.corrects_id, e.entered_by,
                           e.entered_at)
                for e in s.scalars(query.order_by(ProjectSpend.id))
            ]  # fmt: skip

    def record(self, unit: str, code: str, change: ProgressChange, *, actor: str) -> StoredProject:
        """Apply a progress report (audited); the project afterwards."""
        with self._db.session() as s:
            return record_progress(s, unit, code, change, actor)

    def record_many(
        self, unit: str, changes: Sequence[tuple[str, ProgressChange]], *, actor: str
    ) -> list[StoredProject]:
        """Apply several progress reports (project code, report) all or nothing, in one
        transaction: the first refused report rolls every one back."""
        with self._db.session() as s:
            return [record_progress(s, unit, code, change, actor) for code, change in changes]

    def change_baseline(
        self, unit: str, code: str, edit: BaselineEdit, *, actor: str
    ) -> tuple[StoredProject, list[str]]:
        """Change a project's baseline (audited with its reason); the project afterwards and
        the parts that changed (empty: nothing differed, nothing written)."""
        with self._db.session() as s:
            return change_baseline(s, unit, code, edit, actor)


__all__ = [
    "CANCELLED",
    "ENTITY",
    "BaselineEdit",
    "MilestoneEdit",
    "NewTrackedProject",
    "Payment",
    "PaymentRow",
    "ProgressChange",
    "ProgressEntry",
    "RiskEdit",
    "StoredProject",
    "TrackedProjectNotFoundError",
    "TrackingStore",
    "net_payments",
    "read_projects",
    "stored_paid",
]
