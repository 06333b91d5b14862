"""What the supervision pages and the CLI show beyond the programme dashboard: the units with a
programme, the S-curve of cumulative PV/EV/AC, one tracked project in full.

Every figure comes from ``cityloop.services.supervision`` and the pure ``cityloop.supervision``
functions; this module only reads, arranges and labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict

from cityloop.frameworks import departments
from cityloop.i18n import current_language, t
from cityloop.planning.portfolio_types import DEFAULT_PHASE_NAMES
from cityloop.planning.project_catalogue import load_catalogue
from cityloop.services.plan import plans_of
from cityloop.services.supervision import (
    Dashboard,
    Figures,
    MessageLine,
    supervision_dashboard,
    tracked,
)
from cityloop.store import Database
from cityloop.supervision import earned_value

LIGHT_ORDER = {"red": 0, "amber": 1, "green": 2}


def phase_label(phase: str, lang: str | None = None) -> str:
    """A phase in the reader's language: the three standard phases are translated."""
    if phase in DEFAULT_PHASE_NAMES:
        return t(f"planweb.phase.p{DEFAULT_PHASE_NAMES.index(phase) + 1}", lang)
    return phase or "—"


def domain_label(domain: str, lang: str | None = None) -> str:
    """A catalogue domain's name in the reader's language (the code when unknown)."""
    return load_catalogue().domain_name(domain, lang or current_language())


def money_text(amount: float | None) -> str:
    """万元 with one decimal and thousands separators; a dash where undefined."""
    return "—" if amount is None or not np.isfinite(amount) else f"{amount:,.1f}"


def index_text(value: float | None) -> str:
    """An index (SPI, CPI, a ratio) with two decimals; ∞ and a dash where undefined."""
    if value is None or np.isnan(value):
        return "—"
    return "∞" if np.isinf(value) else f"{value:.2f}"


def department_label(code: str | None, lang: str | None = None) -> str:
    """A department's name in the reader's language (the code when not shipped; a dash for none)."""
    if not code:
        return "—"
    names = departments().get(code)
    zh = (lang or current_language()).startswith("zh")
    return code if names is None else names["zh" if zh else "en"]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- the units with a programme -------------------------------------------------------------------


class PlanChoice(_View):
    """A saved plan that can be tracked: its chosen projects as (code, name) pairs."""

    id: int
    name: str
    first_year: int
    projects: list[tuple[str, str]]


class UnitSummary(_View):
    """One unit on the supervision index: saved plans, tracked projects and their state."""

    unit: str
    plans: list[PlanChoice]
    projects: int
    red: int
    amber: int
    budget: float
    spent: float


def supervision_index(db: Database, units: Sequence[str], status_date: date) -> list[UnitSummary]:
    """The ``units`` that have saved plans or tracked projects, by code.

    A unit's light counts and money (budget at completion, actual cost) are those of its
    dashboard on ``status_date``; a unit with plans but nothing tracked shows zeros.
    """
    plans: dict[str, list[PlanChoice]] = {}
    for p in plans_of(db, list(units)):
        plans.setdefault(p.unit, []).append(
            PlanChoice(id=p.id, name=p.name, first_year=p.view.first_year,
                       projects=[(r.code, r.name.get("zh", r.code)) for r in p.view.chosen])
        )  # fmt: skip
    counts = db.tracking.counts(units)
    summaries = []
    for unit in sorted(set(plans) | set(counts)):
        dashboard = supervision_dashboard(db, unit, status_date) if unit in counts else None
        lights = [p.light for p in dashboard.projects] if dashboard else []
        total = dashboard.total if dashboard else None
        summaries.append(
            UnitSummary(unit=unit, plans=plans.get(unit, []), projects=counts.get(unit, 0),
                        red=lights.count("red"), amber=lights.count("amber"),
                        budget=total.bac if total else 0.0, spent=total.ac if total else 0.0)
        )  # fmt: skip
    return summaries


# -- the S-curve ----------------------------------------------------------------------------------


class SCurve(_View):
    """Cumulative PV, EV and AC of the whole programme at each month end (and the status
    date); EV and AC stop at the status date, PV runs to the end of the baseline."""

    status_date: date
    dates: list[date]
    bac: float
    pv: list[float]
    ev: list[float | None]
    ac: list[float | None]


def month_ends(first: date, last: date) -> list[date]:
    """The last day of every month from ``first``'s month to ``last``'s."""
    months = np.arange(
        np.datetime64(first, "M"), np.datetime64(last, "M") + 1, dtype="datetime64[M]"
    )
    ends = (months + 1).astype("datetime64[D]") - 1
    return [d.item() for d in ends]


def s_curve(db: Database, unit: str, status_date: date) -> SCurve | None:
    """The programme's S-curve as it stood on ``status_date``; None when nothing is tracked.

    One vectorised ``earned_value`` call over every project × every date; EV between reports
    follows the earned-value rule (completed milestones from their completion day, the
    reported share of open ones from the report's day).
    """
    records = [p.record for p in tracked(db, unit, as_of=status_date)]
    if not records:
        return None
    first = min(r.start_date for r in records)
    due = [m.planned_date for r in records for m in r.milestones]
    last = max([*due, *(date(b.year, 12, 31) for r in records for b in r.budget), status_date])
    dates = sorted({*month_ends(first, last), status_date})
    evm = earned_value(records, dates)
    past = np.array([d <= status_date for d in dates])
    ev, ac = evm.ev.sum(axis=0), evm.ac.sum(axis=0)
    return SCurve(
        status_date=status_date,
        dates=dates,
        bac=float(evm.bac.sum()),
        pv=[round(float(x), 2) for x in evm.pv.sum(axis=0)],
        ev=[round(float(x), 2) if p else None for x, p in zip(ev, past, strict=True)],
        ac=[round(float(x), 2) if p else None for x, p in zip(ac, past, strict=True)],
    )


