"""Changing a tracked project's baseline (变更): owner department, milestones, gate dates,
yearly budget and the risk register, with a required reason, audited with before and after.

Payments and progress reports are append-only and never touched here. A milestone keeps its
position for life (a removed one leaves a gap), so past reports still match their milestones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.errors import InputError, Location, Problem
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import (
    ProgressReport,
    ProjectGate,
    ProjectMilestone,
    ProjectRisk,
    TrackedProjectRecord,
    TrackingStatus,
)
from cityloop.store.tracking_read import ENTITY, StoredProject, check_projects, one_project
from cityloop.store.users import check_department
from cityloop.supervision.tracking import GateKind, RiskLevel

PARTS = ("owner_department", "budget", "milestones", "gates", "risks")


@dataclass(frozen=True)
class MilestoneEdit:
    """A milestone to add (``position`` None), change (the fields given) or remove."""

    position: int | None
    name: str | None = None
    planned_date: date | None = None
    planned_value: float | None = None
    remove: bool = False


@dataclass(frozen=True)
class RiskEdit:
    """A risk to add (``id`` None), re-word or re-level, or close (taken off the register,
    kept on record with the day and who closed it)."""

    id: int | None
    text: str | None = None
    level: RiskLevel | None = None
    close: bool = False


@dataclass(frozen=True)
class BaselineEdit:
    """One baseline change; parts left empty (or ``None``) stay as they are.

    ``owner_department`` ``""`` removes the owner; ``budget`` maps a year to its planned cost
    (万元), ``None`` dropping the year; ``gates`` maps a gate to its new planned date.
    """

    reason: str
    owner_department: str | None = None
    milestones: Sequence[MilestoneEdit] = ()
    gates: Mapping[GateKind, date] = field(default_factory=dict)
    budget: Mapping[int, float | None] = field(default_factory=dict)
    risks: Sequence[RiskEdit] = ()


def _problems(
    row: TrackedProjectRecord,
    milestones: Mapping[int, ProjectMilestone],
    gates: Mapping[GateKind, ProjectGate],
    risks: Mapping[int, ProjectRisk],
    edit: BaselineEdit,
) -> list[Problem]:
    """What is wrong with ``edit`` for this project, each placed at its field."""

    def problem(key: str, column: str, **params: Any) -> Problem:
        return Problem(key, {"code": row.code, **params}, Location(column=column))

    found: list[Problem] = []
    if not edit.reason.strip():
        found.append(problem("supervision.baseline.no_reason", "reason"))
    if row.status == TrackingStatus.CLOSED:
        found.append(problem("supervision.baseline.closed", "status"))
    for k, m in enumerate(edit.milestones, start=1):
        where = f"milestones.{k}"
        if m.position is None:
            if m.remove or None in (m.name, m.planned_date, m.planned_value):
                found.append(problem("supervision.baseline.incomplete_milestone", where))
        elif m.position not in milestones:
            found.append(problem("supervision.store.unknown_milestone", where, position=m.position))
        elif m.remove and milestones[m.position].completed_date is not None:
            done = milestones[m.position]
            found.append(problem("supervision.baseline.completed_milestone", where,
                                 position=m.position, milestone=done.name,
                                 day=str(done.completed_date)))  # fmt: skip
    found += [
        problem("supervision.store.unknown_gate", f"gates.{kind}", gate=kind.value)
        for kind in edit.gates
        if kind not in gates
    ]
    for k, r in enumerate(edit.risks, start=1):
        if r.id is None and (r.close or not (r.text or "").strip() or r.level is None):
            found.append(problem("supervision.baseline.incomplete_risk", f"risks.{k}"))
        elif r.id is not None and r.id not in risks:
            found.append(problem("supervision.baseline.unknown_risk", f"risks.{k}", risk=r.id))
    return found


def baseline_state(
    row: TrackedProjectRecord,
    milestones: Mapping[int, ProjectMilestone],
    gates: Mapping[GateKind, ProjectGate],
    risks: Mapping[int, ProjectRisk],
) -> dict[str, Any]:
    """The baseline as plain values: what the audit log keeps before and after a change."""
    return {
        "owner_department": row.owner_department,
        "budget": sorted([int(b["year"]), float(b["planned_cost"])] for b in row.budget),
        "milestones": [
            [k, m.name, m.planned_date.isoformat(), m.planned_value]
            for k, m in sorted(milestones.items())
        ],
        "gates": {kind.value: g.planned_date.isoformat() for kind, g in sorted(gates.items())},
        "risks": [[k, r.text, str(r.level)] for k, r in sorted(risks.items())],
    }


def _children(
    session: Session, project: int
) -> tuple[dict[int, ProjectMilestone], dict[GateKind, ProjectGate], dict[int, ProjectRisk]]:
    return (
        {m.position: m for m in session.scalars(
            select(ProjectMilestone).where(ProjectMilestone.project_id == project))},
        {GateKind(g.kind): g for g in session.scalars(
            select(ProjectGate).where(ProjectGate.project_id == project))},
        {r.id: r for r in session.scalars(
            select(ProjectRisk).where(ProjectRisk.project_id == project,
                                      ProjectRisk.closed_on.is_(None)))},
    )  # fmt: skip


def _next_position(session: Session, project: int, milestones: Mapping[int, Any]) -> int:
    """One past every position ever used: the milestones' and the longest report's."""
    reported = session.scalars(
        select(ProgressReport.milestones).where(ProgressReport.project_id == project)
    )
    return max([*milestones, *(len(r) for r in reported), 0]) + 1


def _apply(session: Session, row: TrackedProjectRecord, edit: BaselineEdit, actor: str) -> None:
    milestones, gates, risks = _children(session, row.id)
    if edit.owner_department is not None:
        owner = edit.owner_department.strip() or None
        check_department(session, owner, actor)
        row.owner_department = owner
    if edit.budget:
        budget: dict[int, float | None] = {
            int(b["year"]): float(b["planned_cost"]) for b in row.budget
        }
        budget.update(edit.budget)
        row.budget = [{"year": y, "planned_cost": c} for y, c in sorted(budget.items())
                      if c is not None]  # fmt: skip
    position = _next_position(session, row.id, milestones)
    for m in edit.milestones:
        if m.position is None:
            assert m.name is not None and m.planned_date is not None  # checked by _problems
            session.add(ProjectMilestone(
                project_id=row.id, position=position, name=m.name.strip(),
                planned_date=m.planned_date, planned_value=float(m.planned_value or 0.0),
                percent_complete=0.0, completed_date=None,
            ))  # fmt: skip
            position += 1
        elif m.remove:
            session.delete(milestones[m.position])
        else:
            old = milestones[m.position]
            old.name = m.name.strip() if m.name else old.name
            old.planned_date = m.planned_date or old.planned_date
            if m.planned_value is not None:
                old.planned_value = m.planned_value
    for kind, day in edit.gates.items():
        gates[kind].planned_date = day
    for r in edit.risks:
        if r.id is None:
            assert r.text is not None and r.level is not None  # checked by _problems
            session.add(ProjectRisk(project_id=row.id, text=r.text.strip(), level=r.level))
        elif r.close:  # off the register, kept on record
            risks[r.id].closed_on = date.today()
            risks[r.id].closed_by = actor
        else:
            risks[r.id].text = (r.text or "").strip() or risks[r.id].text
            risks[r.id].level = r.level or risks[r.id].level
    session.flush()


def change_baseline(
    session: Session, unit: str, code: str, edit: BaselineEdit, actor: str
) -> tuple[StoredProject, list[str]]:
    """Apply ``edit`` to ``unit``'s project ``code``; the project afterwards and the parts
    (``PARTS``) that changed. One audit row (action ``baseline``) keeps the reason and the
    changed parts before and after; a change that differs in nothing writes nothing.

    Raises
    ------
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    InputError
        ``supervision.store.invalid_baseline`` with one problem per fault, or
        ``supervision.input.invalid`` when the new baseline breaks a supervision rule (a
        milestone before the start, a negative amount …); nothing is written.
    """
    stored = one_project(session, unit, code)
    row = session.get_one(TrackedProjectRecord, stored.id)
    problems = _problems(row, *_children(session, row.id), edit)
    if problems:
        raise InputError("supervision.store.invalid_baseline", problems, code=code, unit=unit)
    before = baseline_state(row, *_children(session, row.id))
    _apply(session, row, edit, actor)
    after = baseline_state(row, *_children(session, row.id))
    changed = [part for part in PARTS if before[part] != after[part]]
    if not changed:
        return stored, []
    record_audit(
        session, actor, "baseline", ENTITY, f"{unit}/{code}",
        before={part: before[part] for part in changed},
        after={"reason": edit.reason.strip(), **{part: after[part] for part in changed}},
        at=utc_now(),
    )  # fmt: skip
    check_projects(session, unit, [code])
    return one_project(session, unit, code), changed
