"""Supervision use-cases: turn a saved plan into tracked projects and record project managers'
progress reports (only on their own projects); the dashboard is re-exported from its module.

The web pages and the CLI call these; every permission check on a project is made here.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cityloop.accounts import AccessDenied, Action, Principal, Role, authorise
from cityloop.errors import InputError, Location, Problem, entry_path, schema_problems
from cityloop.i18n import t
from cityloop.services.plan import plan
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.plan_view import ProjectRow
from cityloop.services.supervision_dashboard import (
    Dashboard,
    Figures,
    GroupLine,
    MessageLine,
    ProjectLine,
    SpendingLine,
    supervision_dashboard,
    supervision_rules,
)
from cityloop.store import Database
from cityloop.store.models import TrackingStatus
from cityloop.store.tracking import (
    NewTrackedProject,
    Payment,
    ProgressChange,
    StoredProject,
)
from cityloop.supervision import (
    BudgetYear,
    GateKind,
    Milestone,
    QualityGate,
    Risk,
    RiskLevel,
)

# The gate rule of a newly tracked project (docs/supervision.md, "From a plan to tracked
# projects"): months after the start (design review) or after the last construction day.
DESIGN_REVIEW_MONTHS = 2
GATE_MONTHS_FROM_FINISH = {
    GateKind.SECURITY_ASSESSMENT: -2,
    GateKind.ACCEPTANCE_TEST: -1,
    GateKind.TRIAL_OPERATION: 3,
}
STORED_LANGUAGE = "zh-CN"  # milestone names are stored in the office's language


# -- tracking a plan ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, kept within the month (31 Oct − 1 → 30 Sep)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def baseline_of(
    row: ProjectRow,
) -> tuple[date, list[BudgetYear], list[Milestone], list[QualityGate]]:
    """Start, yearly budget, milestones and gates of a chosen plan project.

    One milestone per construction year, "第N年建设完成", worth that year's cost and due on
    31 December of it; the budget of each calendar year is that year's cost. Gates: design
    review two months after the start (1 January of the first year), security assessment and
    acceptance test two and one months before the last construction day (31 December of the
    last year), trial operation three months after it.
    """
    if row.start_year is None or row.finish_year is None:
        raise InputError("supervision.service.not_scheduled", code=row.code)
    start = date(row.start_year, 1, 1)
    finish = date(row.finish_year, 12, 31)
    years = [row.start_year + k for k in range(len(row.cost))]
    budget = [BudgetYear(y, float(c)) for y, c in zip(years, row.cost, strict=True)]
    milestones = [
        Milestone(t("supervision.service.milestone", STORED_LANGUAGE, n=k), date(y, 12, 31), c)
        for k, (y, c) in enumerate(zip(years, row.cost, strict=True), start=1)
    ]
    gates = [QualityGate(GateKind.DESIGN_REVIEW, add_months(start, DESIGN_REVIEW_MONTHS))] + [
        QualityGate(kind, add_months(finish, months))
        for kind, months in GATE_MONTHS_FROM_FINISH.items()
    ]
    return start, budget, milestones, gates


def track_plan(
    db: Database,
    plan_id: int,
    *,
    actor: str,
    owner_departments: Mapping[str, str] | None = None,
) -> list[str]:
    """Start tracking the chosen projects of saved plan ``plan_id``; the codes added.

    Each project gets the baseline of ``baseline_of``, the indicators of its catalogue effects
    and the needs (applications) it answers, and its owner department from
    ``owner_departments`` (code → department; none when absent). Projects the unit already
    tracks (from this plan or another) are left as they are: tracking a plan twice adds
    nothing and returns ``[]`` (``tracking_summary`` says so).

    Raises
    ------
    PlanNotFoundError
        No saved plan ``plan_id``.
    InputError
        ``owner_departments`` names a project the plan did not choose, or an unknown department.
    """
    saved = plan(db, plan_id)
    chosen = saved.view.chosen
    owners = dict(owner_departments or {})
    codes = {p.code for p in chosen}
    stray = [
        Problem("supervision.service.owner_not_chosen", {"code": c, "plan": plan_id},
                Location(column="owner_departments"))
        for c in sorted(set(owners) - codes)
    ]  # fmt: skip
    if stray:
        raise InputError("supervision.service.invalid_tracking", stray, plan=plan_id)
    catalogue = unit_catalogue(db, saved.unit).projects
    projects = []
    for row in chosen:
        start, budget, milestones, gates = baseline_of(row)
        known = catalogue.get(row.code)
        projects.append(
            NewTrackedProject(
                code=row.code, name_zh=row.name.get("zh", row.code),
                name_en=row.name.get("en", ""), domain=row.domain, phase=row.phase or "",
                owner_department=owners.get(row.code), start_date=start, plan_id=plan_id,
                plan_types=tuple(row.plan_types),
                indicators=tuple(dict.fromkeys(e.indicator for e in known.effects))
                if known else (),
                needs=tuple(known.applications) if known else (),
                budget=tuple(budget), milestones=tuple(milestones), gates=tuple(gates),
            )
        )  # fmt: skip
    return db.tracking.create(saved.unit, projects, actor=actor)


def tracking_summary(added: Sequence[str], lang: str | None = None) -> str:
    """What ``track_plan`` did, in words: the projects added, or that nothing was new."""
    if not added:
        return t("supervision.service.nothing_new", lang)
    return t("supervision.service.tracked", lang, count=len(added), codes=", ".join(added))


def tracked(db: Database, unit: str, *, as_of: date | None = None) -> list[StoredProject]:
    """``unit``'s tracked projects by phase and code (as they stood on ``as_of`` when given)."""
    return db.tracking.projects(unit, as_of=as_of)


