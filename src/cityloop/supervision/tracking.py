"""The record types of a tracked project (milestones, yearly budget, spend, quality gates, risks)
and their validation into the flat arrays that earned value and the early warnings share.

The records are the shape the store will keep; nothing here reads or writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from cityloop.errors import InputError, Location, Problem
from cityloop.i18n import t

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class GateKind(StrEnum):
    """A quality gate (质量关口); the members are listed in the order a project passes them."""

    DESIGN_REVIEW = "design_review"
    SECURITY_ASSESSMENT = "security_assessment"
    ACCEPTANCE_TEST = "acceptance_test"
    TRIAL_OPERATION = "trial_operation"

    def label(self, lang: str | None = None) -> str:
        """The gate's name in ``lang`` (default: the current language)."""
        return t(f"supervision.gate.{self.value}", lang)


GATE_ORDER = tuple(GateKind)


class RiskLevel(StrEnum):
    """How serious a risk the project manager recorded is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    def label(self, lang: str | None = None) -> str:
        """The level's name in ``lang`` (default: the current language)."""
        return t(f"supervision.risk.{self.value}", lang)


@dataclass(frozen=True)
class BudgetYear:
    """The planned cost (万元) of one calendar year of the project."""

    year: int
    planned_cost: float


@dataclass(frozen=True)
class Milestone:
    """A deliverable with its budgeted value (万元), due date and progress.

    ``percent_complete`` (0–100) is the progress reported at the project's last update; a
    milestone with a ``completed_date`` counts as 100 % from that date whatever the percentage.
    """

    name: str
    planned_date: date
    planned_value: float
    percent_complete: float = 0.0
    completed_date: date | None = None


@dataclass(frozen=True)
class QualityGate:
    """A quality gate the project must pass: when it was due, when it was passed or skipped."""

    kind: GateKind
    planned_date: date
    passed_date: date | None = None
    skipped: bool = False


@dataclass(frozen=True)
class SpendEntry:
    """Money actually spent (万元) on ``day``."""

    day: date
    amount: float


@dataclass(frozen=True)
class Risk:
    """A risk recorded by the project manager."""

    text: str
    level: RiskLevel


