"""Early warnings of supervision (delay, overspend, a gate late or skipped, a stale update) and
the dashboard's traffic lights by phase and domain, with thresholds from supervision-rules.yaml.

Each rule is one vectorised test over projects, milestones, budget years or gates; the rules
and their thresholds are written out in ``docs/supervision.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cityloop.errors import InputError, Location, schema_problems
from cityloop.i18n import t
from cityloop.supervision.boundary import BoundaryRules
from cityloop.supervision.earned_value import project_figures
from cityloop.supervision.tracking import (
    GATE_ORDER,
    GateKind,
    IntArray,
    ProjectArrays,
    TrackedProject,
    day_number,
    validate_projects,
)

RULES_FILE = "supervision-rules.yaml"
Severity = Literal["red", "amber"]
Light = Literal["green", "amber", "red"]
_EPOCH = date(1970, 1, 1)
_ACCEPTANCE = GATE_ORDER.index(GateKind.ACCEPTANCE_TEST)
_TRIAL = GATE_ORDER.index(GateKind.TRIAL_OPERATION)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexLimits(_Strict):
    """An index below ``amber`` is amber, below ``red`` red (red ≤ amber)."""

    amber: float = Field(gt=0)
    red: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> IndexLimits:
        if self.red > self.amber:
            raise ValueError("red must not exceed amber")
        return self


class ExcessLimits(_Strict):
    """A day count or overspend share above ``amber`` is amber, above ``red`` red."""

    amber: float = Field(ge=0)
    red: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ExcessLimits:
        if self.red < self.amber:
            raise ValueError("red must not be below amber")
        return self


class WarningRules(_Strict):
    """The thresholds of every warning rule and of the traffic lights."""

    spi: IndexLimits
    milestone_days: ExcessLimits
    cpi: IndexLimits
    year_over: ExcessLimits
    gate_late_days: ExcessLimits
    stale_days: ExcessLimits
    red_share: float = Field(gt=0, le=1)


@dataclass(frozen=True)
class SupervisionRules:
    """The whole of ``supervision-rules.yaml``."""

    warnings: WarningRules
    boundary: BoundaryRules


# Where each threshold sits in the file: (section, amber key, red key), so a fault is reported
# under the key the user wrote.
_FILE_KEYS = {
    "spi": ("delay", "spi_amber", "spi_red"),
    "milestone_days": ("delay", "milestone_days_amber", "milestone_days_red"),
    "cpi": ("overspend", "cpi_amber", "cpi_red"),
    "year_over": ("overspend", "year_over_amber", "year_over_red"),
    "gate_late_days": ("gates", "late_days_amber", "late_days_red"),
    "stale_days": ("stale", "days_amber", "days_red"),
}


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = data.get(name)
    return section if isinstance(section, Mapping) else {}


def _file_key(loc: tuple[Any, ...]) -> str:
    """The file's dotted key of a validation error's location in ``WarningRules``."""
    if loc and loc[0] in _FILE_KEYS:
        section, amber, red = _FILE_KEYS[loc[0]]
        return f"{section}.{amber if loc[1:] == ('amber',) else red}"
    return "lights.red_share"


def parse_rules(data: Any, source: str = RULES_FILE) -> SupervisionRules:
    """Validate a parsed ``supervision-rules.yaml``; refuse it naming the file and each key.

    Raises
    ------
    InputError
        ``supervision.rules.invalid`` with one problem per wrong or missing key.
    """
    data = data if isinstance(data, Mapping) else {}
    shaped: dict[str, Any] = {
        name: {"amber": _section(data, section).get(amber), "red": _section(data, section).get(red)}
        for name, (section, amber, red) in _FILE_KEYS.items()
    }
    shaped["red_share"] = _section(data, "lights").get("red_share")
    problems = []
    try:
        warnings = WarningRules.model_validate(shaped)
    except ValidationError as exc:
        problems += schema_problems(exc, lambda loc: Location(file=source, column=_file_key(loc)))
    try:
        boundary = BoundaryRules.model_validate(_section(data, "boundary"))
    except ValidationError as exc:
        problems += schema_problems(
            exc, lambda loc: Location(file=source, column=".".join(map(str, ("boundary", *loc))))
        )
    if problems:
        raise InputError("supervision.rules.invalid", problems, file=source)
    return SupervisionRules(warnings, boundary)


class WarningKind(StrEnum):
    """What an early warning is about."""

    DELAY = "delay"
    OVERSPEND = "overspend"
    GATE_LATE = "gate_late"
    GATE_SKIPPED = "gate_skipped"
    STALE = "stale"

    def label(self, lang: str | None = None) -> str:
        """The kind's name in ``lang`` (default: the current language)."""
        return t(f"supervision.warning_kind.{self.value}", lang)