# -- progress reports -----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MilestoneProgress(_Strict):
    """A milestone's new percentage and/or completion date (``position`` counts from 1)."""

    position: int = Field(ge=1)
    percent_complete: float | None = Field(default=None, ge=0, le=100)
    completed_date: date | None = None


class GateProgress(_Strict):
    """A gate passed on a day, or skipped."""

    kind: GateKind
    passed_date: date | None = None
    skipped: bool = False

    @model_validator(mode="after")
    def _not_both(self) -> GateProgress:
        if self.skipped and self.passed_date is not None:
            raise ValueError("a gate cannot be both passed and skipped")
        return self


class SpendInput(_Strict):
    """A payment (万元, positive), or a correction of entry ``corrects`` (any sign)."""

    day: date
    amount: float
    note: str = Field(default="", max_length=500)
    corrects: int | None = Field(default=None, ge=1)


class RiskInput(_Strict):
    """A risk to record."""

    text: str = Field(min_length=1, max_length=2000)
    level: RiskLevel


class ProgressUpdate(_Strict):
    """One progress report of a project manager; every part is optional but the date."""

    report_date: date
    percent_complete: float | None = Field(default=None, ge=0, le=100)
    milestones: list[MilestoneProgress] = Field(default_factory=list)
    gates: list[GateProgress] = Field(default_factory=list)
    spend: list[SpendInput] = Field(default_factory=list)
    risks: list[RiskInput] = Field(default_factory=list)
    status: TrackingStatus | None = None
    note: str = Field(default="", max_length=2000)


def progress_update(data: ProgressUpdate | Mapping[str, Any]) -> ProgressUpdate:
    """``data`` validated; every fault named by its field (e.g. ``spend.1.amount``).

    Raises
    ------
    InputError
        ``supervision.service.invalid_update``: a wrong field, or a milestone or gate given twice.
    """
    if isinstance(data, ProgressUpdate):
        update = data
    else:
        try:
            update = ProgressUpdate.model_validate(data)
        except ValidationError as exc:
            problems = schema_problems(exc, lambda loc: Location(column=entry_path(loc)))
            raise InputError("supervision.service.invalid_update", problems) from None
    twice = [
        Problem("supervision.service.given_twice", {"field": name, "value": v},
                Location(column=name))
        for name, given in (("milestones", [str(m.position) for m in update.milestones]),
                            ("gates", [g.kind.value for g in update.gates]))
        for v in sorted({x for x in given if given.count(x) > 1})
    ]  # fmt: skip
    if twice:
        raise InputError("supervision.service.invalid_update", twice)
    return update


def may_update(principal: Principal, project: StoredProject) -> bool:
    """Whether ``principal`` may report on ``project``: a project manager only on projects
    their department owns or that they started tracking; the other roles allowed to manage
    projects (administrators) on every project."""
    if principal.role != Role.PROJECT_MANAGER:
        return True
    own = principal.department is not None and project.owner_department == principal.department
    return own or project.created_by == principal.username


def own_project(db: Database, unit: str, code: str, actor: Principal) -> StoredProject:
    """``unit``'s project ``code`` if ``actor`` may change it (report on it or change its
    baseline): the role manages projects, the unit is in the user's regions, and a project
    manager owns the project (``may_update``).

    Raises
    ------
    InputError
        ``unit`` is no stored region.
    AccessDenied
        Any of the three checks fails.
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    """
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("store.unknown_region", value=unit)
    authorise(actor, Action.MANAGE_PROJECTS, unit=unit, units=units)
    project = db.tracking.project(unit, code)
    if not may_update(actor, project):
        raise AccessDenied(
            "supervision.service.denied_project", action=Action.MANAGE_PROJECTS,
            role=actor.role, code=code, department=project.owner_department or "—",
            own=actor.department or "—",
        )  # fmt: skip
    return project


def update_progress(
    db: Database,
    unit: str,
    code: str,
    update: ProgressUpdate | Mapping[str, Any],
    *,
    actor: Principal,
) -> StoredProject:
    """Record a progress report on ``unit``'s project ``code``; the project afterwards.

    Raises
    ------
    AccessDenied
        The role may not manage projects, the unit is outside the user's region, or a project
        manager reports on a project neither their department's nor started by them.
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    InputError
        The report is invalid; nothing is written.
    """
    own_project(db, unit, code, actor)  # refused before the report is read
    checked = progress_update(update)
    change = ProgressChange(
        report_date=checked.report_date,
        percent_complete=checked.percent_complete,
        milestones={m.position: (m.percent_complete, m.completed_date)
                    for m in checked.milestones},
        gates={g.kind: (g.passed_date, g.skipped) for g in checked.gates},
        payments=[Payment(p.day, p.amount, p.note, p.corrects) for p in checked.spend],
        risks=[Risk(r.text, r.level) for r in checked.risks],
        status=checked.status,
        note=checked.note,
    )  # fmt: skip
    return db.tracking.record(unit, code, change, actor=actor.username)


__all__ = [
    "Dashboard",
    "Figures",
    "GroupLine",
    "MessageLine",
    "ProgressUpdate",
    "ProjectLine",
    "SpendingLine",
    "add_months",
    "baseline_of",
    "may_update",
    "progress_update",
    "supervision_dashboard",
    "supervision_rules",
    "track_plan",
    "tracked",
    "tracking_summary",
    "update_progress",
]