@dataclass(frozen=True)
class TrackedProject:
    """A planned project under supervision.

    ``indicators`` are the framework indicator codes it promised to move and ``needs`` the
    application codes (``cityloop/survey/applications.yaml``) it answers. ``percent_complete``
    (0–100) is the overall progress, read only when the project has no milestones.
    """

    code: str
    name: str
    domain: str
    phase: str
    owner_department: str
    start_date: date
    last_update: date
    plan_types: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    budget: tuple[BudgetYear, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    gates: tuple[QualityGate, ...] = ()
    spend: tuple[SpendEntry, ...] = ()
    risks: tuple[Risk, ...] = ()
    percent_complete: float = 0.0

    @property
    def finished(self) -> bool:
        """Every milestone completed (without milestones: progress reported at 100 %)."""
        if self.milestones:
            return all(m.completed_date is not None for m in self.milestones)
        return self.percent_complete >= 100.0


@dataclass(frozen=True)
class ProjectArrays:
    """Validated projects as flat arrays; days are integer days since 1970-01-01.

    Milestone arrays (``milestone_*``) are sorted by project, then by due date; budget and
    spend arrays hold one entry per year or payment with the index of their project.
    Gate arrays are (projects, ``GATE_ORDER``).
    """

    codes: tuple[str, ...]
    start: IntArray
    last_update: IntArray
    percent_complete: FloatArray  # overall progress as a fraction, projects without milestones
    finished: BoolArray
    has_milestones: BoolArray
    milestone_names: tuple[str, ...]
    milestone_project: IntArray
    milestone_due: IntArray
    milestone_span_start: IntArray  # previous due date, or the day before the project start
    milestone_value: FloatArray
    milestone_fraction: FloatArray  # 1 when completed
    milestone_done: BoolArray
    milestone_completed: IntArray  # 0 where not completed
    budget_project: IntArray
    budget_year: IntArray
    budget_amount: FloatArray
    spend_project: IntArray
    spend_day: IntArray
    spend_amount: FloatArray
    gate_present: BoolArray
    gate_due: IntArray
    gate_passed: BoolArray
    gate_passed_day: IntArray  # 0 where not passed
    gate_skipped: BoolArray


def day_number(day: date) -> int:
    """Days since 1970-01-01: the integer day axis of every array here."""
    return int(np.datetime64(day, "D").astype(np.int64))


def _days(days: Sequence[date | None]) -> IntArray:
    return np.array([0 if d is None else day_number(d) for d in days], dtype=np.int64)


def _flags(values: list[bool], shape: tuple[int, int]) -> BoolArray:
    return np.array(values, dtype=np.bool_).reshape(shape)


def _bad_amount(value: float) -> bool:
    return not (np.isfinite(value) and value >= 0)


def _bad_percent(value: float) -> bool:
    return not (np.isfinite(value) and 0.0 <= value <= 100.0)


def _project_problems(row: int, p: TrackedProject) -> list[Problem]:
    """Every fault of one project, located by its 1-based row and the field."""

    def problem(key: str, column: str, **params: object) -> Problem:
        return Problem(key, {"code": p.code, **params}, Location(row=row, column=column))

    found: list[Problem] = []
    years = [b.year for b in p.budget]
    if len(set(years)) != len(years):
        found.append(problem("supervision.input.budget_year_twice", "budget"))
    found += [
        problem("supervision.input.bad_amount", f"budget.{b.year}", value=b.planned_cost)
        for b in p.budget
        if _bad_amount(b.planned_cost)
    ]
    for k, m in enumerate(p.milestones, start=1):
        where = f"milestones.{k}"
        if _bad_amount(m.planned_value):
            found.append(problem("supervision.input.bad_amount", where, value=m.planned_value))
        if _bad_percent(m.percent_complete):
            found.append(problem("supervision.input.bad_percent", where, value=m.percent_complete))
        if m.planned_date < p.start_date:
            found.append(
                problem("supervision.input.milestone_before_start", where, milestone=m.name)
            )
    kinds = [g.kind for g in p.gates]
    if len(set(kinds)) != len(kinds):
        found.append(problem("supervision.input.gate_twice", "gates"))
    found += [
        problem("supervision.input.gate_passed_and_skipped", f"gates.{g.kind}", gate=g.kind)
        for g in p.gates
        if g.skipped and g.passed_date is not None
    ]
    found += [
        problem("supervision.input.bad_amount", f"spend.{k}", value=s.amount)
        for k, s in enumerate(p.spend, start=1)
        if _bad_amount(s.amount)
    ]
    if not p.milestones and _bad_percent(p.percent_complete):
        found.append(
            problem("supervision.input.bad_percent", "percent_complete", value=p.percent_complete)
        )
    if not p.milestones and not p.budget:
        found.append(problem("supervision.input.no_baseline", "milestones"))
    return found


def validate_projects(projects: Sequence[TrackedProject]) -> ProjectArrays:
    """Check the projects and flatten them into arrays; every fault is reported at once.

    Raises
    ------
    InputError
        ``supervision.input.invalid`` with one problem per fault (row = the project's
        1-based position, column = the field, e.g. ``milestones.2``).
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    for row, p in enumerate(projects, start=1):
        if p.code in seen:
            problems.append(
                Problem(
                    "supervision.input.duplicate_code",
                    {"code": p.code},
                    Location(row=row, column="code"),
                )
            )
        seen.add(p.code)
        problems += _project_problems(row, p)
    if problems:
        raise InputError("supervision.input.invalid", problems)
    return _flatten(projects)


def _flatten(projects: Sequence[TrackedProject]) -> ProjectArrays:
    start = _days([p.start_date for p in projects])
    milestones = [(i, m) for i, p in enumerate(projects) for m in p.milestones]
    m_project = np.array([i for i, _ in milestones], dtype=np.int64)
    m_due = _days([m.planned_date for _, m in milestones])
    order = np.lexsort((m_due, m_project))
    m_project, m_due = m_project[order], m_due[order]
    ordered = [milestones[k][1] for k in order]
    done = np.array([m.completed_date is not None for m in ordered], dtype=np.bool_)
    percent = np.array([m.percent_complete for m in ordered], dtype=np.float64)
    # A milestone's work is spread from the previous due date of the same project; the first
    # one starts on the project's start date (the day before is its exclusive beginning).
    first = np.ones(m_project.size, dtype=np.bool_)
    first[1:] = m_project[1:] != m_project[:-1]
    previous_due = np.roll(m_due, 1)
    span_start = np.where(first, start[m_project] - 1, previous_due)
    budget = [(i, b) for i, p in enumerate(projects) for b in p.budget]
    spend = [(i, s) for i, p in enumerate(projects) for s in p.spend]
    gates = {(i, g.kind): g for i, p in enumerate(projects) for g in p.gates}
    grid = [[gates.get((i, kind)) for kind in GATE_ORDER] for i in range(len(projects))]
    flat_gates = [g for row in grid for g in row]
    shape = (len(projects), len(GATE_ORDER))
    return ProjectArrays(
        codes=tuple(p.code for p in projects),
        start=start,
        last_update=_days([p.last_update for p in projects]),
        percent_complete=np.array([p.percent_complete for p in projects]) / 100.0,
        finished=np.array([p.finished for p in projects], dtype=np.bool_),
        has_milestones=np.array([bool(p.milestones) for p in projects], dtype=np.bool_),
        milestone_names=tuple(m.name for m in ordered),
        milestone_project=m_project,
        milestone_due=m_due,
        milestone_span_start=span_start,
        milestone_value=np.array([m.planned_value for m in ordered], dtype=np.float64),
        milestone_fraction=np.where(done, 1.0, percent / 100.0),
        milestone_done=done,
        milestone_completed=_days([m.completed_date for m in ordered]),
        budget_project=np.array([i for i, _ in budget], dtype=np.int64),
        budget_year=np.array([b.year for _, b in budget], dtype=np.int64),
        budget_amount=np.array([b.planned_cost for _, b in budget], dtype=np.float64),
        spend_project=np.array([i for i, _ in spend], dtype=np.int64),
        spend_day=_days([s.day for _, s in spend]),
        spend_amount=np.array([s.amount for _, s in spend], dtype=np.float64),
        gate_present=_flags([g is not None for g in flat_gates], shape),
        gate_due=_days([None if g is None else g.planned_date for g in flat_gates]).reshape(shape),
        gate_passed=_flags(
            [g is not None and g.passed_date is not None for g in flat_gates], shape
        ),
        gate_passed_day=_days([None if g is None else g.passed_date for g in flat_gates]).reshape(
            shape
        ),
        gate_skipped=_flags([g is not None and g.skipped for g in flat_gates], shape),
    )