# -- one project ----------------------------------------------------------------------------------


class MilestoneLine(_View):
    """A milestone of the baseline with its progress; ``position`` is the stored one (from 1;
    a milestone removed by a baseline change leaves a gap)."""

    position: int
    name: str
    planned_date: date
    planned_value: float
    percent_complete: float
    completed_date: date | None


class GateLine(_View):
    """A quality gate: due, passed or skipped."""

    kind: str
    planned_date: date
    passed_date: date | None
    skipped: bool


class BudgetLine(_View):
    """One year's planned cost and the net payments made in it (万元)."""

    year: int
    planned_cost: float
    spent: float


class PaymentLine(_View):
    """A payment or correction as entered."""

    id: int
    day: date
    amount: float
    note: str
    corrects: int | None
    entered_by: str


class HistoryLine(_View):
    """One progress report as kept (newest first on the page)."""

    report_date: date
    percent_complete: float
    milestones: list[float]
    note: str
    reported_by: str
    reported_at: datetime


class RiskLine(_View):
    """A recorded risk."""

    text: str
    level: str


class ClosedRiskLine(_View):
    """A risk taken off the register: when and by whom."""

    text: str
    level: str
    closed_on: date
    closed_by: str


class ProjectDetail(_View):
    """A tracked project in full on a status date: identity, baseline, money, history, risks,
    its earned-value figures, light, warnings and boundary flags."""

    unit: str
    code: str
    name: str
    name_en: str
    domain: str
    phase: str
    owner_department: str | None
    status: str
    created_by: str
    plan_id: int | None
    start_date: date
    last_update: date
    percent_complete: float
    indicators: list[str]
    needs: list[str]
    status_date: date
    light: str
    figures: Figures
    warnings: list[MessageLine]
    boundary: list[MessageLine]
    milestones: list[MilestoneLine]
    gates: list[GateLine]
    budget: list[BudgetLine]
    payments: list[PaymentLine]
    history: list[HistoryLine]
    risks: list[RiskLine]
    closed_risks: list[ClosedRiskLine] = []


def progress_history(db: Database, project_id: int) -> list[HistoryLine]:
    """The project's progress reports, newest first."""
    return [HistoryLine.model_validate(e, from_attributes=True)
            for e in db.tracking.history(project_id)]  # fmt: skip


def project_detail(
    db: Database, unit: str, code: str, status_date: date, dashboard: Dashboard | None = None
) -> ProjectDetail:
    """``unit``'s project ``code`` as it stands now, with figures on ``status_date``.

    Raises
    ------
    TrackedProjectNotFoundError
        The unit tracks no project ``code``.
    """
    stored = db.tracking.project(unit, code)
    board = dashboard or supervision_dashboard(db, unit, status_date)
    line = next(p for p in board.projects if p.code == code)
    record = stored.record
    payments = db.tracking.payments(unit, code)
    paid_by_year: dict[int, float] = {}
    for s in record.spend:
        paid_by_year[s.day.year] = paid_by_year.get(s.day.year, 0.0) + s.amount
    return ProjectDetail(
        unit=unit, code=code, name=record.name, name_en=stored.name_en, domain=record.domain,
        phase=record.phase, owner_department=stored.owner_department,
        status=stored.status.value, created_by=stored.created_by, plan_id=stored.plan_id,
        start_date=record.start_date, last_update=record.last_update,
        percent_complete=record.percent_complete, indicators=list(record.indicators),
        needs=list(record.needs), status_date=status_date, light=line.light,
        figures=line.figures,
        warnings=[w for w in board.warnings if w.project == code],
        boundary=[b for b in board.boundary if b.project == code],
        milestones=[
            # the stored position, not the place in the list: a milestone removed by a
            # baseline change leaves a gap, and reports address milestones by position
            MilestoneLine(position=k, name=m.name, planned_date=m.planned_date,
                          planned_value=m.planned_value, percent_complete=m.percent_complete,
                          completed_date=m.completed_date)
            for k, m in zip(stored.milestone_positions, record.milestones, strict=True)
        ],
        gates=[GateLine(kind=g.kind.value, planned_date=g.planned_date,
                        passed_date=g.passed_date, skipped=g.skipped) for g in record.gates],
        budget=[BudgetLine(year=b.year, planned_cost=b.planned_cost,
                           spent=round(paid_by_year.get(b.year, 0.0), 6)) for b in record.budget],
        payments=[PaymentLine(id=p.id, day=p.day, amount=p.amount, note=p.note,
                              corrects=p.corrects, entered_by=p.entered_by) for p in payments],
        history=progress_history(db, stored.id),
        risks=[RiskLine(text=r.text, level=r.level.value) for r in record.risks],
        closed_risks=[ClosedRiskLine(text=c.text, level=c.level.value, closed_on=c.closed_on,
                                     closed_by=c.closed_by) for c in stored.closed_risks],
    )  # fmt: skip
