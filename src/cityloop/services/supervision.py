"""Supervision use-cases: turn a saved plan into tracked projects, record project managers'
progress reports (only on their own projects), and build the programme dashboard.

The web pages and the CLI call these; every permission check on a project is made here.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cityloop.accounts import AccessDenied, Action, Principal, Role, authorise
from cityloop.errors import InputError, Location, Problem, schema_problems
from cityloop.i18n import t
from cityloop.planning.project_catalogue import load_catalogue
from cityloop.services.plan import plan
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.plan_view import ProjectRow
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
    EarnedValueFigures,
    GateKind,
    Milestone,
    QualityGate,
    Risk,
    RiskLevel,
    SupervisionRules,
    early_warnings,
    earned_value,
    link_flags,
    parse_rules,
    project_lights,
    roll_up,
    spending_split,
    traffic_lights,
    warning_text,
)
from cityloop.supervision.early_warning import RULES_FILE, Light, WarningRules

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
            problems = schema_problems(
                exc, lambda loc: Location(column=".".join(map(str, loc)) or None)
            )
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
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("store.unknown_region", value=unit)
    authorise(actor, Action.MANAGE_PROJECTS, unit=unit, units=units)
    checked = progress_update(update)
    project = db.tracking.project(unit, code)
    if not may_update(actor, project):
        raise AccessDenied(
            "supervision.service.denied_project", action=Action.MANAGE_PROJECTS,
            role=actor.role, code=code, department=project.owner_department or "—",
            own=actor.department or "—",
        )  # fmt: skip
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


# -- the programme dashboard ----------------------------------------------------------------------


@cache
def supervision_rules() -> SupervisionRules:
    """The packaged ``supervision-rules.yaml``, validated."""
    text = resources.files("cityloop.supervision").joinpath(RULES_FILE).read_text("utf-8")
    return parse_rules(yaml.safe_load(text), RULES_FILE)


class _Plain(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Figures(_Plain):
    """Earned-value figures (万元 and indices) at the status date; NaN where undefined."""

    bac: float
    pv: float
    ev: float
    ac: float
    sv: float
    cv: float
    spi: float
    cpi: float
    eac: float
    eac_atypical: float
    eac_composite: float
    etc: float
    vac: float
    tcpi: float


FIGURES = tuple(Figures.model_fields)


def _figures(evm: EarnedValueFigures) -> list[Figures]:
    """Each row's figures at the first (only) status date."""
    columns = {
        name: getattr(evm, name) if name == "bac" else getattr(evm, name)[:, 0] for name in FIGURES
    }
    return [
        Figures(**{name: float(columns[name][r]) for name in FIGURES}) for r in range(len(evm.rows))
    ]


class ProjectLine(_Plain):
    """One project on the dashboard: identity, progress, light and figures."""

    code: str
    name: str
    domain: str
    phase: str
    owner_department: str | None
    status: str
    percent_complete: float
    last_update: date
    light: Light
    figures: Figures


class GroupLine(_Plain):
    """A phase or domain: its light, the counts it was judged from, its summed figures."""

    group: str
    light: Light
    projects: int
    red: int
    amber: int
    figures: Figures


class MessageLine(_Plain):
    """A warning or boundary flag of one project: kind, key and parameters, and its text."""

    project: str
    kind: str
    severity: str
    key: str
    params: dict[str, Any]
    message: str


class SpendingLine(_Plain):
    """Infrastructure against citizen-facing money on one basis (planned or actual)."""

    basis: str
    infrastructure: float
    citizen: float
    other: float
    ratio: float
    infrastructure_share: float
    limit: float
    flagged: bool
    message: str


class Dashboard(_Plain):
    """The programme on ``status_date``: projects, warnings, lights, roll-ups, boundary."""

    unit: str
    status_date: date
    projects: list[ProjectLine]
    warnings: list[MessageLine]
    phases: list[GroupLine]
    domains: list[GroupLine]
    total: Figures | None
    boundary: list[MessageLine]
    spending: list[SpendingLine]


def _groups(
    evm: EarnedValueFigures,
    labels: Sequence[str],
    lights: Sequence[Light],
    rules: WarningRules,
) -> list[GroupLine]:
    rolled = roll_up(evm, labels)
    figures = dict(zip(rolled.rows, _figures(rolled), strict=True))
    return [
        GroupLine(group=g.group, light=g.light, projects=g.projects, red=g.red, amber=g.amber,
                  figures=figures[g.group])
        for g in traffic_lights(labels, lights, rules)
    ]  # fmt: skip


def supervision_dashboard(db: Database, unit: str, status_date: date) -> Dashboard:
    """The programme dashboard of ``unit`` on ``status_date``.

    Every project is read as it stood that day (``tracked(..., as_of=status_date)``), so a
    past status date shows the figures and warnings of then. Lights by phase and domain follow
    ``traffic_lights``; roll-ups sum PV, EV, AC and BAC (``roll_up``); the boundary flags and
    the spending split (planned and actual) use the rules file and the catalogue's domains.
    Messages are in the current language.
    """
    stored = tracked(db, unit, as_of=status_date)
    records = [p.record for p in stored]
    rules = supervision_rules()
    if not records:
        return Dashboard(unit=unit, status_date=status_date, projects=[], warnings=[],
                         phases=[], domains=[], total=None, boundary=[], spending=[])  # fmt: skip
    evm = earned_value(records, [status_date])
    warnings = early_warnings(records, status_date, rules.warnings)
    lights = project_lights(evm.rows, warnings)
    lines = [
        ProjectLine(code=r.code, name=r.name, domain=r.domain, phase=r.phase,
                    owner_department=p.owner_department, status=p.status.value,
                    percent_complete=r.percent_complete, last_update=r.last_update,
                    light=light, figures=f)
        for p, r, light, f in zip(stored, records, lights, _figures(evm), strict=True)
    ]  # fmt: skip
    flags = link_flags(records, load_catalogue().domains.keys())
    splits = [
        spending_split(records, rules.boundary, basis=basis, status_date=status_date)
        for basis in ("planned", "actual")
    ]
    return Dashboard(
        unit=unit,
        status_date=status_date,
        projects=lines,
        warnings=[
            MessageLine(project=w.project, kind=w.kind.value, severity=w.severity, key=w.key,
                        params=dict(w.params), message=warning_text(w))
            for w in warnings
        ],
        phases=_groups(evm, [r.phase for r in records], lights, rules.warnings),
        domains=_groups(evm, [r.domain for r in records], lights, rules.warnings),
        total=_figures(roll_up(evm, [""] * len(records)))[0],
        boundary=[
            MessageLine(project=f.project, kind=f.kind.value, severity="amber", key=f.key,
                        params=dict(f.params), message=t(f.key, **f.params))
            for f in flags
        ],
        spending=[
            SpendingLine(basis=s.basis, infrastructure=s.infrastructure, citizen=s.citizen,
                         other=s.other, ratio=s.ratio,
                         infrastructure_share=s.infrastructure_share, limit=s.limit,
                         flagged=s.flagged,
                         message=t("supervision.boundary.infrastructure_heavy", **s.params)
                         if s.flagged else "")
            for s in splits
        ],
    )  # fmt: skip


__all__ = [
    "Dashboard",
    "ProgressUpdate",
    "add_months",
    "baseline_of",
    "may_update",
    "progress_update",
    "supervision_dashboard",
    "track_plan",
    "tracked",
    "tracking_summary",
    "update_progress",
]
