"""The programme dashboard of supervision: earned value per project and rolled up by phase
and domain, early warnings, traffic lights, boundary flags and the spending split.

``cityloop.services.supervision`` re-exports ``Dashboard`` and ``supervision_dashboard``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from cityloop.i18n import t
from cityloop.planning.project_catalogue import load_catalogue
from cityloop.store import Database
from cityloop.supervision import (
    EarnedValueFigures,
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
    stored = db.tracking.projects(unit, as_of=status_date)
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
    # phases in the order the plan runs them (启动实施 → 持续推进 → 应用拓展), not by name
    first_start: dict[str, date] = {}
    for r in records:
        first_start[r.phase] = min(first_start.get(r.phase, r.start_date), r.start_date)
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
        phases=sorted(_groups(evm, [r.phase for r in records], lights, rules.warnings),
                      key=lambda g: first_start[g.group]),
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
