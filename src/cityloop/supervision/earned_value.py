"""Earned-value management (挣值管理) over projects × status dates: planned value, earned value,
actual cost, the variances, indices and forecasts, and programme roll-ups by phase or domain.

Vectorised: every figure is one array operation over (milestones | budget years | payments) ×
dates, summed by project; ``docs/supervision.md`` writes out each formula with an example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from cityloop.errors import InputError
from cityloop.supervision.tracking import (
    BoolArray,
    FloatArray,
    IntArray,
    ProjectArrays,
    TrackedProject,
    day_number,
    validate_projects,
)


@dataclass(frozen=True)
class EarnedValueFigures:
    """The earned-value figures of some rows (projects or groups) at each status date.

    Every array is (rows, dates) except ``bac`` (rows,). Money is in the unit of the input
    (万元). Where a ratio has no meaning the figure is NaN; ``docs/supervision.md`` lists when.

    Attributes
    ----------
    pv, ev, ac : planned value, earned value, actual cost (cumulative to the status date)
    sv, cv : schedule variance EV − PV, cost variance EV − AC
    spi, cpi : schedule performance index EV / PV, cost performance index EV / AC
    eac : estimate at completion, BAC / CPI (PMBOK "typical": the rest at today's efficiency)
    eac_atypical : AC + (BAC − EV) (the rest at the budgeted rate)
    eac_composite : AC + (BAC − EV) / (CPI × SPI) (cost and schedule both weigh on the rest)
    etc, vac : estimate to complete EAC − AC, variance at completion BAC − EAC
    tcpi : to-complete performance index against BAC, (BAC − EV) / (BAC − AC)
    """

    rows: tuple[str, ...]
    dates: tuple[date, ...]
    bac: FloatArray
    pv: FloatArray
    ev: FloatArray
    ac: FloatArray
    sv: FloatArray
    cv: FloatArray
    spi: FloatArray
    cpi: FloatArray
    eac: FloatArray
    eac_atypical: FloatArray
    eac_composite: FloatArray
    etc: FloatArray
    vac: FloatArray
    tcpi: FloatArray


def _index(earned: FloatArray, base: FloatArray) -> FloatArray:
    """``earned / base`` with 0 / 0 = 1 (nothing due or spent, nothing earned: on plan) and
    x / 0 = +inf for x > 0 (work earned before any was due or paid for)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = earned / base
    return np.where((earned == 0) & (base == 0), 1.0, ratio)


def _divide_by_index(amount: FloatArray, index: FloatArray) -> FloatArray:
    """``amount / index``, NaN where the index is 0 or infinite (no basis for a forecast)."""
    usable = np.isfinite(index) & (index > 0)
    return np.where(usable, amount / np.where(usable, index, 1.0), np.nan)


def evm_figures(
    rows: Sequence[str],
    dates: Sequence[date],
    bac: FloatArray,
    pv: FloatArray,
    ev: FloatArray,
    ac: FloatArray,
) -> EarnedValueFigures:
    """All earned-value figures from budget at completion, PV, EV and AC.

    Parameters
    ----------
    rows, dates : labels of the rows (projects or groups) and of the status dates
    bac : (rows,) budget at completion
    pv, ev, ac : (rows, dates) planned value, earned value, actual cost

    Returns
    -------
    EarnedValueFigures
        SPI and CPI take 0 / 0 = 1 and x / 0 = +inf; EAC (= BAC / CPI) and the composite EAC
        are NaN when the index they divide by is 0 or infinite; TCPI is NaN when no work is
        left and +inf when work is left but the budget is spent.

    References
    ----------
    Project Management Institute, *A Guide to the Project Management Body of Knowledge*,
    6th ed., 2017, §7.4.2.2 (earned value analysis) and §7.4.2.4 (TCPI); Fleming & Koppelman,
    *Earned Value Project Management*, 4th ed., PMI, 2010, ch. 11 (the EAC forms).
    """
    bac_column = np.asarray(bac, dtype=np.float64)[:, None]
    pv, ev, ac = (np.asarray(a, dtype=np.float64) for a in (pv, ev, ac))
    spi = _index(ev, pv)
    cpi = _index(ev, ac)
    work_left = bac_column - ev
    eac = _divide_by_index(np.broadcast_to(bac_column, ev.shape), cpi)
    funds_left = bac_column - ac
    with np.errstate(divide="ignore", invalid="ignore"):
        tcpi = np.where(
            work_left <= 0,
            np.nan,
            np.where(funds_left > 0, work_left / np.where(funds_left > 0, funds_left, 1), np.inf),
        )
    return EarnedValueFigures(
        rows=tuple(rows),
        dates=tuple(dates),
        bac=bac_column[:, 0],
        pv=pv,
        ev=ev,
        ac=ac,
        sv=ev - pv,
        cv=ev - ac,
        spi=spi,
        cpi=cpi,
        eac=eac,
        eac_atypical=ac + work_left,
        eac_composite=ac + _divide_by_index(work_left, cpi * spi),
        etc=eac - ac,
        vac=bac_column - eac,
        tcpi=tcpi,
    )


def _sum_by_project(project: IntArray, contribution: FloatArray, n_projects: int) -> FloatArray:
    """Add each (entries, dates) row into the row of its project."""
    total = np.zeros((n_projects, contribution.shape[1]))
    np.add.at(total, project, contribution)
    return total


def _spread(start: IntArray, end: IntArray, days: IntArray) -> FloatArray:
    """Share of a span (start, end] reached on each day: linear, a step where end ≤ start."""
    length = (end - start)[:, None]
    linear = (days[None, :] - start[:, None]) / np.where(length > 0, length, 1)
    return np.where(length > 0, np.clip(linear, 0.0, 1.0), days[None, :] >= end[:, None])


def _budget_spans(arrays: ProjectArrays) -> tuple[BoolArray, IntArray, IntArray]:
    """Which budget years form the baseline (projects without milestones) and their spans.

    A year's cost is planned evenly over its days, from the later of 1 January and the project
    start; the span is written (day before the first day, last day].
    """
    used = ~arrays.has_milestones[arrays.budget_project]
    years = arrays.budget_year
    new_year = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    next_year = (years - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    start = np.maximum(new_year, arrays.start[arrays.budget_project]) - 1
    return used, np.minimum(start, next_year - 1), next_year - 1


def baseline(arrays: ProjectArrays) -> FloatArray:
    """Budget at completion of each project: its milestones' values, else its yearly budget."""
    n = len(arrays.codes)
    by_milestone = np.bincount(arrays.milestone_project, arrays.milestone_value, minlength=n)
    by_budget = np.bincount(arrays.budget_project, arrays.budget_amount, minlength=n)
    return np.where(arrays.has_milestones, by_milestone, by_budget)


def planned_value(arrays: ProjectArrays, days: IntArray) -> FloatArray:
    """PV (projects, days): each milestone's value spread linearly over its span, from the
    previous due date (or the project start) to its own; without milestones, each year's
    budget spread linearly over that year."""
    n = len(arrays.codes)
    by_milestone = arrays.milestone_value[:, None] * _spread(
        arrays.milestone_span_start, arrays.milestone_due, days
    )
    used, start, end = _budget_spans(arrays)
    by_budget = (arrays.budget_amount * used)[:, None] * _spread(start, end, days)
    return _sum_by_project(arrays.milestone_project, by_milestone, n) + _sum_by_project(
        arrays.budget_project, by_budget, n
    )


def earned_value_curve(arrays: ProjectArrays, bac: FloatArray, days: IntArray) -> FloatArray:
    """EV (projects, days): completed milestones' values from their completion dates, plus the
    reported share of open ones from the project's last update (the date it was reported).

    A project without milestones earns its reported overall share of BAC from its last update.
    """
    reported = days[None, :] >= arrays.last_update[:, None]
    milestone_reported = reported[arrays.milestone_project]
    completed = days[None, :] >= arrays.milestone_completed[:, None]
    share = np.where(
        arrays.milestone_done[:, None],
        completed,
        arrays.milestone_fraction[:, None] * milestone_reported,
    )
    by_milestone = _sum_by_project(
        arrays.milestone_project, arrays.milestone_value[:, None] * share, len(arrays.codes)
    )
    overall = (bac * arrays.percent_complete)[:, None] * reported
    return np.where(arrays.has_milestones[:, None], by_milestone, overall)


def actual_cost(arrays: ProjectArrays, days: IntArray) -> FloatArray:
    """AC (projects, days): money spent on or before each day."""
    paid = arrays.spend_amount[:, None] * (arrays.spend_day[:, None] <= days[None, :])
    return _sum_by_project(arrays.spend_project, paid, len(arrays.codes))


def project_figures(arrays: ProjectArrays, status_dates: Sequence[date]) -> EarnedValueFigures:
    """Earned-value figures of already validated projects at each status date."""
    days = np.array([day_number(d) for d in status_dates], dtype=np.int64)
    bac = baseline(arrays)
    return evm_figures(
        arrays.codes,
        status_dates,
        bac,
        planned_value(arrays, days),
        earned_value_curve(arrays, bac, days),
        actual_cost(arrays, days),
    )


def earned_value(
    projects: Sequence[TrackedProject], status_dates: Sequence[date]
) -> EarnedValueFigures:
    """Earned-value figures of each project (rows, in input order) at each status date.

    Raises
    ------
    InputError
        A project record is invalid (``cityloop.supervision.tracking.validate_projects``).
    """
    return project_figures(validate_projects(projects), status_dates)


def roll_up(figures: EarnedValueFigures, labels: Sequence[str]) -> EarnedValueFigures:
    """Programme figures by group (phase, domain, …): PV, EV, AC and BAC summed over each
    group's rows, and every index recomputed from those sums (never an average of indices).

    Parameters
    ----------
    figures : the projects' figures
    labels : the group of each row of ``figures``; the result's rows are the sorted groups

    Raises
    ------
    InputError
        ``supervision.rollup.labels_mismatch`` when there is not one label per row.
    """
    if len(labels) != len(figures.rows):
        raise InputError(
            "supervision.rollup.labels_mismatch", rows=len(figures.rows), labels=len(labels)
        )
    groups, member_of = np.unique(np.array(labels, dtype=str), return_inverse=True)
    membership = (member_of[None, :] == np.arange(groups.size)[:, None]).astype(np.float64)
    return evm_figures(
        tuple(str(g) for g in groups),
        figures.dates,
        membership @ figures.bac,
        membership @ figures.pv,
        membership @ figures.ev,
        membership @ figures.ac,
    )
