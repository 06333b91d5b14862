"""Writing tracked projects: start tracking a plan's projects and apply progress reports
(payments and reports append-only), each change audited with its before and after.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.errors import InputError, Location, Problem
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
from cityloop.store.tracking_read import (
    CANCELLED,
    ENTITY,
    NewTrackedProject,
    ProgressChange,
    StoredProject,
    check_projects,
    one_project,
    stored_paid,
)
from cityloop.store.users import check_department
from cityloop.supervision.tracking import GateKind

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
        check_projects(session, unit, [p.code for p in new])
    return [p.code for p in new]


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
    stored = one_project(session, unit, code)
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
        milestones=reported_percentages(milestones),
        note=change.note, reported_by=actor, reported_at=now,
    ))  # fmt: skip
    session.flush()
    check_projects(session, unit, [code])
    return one_project(session, unit, code)


def reported_percentages(milestones: Mapping[int, ProjectMilestone]) -> list[float]:
    """A progress report's milestone percentages, indexed by position − 1 (0 at a gap)."""
    last = max(milestones, default=0)
    return [milestones[k].percent_complete if k in milestones else 0.0 for k in range(1, last + 1)]


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
