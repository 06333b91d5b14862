"""Tracked projects in the store: create them from a plan, read a unit's as supervision records
(optionally as they stood on a past day), and record progress. ``db.tracking`` is the facade.

Payments and progress reports are append-only; every change is audited with before and after.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import (
    ProgressReport,
    ProjectGate,
    ProjectMilestone,
    ProjectRisk,
    ProjectSpend,
    Region,
    TrackedProjectRecord,
    TrackingStatus,
)
from cityloop.store.users import check_department
from cityloop.supervision.tracking import (
    BudgetYear,
    GateKind,
    Milestone,
    QualityGate,
    Risk,
    RiskLevel,
    SpendEntry,
    TrackedProject,
    validate_projects,
)

ENTITY = "tracked_projects"
CANCELLED = 1e-9  # a payment whose corrections bring it within this of 0 is left out


class TrackedProjectNotFoundError(CityLoopError):
    """No tracked project with this code in the unit."""


@dataclass(frozen=True)
class NewTrackedProject:
    """A project to start tracking: identity, links, baseline (budget, milestones, gates)."""

    code: str
    name_zh: str
    name_en: str
    domain: str
    phase: str
    owner_department: str | None
    start_date: date
    plan_id: int | None = None
    plan_types: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    budget: tuple[BudgetYear, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    gates: tuple[QualityGate, ...] = ()


@dataclass(frozen=True)
class StoredProject:
    """A tracked project as stored: the supervision record and what only the store knows.

    ``record.owner_department`` is ``""`` when no department owns the project.
    """

    id: int
    unit: str
    plan_id: int | None
    name_en: str
    owner_department: str | None
    status: TrackingStatus
    created_by: str
    record: TrackedProject


@dataclass(frozen=True)
class Payment:
    """A payment to add; ``corrects`` names the entry a (negative) correction applies to."""

    day: date
    amount: float
    note: str = ""
    corrects: int | None = None


@dataclass(frozen=True)
class PaymentRow:
    """A stored payment or correction, as entered."""

    id: int
    day: date
    amount: float
    note: str
    corrects: int | None
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True)
class ProgressChange:
    """Everything one progress report changes; empty parts change nothing.

    ``milestones`` maps a milestone's 1-based position to its new percentage and completion
    date; ``gates`` maps a gate to its passed date and skipped flag.
    """

    report_date: date
    percent_complete: float | None = None
    milestones: Mapping[int, tuple[float | None, date | None]] = field(default_factory=dict)
    gates: Mapping[GateKind, tuple[date | None, bool]] = field(default_factory=dict)
    payments: Sequence[Payment] = ()
    risks: Sequence[Risk] = ()
    status: TrackingStatus | None = None
    note: str = ""


# -- creating -------------------------------------------------------------------------------------


def create_projects(
    session: Session, unit: str, projects: Sequence[NewTrackedProject], actor: str
) -> list[str]:
    """Add the projects of ``unit`` not tracked yet (by code); return the codes added."""
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    tracked = set(
        session.scalars(
            select(TrackedProjectRecord.code).where(TrackedProjectRecord.unit_code == unit)
        )
    )
    new = [p for p in projects if p.code not in tracked]
    for department in sorted({p.owner_department for p in new if p.owner_department}):
        check_department(session, department, actor)
    now = utc_now()
    for p in new:
        row = TrackedProjectRecord(
            unit_code=unit, plan_id=p.plan_id, code=p.code, name_zh=p.name_zh,
            name_en=p.name_en, domain=p.domain, phase=p.phase,
            owner_department=p.owner_department, start_date=p.start_date,
            plan_types=list(p.plan_types), indicators=list(p.indicators), needs=list(p.needs),
            budget=[{"year": b.year, "planned_cost": b.planned_cost} for b in p.budget],
            percent_complete=0.0, last_update=p.start_date, status=TrackingStatus.ACTIVE,
            created_by=actor, created_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        if p.milestones:
            session.execute(insert(ProjectMilestone), [
                {"project_id": row.id, "position": k, "name": m.name,
                 "planned_date": m.planned_date, "planned_value": m.planned_value,
                 "percent_complete": m.percent_complete, "completed_date": m.completed_date}
                for k, m in enumerate(p.milestones, start=1)
            ])  # fmt: skip
        if p.gates:
            session.execute(insert(ProjectGate), [
                {"project_id": row.id, "kind": g.kind, "planned_date": g.planned_date,
                 "passed_date": g.passed_date, "skipped": g.skipped}
                for g in p.gates
            ])  # fmt: skip
        after = {"unit": unit, "code": p.code, "plan": p.plan_id, "phase": p.phase,
                 "owner_department": p.owner_department, "start": p.start_date.isoformat(),
                 "budget": row.budget, "milestones": len(p.milestones),
                 "gates": [str(g.kind) for g in p.gates]}  # fmt: skip
        record_audit(session, actor, "create", ENTITY, f"{unit}/{p.code}", after=after, at=now)
    if new:
        session.flush()
        _check(session, unit, [p.code for p in new])
    return [p.code for p in new]


# -- reading --------------------------------------------------------------------------------------


def read_projects(
    session: Session,
    unit: str,
    codes: Collection[str] | None = None,
    as_of: date | None = None,
) -> list[StoredProject]:
    """``unit``'s tracked projects (those of ``codes`` when given), ordered by phase and code.

    Five set-based queries, whatever the number of projects. With ``as_of``, each project is
    as it stood that day: the progress of the newest report dated on or before it, milestones
    completed and gates passed after it still open (payments are cut by the status date of
    earned value itself).
    """
    query = select(TrackedProjectRecord).where(TrackedProjectRecord.unit_code == unit)
    if codes is not None:
        query = query.where(TrackedProjectRecord.code.in_(set(codes)))
    rows = list(
        session.scalars(query.order_by(TrackedProjectRecord.phase, TrackedProjectRecord.code))
    )
    ids = [r.id for r in rows]
    milestones = _children(session, ProjectMilestone, ids, ProjectMilestone.position)
    gates = _children(session, ProjectGate, ids, ProjectGate.id)
    payments = _children(session, ProjectSpend, ids, ProjectSpend.id)
    risks = _children(session, ProjectRisk, ids, ProjectRisk.id)
    reports = (
        _latest_reports(session, ids, as_of) if as_of is not None else dict[int, ProgressReport]()
    )
    return [
        _stored(r, milestones[r.id], gates[r.id], payments[r.id], risks[r.id],
                reports.get(r.id), as_of)
        for r in rows
    ]  # fmt: skip


def _children(session: Session, model: Any, ids: list[int], order: Any) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    if ids:
        for row in session.scalars(
            select(model).where(model.project_id.in_(ids)).order_by(model.project_id, order)
        ):
            found[row.project_id].append(row)
    return found


def _latest_reports(session: Session, ids: list[int], as_of: date) -> dict[int, ProgressReport]:
    latest: dict[int, ProgressReport] = {}
    if ids:
        query = (
            select(ProgressReport)
            .where(ProgressReport.project_id.in_(ids), ProgressReport.report_date <= as_of)
            .order_by(ProgressReport.project_id, ProgressReport.report_date, ProgressReport.id)
        )
        latest = {r.project_id: r for r in session.scalars(query)}  # the last one wins
    return latest


def net_payments(entries: Sequence[ProjectSpend]) -> list[SpendEntry]:
    """Payments with their corrections netted in, on the corrected entry's day."""
    net: dict[int, float] = defaultdict(float)
    day: dict[int, date] = {}
    for e in entries:
        net[e.corrects_id or e.id] += e.amount
        if e.corrects_id is None:
            day[e.id] = e.day
    return [SpendEntry(day[k], amount) for k, amount in net.items() if abs(amount) > CANCELLED]


