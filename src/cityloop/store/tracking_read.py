"""Tracked projects as the store keeps them: the record types passed in and out of
``db.tracking`` and the set-based reads (optionally as a project stood on a past day).

Writers live in ``tracking_write`` (create, progress) and ``tracking_baseline`` (变更).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.errors import CityLoopError
from cityloop.store.models import (
    ProgressReport,
    ProjectGate,
    ProjectMilestone,
    ProjectRisk,
    ProjectSpend,
    TrackedProjectRecord,
    TrackingStatus,
)
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
    ``milestone_positions`` are the stored positions of ``record.milestones`` (a position is
    never reused, so a removed milestone leaves a gap) and ``risk_ids`` the ids of
    ``record.risks`` (the open ones): progress reports and baseline changes name them by these;
    ``closed_risks`` are those closed since, oldest first.
    """

    id: int
    unit: str
    plan_id: int | None
    name_en: str
    owner_department: str | None
    status: TrackingStatus
    created_by: str
    record: TrackedProject
    milestone_positions: tuple[int, ...] = ()
    risk_ids: tuple[int, ...] = ()
    closed_risks: tuple[ClosedRisk, ...] = ()


@dataclass(frozen=True)
class ClosedRisk:
    """A risk taken off the register, kept on record: when and by whom."""

    text: str
    level: RiskLevel
    closed_on: date
    closed_by: str


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
    open_risks = [r for r in risks if r.closed_on is None]
    if as_of is not None:
        # Before any report the project stood at its baseline: nothing done, reported at start.
        percent = report.percent_complete if report else 0.0
        last_update = report.report_date if report else row.start_date
        # A report lists percentages by milestone position (gaps at removed milestones);
        # a milestone added after the report had made no progress by then.
        reported = list(report.milestones) if report else []
        percents = [
            reported[m.position - 1] if m.position <= len(reported) else 0.0 for m in milestones
        ]
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
        risks=tuple(Risk(r.text, RiskLevel(r.level)) for r in open_risks),
        percent_complete=percent,
    )
    return StoredProject(
        id=row.id, unit=row.unit_code, plan_id=row.plan_id, name_en=row.name_en,
        owner_department=row.owner_department, status=TrackingStatus(row.status),
        created_by=row.created_by, record=record,
        milestone_positions=tuple(m.position for m in milestones),
        risk_ids=tuple(r.id for r in open_risks),
        closed_risks=tuple(sorted(
            (ClosedRisk(r.text, RiskLevel(r.level), r.closed_on, r.closed_by or "")
             for r in risks if r.closed_on is not None),
            key=lambda c: c.closed_on)),
    )  # fmt: skip


def check_projects(session: Session, unit: str, codes: Sequence[str]) -> None:
    """Refuse (and so roll back) a change that leaves a project invalid for supervision."""
    validate_projects([p.record for p in read_projects(session, unit, codes)])


def one_project(session: Session, unit: str, code: str) -> StoredProject:
    found = read_projects(session, unit, [code])
    if not found:
        raise TrackedProjectNotFoundError("supervision.store.unknown_project", code=code, unit=unit)
    return found[0]


def stored_paid(project: StoredProject) -> float:
    """Money paid on the project so far (corrections netted in)."""
    return round(sum(s.amount for s in project.record.spend), 6)


@dataclass(frozen=True)
class ProgressEntry:
    """One progress report as it was made: its day, the share complete, each milestone's
    share complete (by stored position), the note, who reported it and when."""

    report_date: date
    percent_complete: float
    milestones: list[float]
    note: str
    reported_by: str
    reported_at: datetime


def read_history(session: Session, project_id: int) -> list[ProgressEntry]:
    """The project's progress reports, newest first."""
    query = (
        select(ProgressReport)
        .where(ProgressReport.project_id == project_id)
        .order_by(ProgressReport.report_date.desc(), ProgressReport.id.desc())
    )
    return [
        ProgressEntry(r.report_date, r.percent_complete, list(r.milestones or []), r.note,
                      r.reported_by, r.reported_at)
        for r in session.scalars(query)
    ]  # fmt: skip


def count_projects(session: Session, units: Sequence[str]) -> dict[str, int]:
    """How many projects each of ``units`` tracks (units tracking none are left out)."""
    query = (
        select(TrackedProjectRecord.unit_code, func.count())
        .where(TrackedProjectRecord.unit_code.in_(list(units)))
        .group_by(TrackedProjectRecord.unit_code)
    )
    return {str(unit): int(n) for unit, n in session.execute(query)}