@dataclass(frozen=True)
class EarlyWarning:
    """One warning: the project, what and how bad, and its message key with the evidence."""

    project: str
    kind: WarningKind
    severity: Severity
    key: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class GroupLight:
    """The traffic light of one phase or domain and the counts it was judged from."""

    group: str
    light: Light
    projects: int
    red: int
    amber: int


def _iso(day: int | np.integer[Any]) -> str:
    return (_EPOCH + timedelta(days=int(day))).isoformat()


def _level(red: Any) -> Severity:
    return "red" if red else "amber"


def _warn(
    a: ProjectArrays, row: Any, kind: WarningKind, severity: Severity, key: str, **params: Any
) -> EarlyWarning:
    """A warning on project ``row`` whose message parameters start with the project's code."""
    code = a.codes[row]
    return EarlyWarning(code, kind, severity, key, {"code": code, **params})


def _below(index: Any, amber: float, red: float, judged: Any) -> tuple[Any, list[Severity]]:
    """Rows whose judged ``index`` is below ``amber``, and their severity."""
    rows = np.nonzero(judged & (index < amber))[0]
    return rows, [_level(index[r] < red) for r in rows]


def _worst_per_project(project: IntArray, score: Any) -> IntArray:
    """Position of the highest ``score`` of each project that has entries (ties: the first)."""
    order = np.lexsort((-np.arange(score.size), score, project))
    last = np.ones(order.size, dtype=np.bool_)
    last[:-1] = project[order][1:] != project[order][:-1]
    return order[last]


def _delay(a: ProjectArrays, spi: Any, status: int, rules: WarningRules) -> list[EarlyWarning]:
    rows, level = _below(spi, rules.spi.amber, rules.spi.red, np.isfinite(spi))
    found = [
        _warn(a, r, WarningKind.DELAY, s, "supervision.warning.delay_spi",
              spi=round(float(spi[r]), 3), threshold=getattr(rules.spi, s))
        for r, s in zip(rows, level, strict=True)
    ]  # fmt: skip
    late = np.where(a.milestone_done, -1, status - a.milestone_due)
    overdue = late > rules.milestone_days.amber
    count = np.bincount(a.milestone_project[overdue], minlength=len(a.codes))
    worst = _worst_per_project(a.milestone_project, late)
    found += [
        _warn(a, a.milestone_project[m], WarningKind.DELAY,
              _level(late[m] > rules.milestone_days.red), "supervision.warning.delay_milestone",
              milestone=a.milestone_names[m], planned=_iso(a.milestone_due[m]),
              days=int(late[m]), overdue=int(count[a.milestone_project[m]]))
        for m in worst[overdue[worst]]
    ]  # fmt: skip
    return found