def _stored(
    row: TrackedProjectRecord,
    milestones: list[ProjectMilestone],
    gates: list[ProjectGate],
    payments: list[ProjectSpend],
    risks: list[ProjectRisk],
    report: ProgressReport | None,
    as_of: date | None,
) -> StoredProject:
    def done(day: date | None) -> date | None:
        return None if day is None or (as_of is not None and day > as_of) else day

    percents = [m.percent_complete for m in milestones]
    percent, last_update = row.percent_complete, row.last_update
    if as_of is not None:
        # Before any report the project stood at its baseline: nothing done, reported at start.
        percent = report.percent_complete if report else 0.0
        last_update = report.report_date if report else row.start_date
        percents = list(report.milestones) if report else [0.0] * len(milestones)
    record = TrackedProject(
        code=row.code,
        name=row.name_zh,
        domain=row.domain,
        phase=row.phase,
        owner_department=row.owner_department or "",
        start_date=row.start_date,
        last_update=last_update,
        plan_types=tuple(row.plan_types),
        indicators=tuple(row.indicators),
        needs=tuple(row.needs),
        budget=tuple(BudgetYear(int(b["year"]), float(b["planned_cost"])) for b in row.budget),
        milestones=tuple(
            Milestone(m.name, m.planned_date, m.planned_value, p, done(m.completed_date))
            for m, p in zip(milestones, percents, strict=True)
        ),
        gates=tuple(
            QualityGate(GateKind(g.kind), g.planned_date, done(g.passed_date), g.skipped)
            for g in gates
        ),
        spend=tuple(net_payments(payments)),
        risks=tuple(Risk(r.text, RiskLevel(r.level)) for r in risks),
        percent_complete=percent,
    )
    return StoredProject(
        id=row.id, unit=row.unit_code, plan_id=row.plan_id, name_en=row.name_en,
        owner_department=row.owner_department, status=TrackingStatus(row.status),
        created_by=row.created_by, record=record,
    )  # fmt: skip


