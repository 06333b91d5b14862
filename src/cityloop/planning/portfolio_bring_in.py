"""What it would take to bring a left-out project into an optimised plan: the objective it
would cost, what it would displace, why it cannot fit, and the extra budget that lets it in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from cityloop.errors import InputError, Problem
from cityloop.planning.portfolio import _earliest_fit, _optimise
from cityloop.planning.portfolio_types import (
    Conflict,
    IndicatorGains,
    Phases,
    PortfolioResult,
    Project,
    _Catalogue,
    _prepare,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BringIn:
    """What forcing one left-out project into the plan does.

    ``cost`` is the objective given up (base optimum minus the optimum with the project
    mandatory), hence also the increase in the project's value that would make including it
    as good as leaving it out. ``cost_low``/``cost_high`` bound it from the two solves' proven
    bounds; ``exact`` when they meet (both solves optimal with no gap, within 1e-6).
    ``fits`` is False with ``conflicts`` when no plan can hold the project, and False with
    no conflicts when the time limit struck before a plan with it was found
    (``result.status == "time_limit"``). ``extra_budget`` is the least money (万元, by year
    in ``extra_budget_by_year``) that fits the project, started in ``extra_budget_start``,
    beside every project of the base plan kept where it is; None when money alone cannot
    (staff, prerequisites outside the plan, a plan-type share, or the horizon block it).
    """

    code: str
    fits: bool
    cost: float
    cost_low: float
    cost_high: float
    exact: bool
    start_year: int | None
    displaced: tuple[str, ...]
    added: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    extra_budget: float | None
    extra_budget_start: int | None
    extra_budget_by_year: tuple[float, ...]
    result: PortfolioResult


def bring_in_candidates(
    projects: Sequence[Project],
    result: PortfolioResult,
    *,
    top: int = 10,
    gains: IndicatorGains | None = None,
) -> tuple[str, ...]:
    """The ``top`` left-out projects with the highest value plus (uncapped) indicator gains,
    skipping excluded ones: the ones a planner asks about first."""
    chosen = {s.code for s in result.scheduled}
    gain = gains.gain if gains is not None else {}
    merit = {p.code: p.value + sum(gain.get(p.code, {}).values()) for p in projects}
    left_out = [p.code for p in projects if p.code not in chosen and not p.excluded]
    return tuple(sorted(left_out, key=lambda code: -merit[code])[:top])


def bring_in(
    projects: Sequence[Project],
    phases: Phases,
    result: PortfolioResult,
    codes: Sequence[str] | None = None,
    *,
    top: int = 10,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    gains: IndicatorGains | None = None,
    mip_rel_gap: float = 1e-3,
    time_limit: float = 20.0,
) -> tuple[BringIn, ...]:
    """For each left-out project in ``codes`` (default: :func:`bring_in_candidates`), re-solve
    with it mandatory and report what that costs.

    ``result`` is the base plan, solved by :func:`optimise_portfolio` with the same inputs.
    Each re-solve starts from the base plan repaired to hold the project (the project at its
    earliest fit beside its prerequisites, then the other base projects where they still
    fit), so HiGHS has an incumbent from the first node. An excluded project asked for by
    name is un-excluded for its re-solve. ``cost`` is exact when both solves are optimal;
    otherwise ``[cost_low, cost_high]`` brackets it.

    Raises
    ------
    InputError
        A code that is not a project, or that the base plan already holds.
    """
    cat = _prepare(projects, phases, min_share or {}, share_of, gains)
    chosen = {s.code: s.start_year for s in result.scheduled}
    if codes is None:
        codes = bring_in_candidates(projects, result, top=top, gains=gains)
    index = {code: i for i, code in enumerate(cat.codes)}
    problems = [
        Problem("plan.bring_in.unknown", {"code": code})
        if code not in index
        else Problem("plan.bring_in.already_in", {"code": code})
        for code in codes
        if code not in index or code in chosen
    ]
    if problems:
        raise InputError("plan.bring_in.invalid", problems)
    base_start = np.full(len(cat.codes), -1, dtype=np.int64)
    for code, year in chosen.items():
        base_start[index[code]] = year
    return tuple(
        _bring_in_one(cat, result, base_start, index[code], mip_rel_gap, time_limit)
        for code in codes
    )


def _bring_in_one(
    cat: _Catalogue,
    base: PortfolioResult,
    base_start: IntArray,
    p: int,
    mip_rel_gap: float,
    time_limit: float,
) -> BringIn:
    mandatory, excluded = cat.mandatory.copy(), cat.excluded.copy()
    mandatory[p], excluded[p] = True, False
    forced_cat = replace(cat, mandatory=mandatory, excluded=excluded)
    warm = _repaired_start(forced_cat, base_start, p)
    forced = _optimise(forced_cat, mip_rel_gap, time_limit, warm)
    before = {s.code for s in base.scheduled}
    after = {s.code: s.start_year for s in forced.scheduled}
    if cat.codes[p] not in after:  # infeasible, or the time limit struck before any plan
        nan = float("nan")
        return BringIn(
            code=cat.codes[p],
            fits=False,
            cost=nan,
            cost_low=nan,
            cost_high=nan,
            exact=False,
            start_year=None,
            displaced=(),
            added=(),
            conflicts=forced.conflicts,
            extra_budget=None,
            extra_budget_start=None,
            extra_budget_by_year=(),
            result=forced,
        )
    low = base.objective - forced.best_bound
    high = base.best_bound - forced.objective
    extra = _extra_budget(forced_cat, base_start, p)
    return BringIn(
        code=cat.codes[p],
        fits=True,
        cost=base.objective - forced.objective,
        cost_low=low,
        cost_high=high,
        exact=bool(high - low <= 1e-6 * max(1.0, abs(base.objective))),
        start_year=after[cat.codes[p]],
        displaced=tuple(sorted(before - set(after))),
        added=tuple(sorted(set(after) - before - {cat.codes[p]})),
        conflicts=(),
        extra_budget=None if extra is None else float(extra[1].sum()),
        extra_budget_start=None if extra is None else extra[0],
        extra_budget_by_year=() if extra is None else tuple(extra[1].tolist()),
        result=forced,
    )


def _usage(cat: _Catalogue, start: IntArray) -> tuple[FloatArray, FloatArray]:
    """Yearly budget and staff use of a schedule (start year per project, -1 = left out)."""
    chosen = np.flatnonzero(start >= 0)
    lengths = cat.duration[chosen]
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    year = np.repeat(start[chosen], lengths) + offset
    profile = np.repeat(cat.profile_offset[chosen], lengths) + offset
    return (
        np.bincount(year, weights=cat.cost_flat[profile], minlength=cat.horizon).astype(float),
        np.bincount(year, weights=cat.staff_flat[profile], minlength=cat.horizon).astype(float),
    )


def _prerequisite_closure(cat: _Catalogue, p: int) -> BoolArray:
    """Project p and everything it needs, directly or through others."""
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    inside = np.zeros(len(cat.codes), dtype=np.bool_)
    inside[p] = True
    while True:
        grown = inside.copy()
        grown[needed[inside[needer]]] = True
        if np.array_equal(grown, inside):
            return inside
        inside = grown


def _repaired_start(
    cat: _Catalogue, base_start: IntArray, p: int
) -> tuple[IntArray, IntArray] | None:
    """The base plan made to hold p: p's prerequisites where the base plan has them, p at
    its earliest fit after them, then the other base projects, in start order, where they
    and their prerequisites still fit. None when p's prerequisites are not all in the plan
    or p does not fit beside them (HiGHS then starts without an incumbent)."""
    closure = _prerequisite_closure(cat, p)
    closure[p] = False
    if (base_start[closure] < 0).any():
        return None
    start = np.where(closure, base_start, -1)
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    ready = int((start[needed] + cat.duration[needed])[needer == p].max(initial=0))
    first = _earliest_fit(cat, p, ready, _usage(cat, start))
    if first < 0:
        return None
    start[p] = first
    others = np.flatnonzero((base_start >= 0) & ~closure)
    for q in others[np.argsort(base_start[others], kind="stable")]:
        s = int(base_start[q])
        prereqs = needed[needer == q]
        if (start[prereqs] < 0).any() or (start[prereqs] + cat.duration[prereqs] > s).any():
            continue
        if _earliest_fit(cat, int(q), s, _usage(cat, start)) == s:
            start[q] = s
    chosen = np.flatnonzero(start >= 0)
    return chosen, start[chosen]


def _extra_budget(cat: _Catalogue, base_start: IntArray, p: int) -> tuple[int, FloatArray] | None:
    """The least money that fits p beside the base plan kept as it is: (start, by year).

    For each start s after p's prerequisites (all in the base plan) finish, where p's staff
    fits the yearly and phase staff limits and the plan-type shares still hold, the money
    missing in year y is ``over_y = max(0, used_y + cost_p(y - s) - budget_y)``; money added
    to a year also counts in its phase, so phase k needs ``max(Σ_{y∈k} over_y, used_k +
    cost_p,k - phase_budget_k)``. The figure is the smallest total over s (earliest on a
    tie); the phase remainder is shown in p's first year in that phase. Exact for this
    definition: nothing in the base plan moves or is dropped.
    """
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    prereqs = needed[needer == p]
    if (base_start[prereqs] < 0).any() or not _shares_hold(cat, base_start, p):
        return None
    ready = int((base_start[prereqs] + cat.duration[prereqs]).max(initial=0))
    d = int(cat.duration[p])
    starts = np.arange(ready, cat.horizon - d + 1)
    if starts.size == 0:
        return None
    window = starts[:, None] + np.arange(d)
    profile = slice(int(cat.profile_offset[p]), int(cat.profile_offset[p]) + d)
    used_budget, used_staff = _usage(cat, base_start)
    n_phases = cat.phase_end.size
    cost = np.zeros((starts.size, cat.horizon))
    staff = np.zeros((starts.size, cat.horizon))
    rows = np.repeat(np.arange(starts.size), d)
    cost[rows, window.ravel()] = np.tile(cat.cost_flat[profile], starts.size)
    staff[rows, window.ravel()] = np.tile(cat.staff_flat[profile], starts.size)
    phase_of = cat.year_phase
    to_phase = np.zeros((cat.horizon, n_phases))
    to_phase[np.arange(cat.horizon), phase_of] = 1.0
    staff_total = used_staff + staff
    staff_ok = np.all(staff_total <= cat.staff + 1e-9, axis=1)
    staff_ok &= np.all(staff_total @ to_phase <= cat.phase_staff + 1e-9, axis=1)
    if not staff_ok.any():
        return None
    over = np.maximum(0.0, used_budget + cost - cat.budget)  # (starts, years)
    phase_over = np.maximum(0.0, (used_budget + cost) @ to_phase - cat.phase_budget)
    remainder = np.maximum(0.0, phase_over - over @ to_phase)  # (starts, phases)
    total = np.where(staff_ok, over.sum(axis=1) + remainder.sum(axis=1), np.inf)
    best = int(np.argmin(total))
    by_year = over[best].copy()
    for k in np.flatnonzero(remainder[best] > 0):
        years_in_phase = window[best][phase_of[window[best]] == k]
        by_year[years_in_phase[0]] += remainder[best, k]
    return int(starts[best]), by_year


def _shares_hold(cat: _Catalogue, base_start: IntArray, p: int) -> bool:
    """Whether the plan-type minimum shares still hold with p added to the base plan."""
    chosen = base_start >= 0
    chosen[p] = True
    weight = (cat.value if cat.share_of_value else np.ones(len(cat.codes))) * chosen
    reached = cat.share_members @ weight
    return bool(np.all(reached >= cat.share_minimum * weight.sum() - 1e-9))
