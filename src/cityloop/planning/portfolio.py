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
    _result,
    _solve,
)
from cityloop.planning.portfolio_types import (
    Phases,
    PortfolioResult,
    Project,
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
    mip_rel_gap: float = 1e-4,
    time_limit: float = 60.0,
) -> PortfolioResult:
    """Choose and phase projects to maximise total value under the yearly limits.

    Maximise ``Σ value_p x[p, s]`` over binaries x[p, s] (p starts in year s and finishes
    inside the horizon) subject to: each project starts at most once (exactly once if
    mandatory, never if excluded); for each year, the cost and staff profiles of the projects
    under construction stay within the budget and staff; a prerequisite's last construction
    year is before the start of the project that needs it; for each plan type in
    ``min_share``, its projects carry at least that share of the chosen value (or count, with
    ``share_of="projects"``). Solved by HiGHS branch-and-cut to ``mip_rel_gap`` or until
    ``time_limit`` seconds. An infeasible input comes back with ``conflicts`` explaining it.
    """
    cat = _prepare(projects, phases, min_share or {}, share_of)
    conflicts = _structural_conflicts(cat)
    if conflicts:
        return _failed(cat, "mip", conflicts)
    model = _build_model(cat, cat.mandatory)
    if model.col_project.size == 0:
        # Nothing can start inside the horizon (HiGHS calls such a model "empty"), and the
        # checks above ruled out a mandatory project: the empty plan is the optimum.
        nothing, idle = np.zeros(0, dtype=np.int64), np.zeros(cat.horizon)
        return _result(cat, "mip", "optimal", nothing, nothing, (idle, idle), (0.0, 0.0))
    highs = _solve(model, cat.value[model.col_project], mip_rel_gap, time_limit)
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
    n_proj, horizon = len(cat.codes), cat.horizon
    if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
        solution = highs.getSolution()
        chosen_col = np.flatnonzero(np.asarray(solution.col_value) > 0.5)
        activity = np.asarray(solution.row_value, dtype=np.float64)
    else:  # stopped by the time limit before any plan was found
        chosen_col = np.zeros(0, dtype=np.int64)
        activity = np.full(n_proj + 2 * horizon, np.nan)
    used = (activity[n_proj : n_proj + horizon], activity[n_proj + horizon : n_proj + 2 * horizon])
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
) -> PortfolioResult:
    """The spreadsheet baseline: rank by value per unit cost, place each at its earliest start.

    Mandatory projects go first, then the rest by ``value / total cost`` (Dantzig's ratio rule
    for the knapsack); each goes at the earliest year after its prerequisites finish where its
    cost and staff profile fit what is left. Passes repeat until nothing more is placed, so a
    low-ranked prerequisite does not block a project for ever. Plan-type shares are only
    checked afterwards, as a spreadsheet would: an unmet share or an unplaced mandatory
    project makes the status ``"infeasible"`` with a conflict naming it.

    References
    ----------
    .. [1] Dantzig, G.B. (1957). Discrete-variable extremum problems.
       Operations Research 5(2), 266-288.
    """
    cat = _prepare(projects, phases, min_share or {}, share_of)
    n_proj, horizon = len(cat.codes), cat.horizon
    total_cost = np.add.reduceat(cat.cost_flat, cat.profile_offset) if n_proj else np.zeros(0)
    ratio = np.divide(cat.value, total_cost, out=np.full(n_proj, np.inf), where=total_cost > 0)
    order = np.lexsort((-ratio, ~cat.mandatory))
    by_needer = np.argsort(cat.needs[:, 0], kind="stable")
    split = np.searchsorted(cat.needs[by_needer, 0], np.arange(1, n_proj))
    prerequisites = np.split(cat.needs[by_needer, 1], split)
    start = np.full(n_proj, -1, dtype=np.int64)
    left = {"budget": cat.budget.copy(), "staff": cat.staff.copy()}
    placed_any = True
    while placed_any:
        placed_any = False
        for p in order[~cat.excluded[order] & (start[order] < 0)]:
            needed = prerequisites[p]
            if (start[needed] < 0).any():
                continue
            d = int(cat.duration[p])
            ready = int((start[needed] + cat.duration[needed]).max(initial=0))
            window = np.arange(ready, horizon - d + 1)[:, None] + np.arange(d)
            profile = slice(int(cat.profile_offset[p]), int(cat.profile_offset[p]) + d)
            fits = np.all(cat.cost_flat[profile] <= left["budget"][window] + 1e-9, axis=1)
            fits &= np.all(cat.staff_flat[profile] <= left["staff"][window] + 1e-9, axis=1)
            if fits.any():
                years = window[int(np.argmax(fits))]
                start[p] = years[0]
                left["budget"][years] -= cat.cost_flat[profile]
                left["staff"][years] -= cat.staff_flat[profile]
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
    for t, plan_type in enumerate(min_share or {}):
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
    used = (cat.budget - left["budget"], cat.staff - left["staff"])
    nan = float("nan")
    status: Status = "infeasible" if conflicts else "heuristic"
    return _result(cat, "greedy", status, chosen, start[chosen], used, (nan, nan), conflicts)