def _check(session: Session, unit: str, codes: Sequence[str]) -> None:
    """Refuse (and so roll back) a change that leaves a project invalid for supervision."""
    validate_projects([p.record for p in read_projects(session, unit, codes)])


def _one(session: Session, unit: str, code: str) -> StoredProject:
    found = read_projects(session, unit, [code])
    if not found:
        raise TrackedProjectNotFoundError("supervision.store.unknown_project", code=code, unit=unit)
    return found[0]


# -- recording progress ---------------------------------------------------------------------------


def _problems(
    row: TrackedProjectRecord,
    milestones: Mapping[int, ProjectMilestone],
    gates: Mapping[GateKind, ProjectGate],
    payments: Mapping[int, list[ProjectSpend]],
    change: ProgressChange,
) -> list[Problem]:
    """What is wrong with ``change`` for this project, each placed at its field."""

    def problem(key: str, column: str, **params: Any) -> Problem:
        return Problem(key, {"code": row.code, **params}, Location(column=column))

    found: list[Problem] = []
    if row.status == TrackingStatus.CLOSED and change.status in (None, TrackingStatus.CLOSED):
        found.append(problem("supervision.store.closed", "status"))
    if change.report_date < row.start_date:
        found.append(problem("supervision.store.report_before_start", "report_date",
                             day=change.report_date.isoformat(),
                             start=row.start_date.isoformat()))  # fmt: skip
    found += [
        problem("supervision.store.unknown_milestone", f"milestones.{k}", position=k)
        for k in change.milestones
        if k not in milestones
    ]
    found += [
        problem("supervision.store.unknown_gate", f"gates.{kind}", gate=kind.value)
        for kind in change.gates
        if kind not in gates
    ]
    for k, pay in enumerate(change.payments, start=1):
        where = f"spend.{k}"
        if pay.corrects is None:
            if not pay.amount > 0:
                found.append(problem("supervision.store.payment_not_positive", where,
                                     value=pay.amount))  # fmt: skip
            continue
        entries = payments.get(pay.corrects)
        if entries is None:
            found.append(problem("supervision.store.unknown_payment", where, entry=pay.corrects))
        elif sum(e.amount for e in entries) + pay.amount < -CANCELLED:
            found.append(problem("supervision.store.correction_too_large", where,
                                 entry=pay.corrects, value=pay.amount,
                                 left=round(sum(e.amount for e in entries), 2)))  # fmt: skip
    return found