def _overspend(
    a: ProjectArrays, cpi: Any, ev: Any, status: int, rules: WarningRules
) -> list[EarlyWarning]:
    # An advance paid before any work is earned is not an overspend by itself (CPI would be 0);
    # the yearly-budget rule below still catches spending beyond the year's budget.
    rows, level = _below(cpi, rules.cpi.amber, rules.cpi.red, (ev > 0) & np.isfinite(cpi))
    found = [
        _warn(a, r, WarningKind.OVERSPEND, s, "supervision.warning.overspend_cpi",
              cpi=round(float(cpi[r]), 3), threshold=getattr(rules.cpi, s))
        for r, s in zip(rows, level, strict=True)
    ]  # fmt: skip
    years, spent, budget = _yearly_spend_and_budget(a, status)
    if years.size == 0:
        return found
    # Projects without a yearly budget (milestones only) have no year to compare with.
    has_budget = (np.bincount(a.budget_project, minlength=len(a.codes)) > 0)[:, None]
    amber = has_budget & (spent > budget * (1 + rules.year_over.amber))
    red = has_budget & (spent > budget * (1 + rules.year_over.red))
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(amber, spent / budget - 1, -np.inf)
    rows = np.nonzero(amber.any(axis=1))[0]
    found += [
        _warn(a, r, WarningKind.OVERSPEND, _level(red[r, y]), "supervision.warning.overspend_year",
              year=int(years[y]), spent=round(float(spent[r, y]), 2),
              budget=round(float(budget[r, y]), 2), percent=round(100 * float(excess[r, y]), 1))
        for r, y in zip(rows, excess[rows].argmax(axis=1), strict=True)
    ]  # fmt: skip
    return found


def _yearly_spend_and_budget(a: ProjectArrays, status: int) -> tuple[IntArray, Any, Any]:
    """Calendar years, and money spent up to ``status`` and budgeted, per (project, year)."""
    paid = a.spend_day <= status
    spend_year = a.spend_day[paid].astype("datetime64[D]").astype("datetime64[Y]").astype(int)
    years = np.union1d(spend_year + 1970, a.budget_year).astype(np.int64)
    spent, budget = np.zeros((2, len(a.codes), years.size))
    spend_cell = (a.spend_project[paid], np.searchsorted(years, spend_year + 1970))
    np.add.at(spent, spend_cell, a.spend_amount[paid])
    np.add.at(budget, (a.budget_project, np.searchsorted(years, a.budget_year)), a.budget_amount)
    return years, spent, budget


def _gates(a: ProjectArrays, status: int, rules: WarningRules) -> list[EarlyWarning]:
    def gate(
        p: Any, g: Any, kind: WarningKind, level: Severity, key: str, **more: Any
    ) -> EarlyWarning:
        return _warn(a, p, kind, level, key, gate=GATE_ORDER[g].value,
                     planned=_iso(a.gate_due[p, g]), **more)  # fmt: skip

    open_gate = a.gate_present & ~a.gate_skipped
    late = np.where(a.gate_passed, a.gate_passed_day, status) - a.gate_due
    found = [
        gate(p, g, WarningKind.GATE_LATE, _level(late[p, g] > rules.gate_late_days.red),
             "supervision.warning.gate_passed_late" if a.gate_passed[p, g]
             else "supervision.warning.gate_overdue", days=int(late[p, g]))
        for p, g in zip(*np.nonzero(open_gate & (late > rules.gate_late_days.amber)), strict=True)
    ]  # fmt: skip
    found += [
        gate(p, g, WarningKind.GATE_SKIPPED, "red", "supervision.warning.gate_skipped")
        for p, g in zip(*np.nonzero(a.gate_skipped), strict=True)
    ]
    # Out of order: gate j passed while an earlier gate k (not skipped) was still open or was
    # passed later. The acceptance test before trial operation has its own rule below.
    earlier = np.triu(np.ones((len(GATE_ORDER),) * 2, dtype=np.bool_), k=1)  # [k, j]: k < j
    earlier[_ACCEPTANCE, _TRIAL] = False
    behind = open_gate[:, :, None] & (
        ~a.gate_passed[:, :, None] | (a.gate_passed_day[:, :, None] > a.gate_passed_day[:, None, :])
    )
    out_of_order = behind & a.gate_passed[:, None, :] & earlier[None, :, :]
    first_behind = out_of_order.argmax(axis=1)
    found += [
        gate(p, g, WarningKind.GATE_SKIPPED, "red", "supervision.warning.gate_out_of_order",
             before=GATE_ORDER[first_behind[p, g]].value)
        for p, g in zip(*np.nonzero(out_of_order.any(axis=1)), strict=True)
    ]  # fmt: skip
    accepted_first = a.gate_passed[:, _ACCEPTANCE] & (
        a.gate_passed_day[:, _ACCEPTANCE] <= a.gate_passed_day[:, _TRIAL]
    )
    found += [
        gate(p, _TRIAL, WarningKind.GATE_SKIPPED, "red",
             "supervision.warning.trial_without_acceptance")
        for p in np.nonzero(a.gate_passed[:, _TRIAL] & ~accepted_first)[0]
    ]  # fmt: skip
    return found


