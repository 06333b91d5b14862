"""Portfolio selection and phasing: which projects to build, starting in which year and phase,
as a mixed-integer programme (HiGHS), with infeasibility explanations and a greedy baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import highspy
import numpy as np
import numpy.typing as npt

from cityloop.planning.portfolio_conflicts import (
    _conflict,
    _failed,
    _minimal_mandatory_conflict,
    _structural_conflicts,
)
from cityloop.planning.portfolio_mip import (
    _build_model,
    _is_infeasible,
    _Model,
    _objective,
    _result,
    _solve,
)
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
Status = Literal["optimal", "infeasible", "time_limit", "heuristic"]
Resource = Literal["budget", "staff"]


def optimise_portfolio(
    projects: Sequence[Project],
    phases: Phases,
    *,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    mip_rel_gap: float = 1e-3,
    time_limit: float = 60.0,
    gains: IndicatorGains | None = None,
    warm_start: bool = True,
) -> PortfolioResult:
    """Choose and phase projects to maximise total value under the yearly limits.

    Maximise ``Σ value_p x[p, s] + Σ_i g_i`` over binaries x[p, s] (p starts in year s and finishes
    inside the horizon) subject to: each project starts at most once (exactly once if
    mandatory, never if excluded); for each year, the cost and staff profiles of the projects
    under construction stay within the budget and staff, and within each phase their sums
    stay within the phase's limits when ``phases`` sets them; a prerequisite's last construction
    year is before the start of the project that needs it; for each plan type in
    ``min_share``, its projects carry at least that share of the chosen value (or count, with
    ``share_of="projects"``). With ``gains``, each indicator i adds a continuous
    ``0 ≤ g_i ≤ cap_i`` with ``g_i ≤ Σ gain[p, i] x[p, s]``: the plan is credited with its
    projects' gains on an indicator only up to the cap, so overlapping projects are not
    counted twice. Solved by HiGHS branch-and-cut to ``mip_rel_gap`` (0.1 % by default)
    or until ``time_limit`` seconds, from the rank-and-fill plan when ``warm_start`` and
    that plan is feasible. An infeasible input comes back with ``conflicts`` explaining it.

    Returns
    -------
    PortfolioResult
        The schedule, ``objective`` (value plus capped gains of the chosen projects), the
        solver's bound and gap, the yearly use of each limit, the binding limits and
        ``gain_by_indicator`` (the capped gain achieved on each indicator).
    """
    cat = _prepare(projects, phases, min_share or {}, share_of, gains)
    warm = _greedy(cat) if warm_start else None
    return _optimise(cat, mip_rel_gap, time_limit, None if warm is None or warm[3] else warm[:2])


def _start_vector(cat: _Catalogue, model: _Model, chosen: IntArray, start: IntArray) -> FloatArray:
    """A full column vector (starts, selections, capped gains) for a schedule."""
    x = np.zeros(model.matrix.shape[1])
    first = np.searchsorted(model.col_project, chosen)
    x[first + start] = 1.0
    x[model.n_start_columns + chosen] = 1.0
    x[model.n_integer_columns :] = cat.plan_value(chosen)[1]
    return x


def _optimise(
    cat: _Catalogue,
    mip_rel_gap: float,
    time_limit: float,
    warm: tuple[IntArray, IntArray] | None = None,
) -> PortfolioResult:
    """Solve a validated catalogue, optionally from a feasible schedule (chosen, start)."""
    conflicts = _structural_conflicts(cat)
    if conflicts:
        return _failed(cat, "mip", conflicts)
    model = _build_model(cat, cat.mandatory)
    if model.col_project.size == 0:
        # Nothing can start inside the horizon (HiGHS calls such a model "empty"), and the
        # checks above ruled out a mandatory project: the empty plan is the optimum.
        nothing, idle = np.zeros(0, dtype=np.int64), np.zeros(cat.horizon)
        return _result(cat, "mip", "optimal", nothing, nothing, (idle, idle), (0.0, 0.0))
    start = None if warm is None else _start_vector(cat, model, *warm)
    highs = _solve(model, _objective(cat, model), mip_rel_gap, time_limit, start)
    if _is_infeasible(highs):
        return _failed(cat, "mip", _minimal_mandatory_conflict(cat, time_limit))
    status_code = highs.getModelStatus()
    statuses: dict[Any, Status] = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }
    if status_code not in statuses:
        raise RuntimeError(f"HiGHS stopped with {highs.modelStatusToString(status_code)}")
    info = highs.getInfo()
    horizon = cat.horizon
    if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        solution = highs.getSolution()
        x = np.asarray(solution.col_value)[: model.n_start_columns]
        chosen_col = np.flatnonzero(x > 0.5)
        activity = np.asarray(solution.row_value, dtype=np.float64)[model.use_rows]
    else:  # stopped by the time limit before any plan was found
        chosen_col = np.zeros(0, dtype=np.int64)
        activity = np.full(2 * horizon, np.nan)
    used = (activity[:horizon], activity[horizon : 2 * horizon])
    bound = (float(info.mip_dual_bound), float(info.mip_gap))
    return _result(
        cat,
        "mip",
        statuses[status_code],
        model.col_project[chosen_col],
        model.col_start[chosen_col],
        used,
        bound,
        has_plan=bool(np.isfinite(activity).all()),
    )


def greedy_rank_and_fill(
    projects: Sequence[Project],
    phases: Phases,
    *,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    gains: IndicatorGains | None = None,
) -> PortfolioResult:
    """The spreadsheet baseline: rank by value per unit cost, place each at its earliest start.

    Mandatory projects go first, then the rest by ``(value + Σ_i gain[p, i]) / total cost``
    (Dantzig's ratio rule for the knapsack; the gains enter uncapped, as a spreadsheet adding
    up each project's promised improvements would); each goes at the earliest year after its
    prerequisites finish where its cost and staff profile fit what is left, in every year and
    in every phase with a limit. The reported objective counts the gains capped, like the
    MIP's, so the two are comparable. Passes repeat until nothing more is placed, so a
    low-ranked prerequisite does not block a project for ever. Plan-type shares are only
    checked afterwards, as a spreadsheet would: an unmet share or an unplaced mandatory
    project makes the status ``"infeasible"`` with a conflict naming it.

    References
    ----------
    .. [1] Dantzig, G.B. (1957). Discrete-variable extremum problems.
       Operations Research 5(2), 266-288.
    """
    cat = _prepare(projects, phases, min_share or {}, share_of, gains)
    chosen, start, used, conflicts = _greedy(cat)
    nan = float("nan")
    status: Status = "infeasible" if conflicts else "heuristic"
    return _result(cat, "greedy", status, chosen, start, used, (nan, nan), conflicts)


def _greedy(
    cat: _Catalogue,
) -> tuple[IntArray, IntArray, tuple[FloatArray, FloatArray], list[Conflict]]:
    """Rank and fill on a validated catalogue: chosen projects, their starts, the yearly use
    and the conflicts (unplaced mandatory projects, unmet plan-type shares)."""
    n_proj, horizon = len(cat.codes), cat.horizon
    total_cost = np.add.reduceat(cat.cost_flat, cat.profile_offset) if n_proj else np.zeros(0)
    merit = cat.value + cat.gain.sum(axis=1)
    ratio = np.divide(merit, total_cost, out=np.full(n_proj, np.inf), where=total_cost > 0)
    order = np.lexsort((-ratio, ~cat.mandatory))
    by_needer = np.argsort(cat.needs[:, 0], kind="stable")
    split = np.searchsorted(cat.needs[by_needer, 0], np.arange(1, n_proj))
    prerequisites = np.split(cat.needs[by_needer, 1], split)
    start = np.full(n_proj, -1, dtype=np.int64)
    used = (np.zeros(horizon), np.zeros(horizon))
    placed_any = True
    while placed_any:
        placed_any = False
        for p in order[~cat.excluded[order] & (start[order] < 0)]:
            needed = prerequisites[p]
            if (start[needed] < 0).any():
                continue
            ready = int((start[needed] + cat.duration[needed]).max(initial=0))
            first = _earliest_fit(cat, int(p), ready, used)
            if first >= 0:
                start[p] = first
                profile = slice(
                    int(cat.profile_offset[p]), int(cat.profile_offset[p] + cat.duration[p])
                )
                years = slice(first, first + int(cat.duration[p]))
                used[0][years] += cat.cost_flat[profile]
                used[1][years] += cat.staff_flat[profile]
                placed_any = True
    chosen = np.flatnonzero(start >= 0)
    conflicts = [
        _conflict(
            "plan.portfolio.greedy.mandatory_unplaced",
            f"rank-and-fill could not place mandatory project {cat.codes[p]}",
            code=cat.codes[p],
        )
        for p in np.flatnonzero(cat.mandatory & (start < 0))
    ]
    weight = cat.value if cat.share_of_value else np.ones(n_proj)
    share_total = weight[chosen].sum()
    for t, plan_type in enumerate(cat.share_types):
        reached = (cat.share_members[t, chosen] * weight[chosen]).sum()
        if reached < cat.share_minimum[t] * share_total - 1e-9:
            conflicts.append(
                _conflict(
                    "plan.portfolio.greedy.share_unmet",
                    f"plan type {plan_type} has share {reached / share_total:.3f}"
                    f" below the minimum {cat.share_minimum[t]:.3f}",
                    plan_type=plan_type,
                    minimum=float(cat.share_minimum[t]),
                )
            )
    return chosen, start[chosen], used, conflicts


def _earliest_fit(cat: _Catalogue, p: int, ready: int, used: tuple[FloatArray, FloatArray]) -> int:
    """The earliest start from ``ready`` where project p fits what the yearly and phase limits
    leave after ``used`` (budget, staff per year); -1 if none."""
    d = int(cat.duration[p])
    window = np.arange(ready, cat.horizon - d + 1)[:, None] + np.arange(d)
    profile = slice(int(cat.profile_offset[p]), int(cat.profile_offset[p]) + d)
    fits = np.ones(window.shape[0], dtype=np.bool_)
    phase = cat.year_phase[window]
    rows = np.repeat(np.arange(window.shape[0]), d)
    for need, spent, yearly, per_phase in (
        (cat.cost_flat[profile], used[0], cat.budget, cat.phase_budget),
        (cat.staff_flat[profile], used[1], cat.staff, cat.phase_staff),
    ):
        fits &= np.all(spent[window] + need <= yearly[window] + 1e-9, axis=1)
        phase_need = np.zeros((window.shape[0], per_phase.size))
        np.add.at(phase_need, (rows, phase.ravel()), np.tile(need, window.shape[0]))
        phase_spent = np.bincount(cat.year_phase, weights=spent, minlength=per_phase.size)
        fits &= np.all(phase_spent + phase_need <= per_phase + 1e-9, axis=1)
    return int(window[int(np.argmax(fits)), 0]) if fits.any() else -1