def record_progress(
    session: Session, unit: str, code: str, change: ProgressChange, actor: str
) -> StoredProject:
    """Apply one progress report to ``unit``'s project ``code`` and keep the report.

    Each kind of change (progress and milestones, gates, payments, risks) is audited with its
    before and after. A change that leaves the project invalid is refused whole.

    Raises
    ------
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    InputError
        ``supervision.store.invalid_update`` with one problem per fault; nothing is written.
    """
    stored = _one(session, unit, code)
    row = session.get_one(TrackedProjectRecord, stored.id)
    milestones = {
        m.position: m
        for m in session.scalars(
            select(ProjectMilestone).where(ProjectMilestone.project_id == row.id)
        )
    }
    gates = {
        GateKind(g.kind): g
        for g in session.scalars(select(ProjectGate).where(ProjectGate.project_id == row.id))
    }
    payments: dict[int, list[ProjectSpend]] = defaultdict(list)
    for e in session.scalars(
        select(ProjectSpend).where(ProjectSpend.project_id == row.id).order_by(ProjectSpend.id)
    ):
        payments[e.corrects_id or e.id].append(e)
    problems = _problems(row, milestones, gates, payments, change)
    if problems:
        raise InputError("supervision.store.invalid_update", problems, code=code, unit=unit)
    now, entity = utc_now(), f"{unit}/{code}"

    def audit(action: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        record_audit(session, actor, action, ENTITY, entity, before=before, after=after, at=now)

    before = _progress_state(row, milestones)
    if change.percent_complete is not None:
        row.percent_complete = change.percent_complete
    for k, (percent, completed) in change.milestones.items():
        if percent is not None:
            milestones[k].percent_complete = percent
        milestones[k].completed_date = completed
    row.last_update = max(row.last_update, change.report_date)
    if change.status is not None:
        row.status = change.status
    audit("progress", before, _progress_state(row, milestones))
    if change.gates:
        audit("gates", _gate_state(gates, change.gates), _gate_state(gates, change.gates, change))
        for kind, (passed, skipped) in change.gates.items():
            gates[kind].passed_date, gates[kind].skipped = passed, skipped
    if change.payments:
        added = [
            {"project_id": row.id, "day": p.day, "amount": p.amount, "note": p.note,
             "corrects_id": p.corrects, "entered_by": actor, "entered_at": now}
            for p in change.payments
        ]  # fmt: skip
        session.execute(insert(ProjectSpend), added)
        audit("spend", {"paid": stored_paid(stored)}, {
            "paid": round(stored_paid(stored) + sum(p.amount for p in change.payments), 6),
            "entries": [{"day": p.day.isoformat(), "amount": p.amount, "corrects": p.corrects}
                        for p in change.payments]})  # fmt: skip
    if change.risks:
        session.execute(insert(ProjectRisk), [
            {"project_id": row.id, "text": r.text, "level": r.level} for r in change.risks
        ])  # fmt: skip
        audit("risk", {"risks": len(stored.record.risks)}, {
            "risks": len(stored.record.risks) + len(change.risks),
            "added": [{"text": r.text, "level": r.level.value} for r in change.risks]})  # fmt: skip
    session.add(ProgressReport(
        project_id=row.id, report_date=change.report_date,
        percent_complete=row.percent_complete,
        milestones=[milestones[k].percent_complete for k in sorted(milestones)],
        note=change.note, reported_by=actor, reported_at=now,
    ))  # fmt: skip
    session.flush()
    _check(session, unit, [code])
    return _one(session, unit, code)


def stored_paid(project: StoredProject) -> float:
    """Money paid on the project so far (corrections netted in)."""
    return round(sum(s.amount for s in project.record.spend), 6)


def _progress_state(
    row: TrackedProjectRecord, milestones: Mapping[int, ProjectMilestone]
) -> dict[str, Any]:
    return {
        "percent_complete": row.percent_complete,
        "last_update": row.last_update.isoformat(),
        "status": str(row.status),
        "milestones": [
            {"position": k, "percent_complete": m.percent_complete,
             "completed": None if m.completed_date is None else m.completed_date.isoformat()}
            for k, m in sorted(milestones.items())
        ],
    }  # fmt: skip


def _gate_state(
    gates: Mapping[GateKind, ProjectGate],
    changed: Mapping[GateKind, tuple[date | None, bool]],
    change: ProgressChange | None = None,
) -> dict[str, Any]:
    def state(kind: GateKind) -> dict[str, Any]:
        passed, skipped = (
            change.gates[kind] if change else (gates[kind].passed_date, gates[kind].skipped)
        )
        return {"passed": None if passed is None else passed.isoformat(), "skipped": skipped}

    return {kind.value: state(kind) for kind in changed}


# -- the facade -----------------------------------------------------------------------------------


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
            return _one(s, unit, code)

    def payments(self, unit: str, code: str) -> list[PaymentRow]:
        """A project's payments and corrections in the order they were entered."""
        with self._db.reader() as s:
            project = _one(s, unit, code)
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