def _stale(a: ProjectArrays, status: int, rules: WarningRules) -> list[EarlyWarning]:
    silent = np.where(a.finished, -1, status - a.last_update)
    return [
        _warn(a, r, WarningKind.STALE, _level(silent[r] > rules.stale_days.red),
              "supervision.warning.stale", last_update=_iso(a.last_update[r]),
              days=int(silent[r]))
        for r in np.nonzero(silent > rules.stale_days.amber)[0]
    ]  # fmt: skip


def early_warnings(
    projects: Sequence[TrackedProject], status_date: date, rules: WarningRules
) -> tuple[EarlyWarning, ...]:
    """Every early warning of the projects on ``status_date``, project by project.

    Parameters
    ----------
    projects : the tracked projects
    status_date : the day the programme is judged on (usually today)
    rules : the thresholds (``parse_rules(...).warnings``)

    Returns
    -------
    tuple of EarlyWarning
        Sorted by project (input order), then kind; a project may have several warnings of one
        kind (e.g. SPI and an overdue milestone are both DELAY), each with its own evidence.

    Raises
    ------
    InputError
        A project record is invalid.
    """
    arrays = validate_projects(projects)
    figures = project_figures(arrays, [status_date])
    status = day_number(status_date)
    found = (
        _delay(arrays, figures.spi[:, 0], status, rules)
        + _overspend(arrays, figures.cpi[:, 0], figures.ev[:, 0], status, rules)
        + _gates(arrays, status, rules)
        + _stale(arrays, status, rules)
    )
    position = {code: k for k, code in enumerate(arrays.codes)}
    kinds = list(WarningKind)
    return tuple(sorted(found, key=lambda w: (position[w.project], kinds.index(w.kind))))


def warning_text(warning: EarlyWarning, lang: str | None = None) -> str:
    """The warning's message in ``lang``, with gate codes shown as the gates' names."""
    params = dict(warning.params)
    for name in ("gate", "before"):
        if name in params:
            params[name] = GateKind(params[name]).label(lang)
    return t(warning.key, lang, **params)


def project_lights(codes: Sequence[str], warnings: Sequence[EarlyWarning]) -> tuple[Light, ...]:
    """Each project's light: red with any red warning, amber with any other, else green."""
    position = {code: k for k, code in enumerate(codes)}
    level = np.zeros(len(codes), dtype=np.int64)
    rows = np.array([position[w.project] for w in warnings], dtype=np.int64)
    np.maximum.at(level, rows, np.array([2 if w.severity == "red" else 1 for w in warnings]))
    lights: tuple[Light, ...] = ("green", "amber", "red")
    return tuple(lights[k] for k in level)


def traffic_lights(
    groups: Sequence[str], lights: Sequence[Light], rules: WarningRules
) -> tuple[GroupLight, ...]:
    """The light of each group (phase or domain) from its projects' lights, sorted by group.

    A group is red when at least ``rules.red_share`` of its projects are red, amber when any
    project is red or amber, green otherwise.

    Parameters
    ----------
    groups : the group of each project (e.g. ``[p.phase for p in projects]``)
    lights : each project's light (``project_lights``), in the same order
    """
    names, member_of = np.unique(np.array(groups, dtype=str), return_inverse=True)
    light = np.array(lights, dtype=str)
    count = np.bincount(member_of, minlength=names.size)
    red = np.bincount(member_of, light == "red", minlength=names.size).astype(np.int64)
    amber = np.bincount(member_of, light == "amber", minlength=names.size).astype(np.int64)
    return tuple(
        GroupLight(
            str(name),
            "red" if r >= rules.red_share * n else "amber" if r + a > 0 else "green",
            int(n),
            int(r),
            int(a),
        )
        for name, n, r, a in zip(names, count, red, amber, strict=True)
    )
