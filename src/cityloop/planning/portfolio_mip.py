"""The portfolio as a mixed-integer programme: the sparse model built with NumPy index
arithmetic, solved by HiGHS, and its solution read back as a schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

from cityloop.planning.portfolio_types import (
    BindingLimit,
    Conflict,
    PortfolioResult,
    ScheduledProject,
    _Catalogue,
    _ragged_arange,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Status = Literal["optimal", "infeasible", "time_limit", "heuristic"]
Resource = Literal["budget", "staff"]


@dataclass(frozen=True)
class _Model:
    col_project: IntArray
    col_start: IntArray
    matrix: sparse.csc_array
    row_lower: FloatArray
    row_upper: FloatArray


def _build_model(cat: _Catalogue, mandatory: BoolArray) -> _Model:
    """The time-indexed model of Pritsker, Watters & Wolfe (1969): x[p, s] = p starts in s.

    Rows, in order: one "start at most once" row per project, one budget row and one staff
    row per year, the precedence rows, one row per plan-type minimum share. Precedence uses
    the cumulative (disaggregated) form ``Σ_{s'≤s} x[p, s'] ≤ Σ_{s'≤s-d_q} x[q, s']`` for every
    s, whose LP relaxation is tighter than the aggregated one [Artigues 2017].

    References
    ----------
    .. [1] Pritsker, A.A.B., Watters, L.J., Wolfe, P.M. (1969). Multiproject scheduling with
       limited resources: a zero-one programming approach. Management Science 16(1), 93-108.
    .. [2] Artigues, C. (2017). On the strength of time-indexed formulations for the
       resource-constrained project scheduling problem. Oper. Res. Letters 45(2), 154-159.
    """
    n_proj, horizon = len(cat.codes), cat.horizon
    # A start is allowed only if the project finishes inside the horizon; none if excluded.
    n_starts = np.where(cat.excluded, 0, np.maximum(horizon - cat.duration + 1, 0))
    col_first = np.cumsum(n_starts) - n_starts
    col_project = np.repeat(np.arange(n_proj, dtype=np.int64), n_starts)
    col_start = _ragged_arange(n_starts)
    n_col = col_project.size
    rows: list[IntArray] = [col_project]
    cols: list[IntArray] = [np.arange(n_col, dtype=np.int64)]
    vals: list[FloatArray] = [np.ones(n_col)]

    lengths = cat.duration[col_project]
    offset = _ragged_arange(lengths)
    year = np.repeat(col_start, lengths) + offset
    profile = np.repeat(cat.profile_offset[col_project], lengths) + offset
    entry_col = np.repeat(np.arange(n_col, dtype=np.int64), lengths)
    rows += [n_proj + year, n_proj + horizon + year]
    cols += [entry_col, entry_col]
    vals += [cat.cost_flat[profile], cat.staff_flat[profile]]

    base = n_proj + 2 * horizon
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    thresholds = n_starts[needer]
    edge = np.repeat(np.arange(needer.size, dtype=np.int64), thresholds)
    threshold = _ragged_arange(thresholds)
    row_id = base + np.arange(edge.size, dtype=np.int64)
    for project, count, sign in (
        (needer[edge], threshold + 1, -1.0),
        (needed[edge], np.clip(threshold - cat.duration[needed[edge]] + 1, 0, None), 1.0),
    ):
        count = np.minimum(count, n_starts[project])
        rows.append(np.repeat(row_id, count))
        cols.append(np.repeat(col_first[project], count) + _ragged_arange(count))
        vals.append(np.full(int(count.sum()), sign))

    share_base = base + edge.size
    weight = cat.value if cat.share_of_value else np.ones(n_proj)
    coef = (cat.share_members - cat.share_minimum[:, None]) * weight  # (types, projects)
    n_types = coef.shape[0]
    rows.append(np.repeat(share_base + np.arange(n_types, dtype=np.int64), n_col))
    cols.append(np.tile(np.arange(n_col, dtype=np.int64), n_types))
    vals.append(coef[:, col_project].ravel())

    n_row = share_base + n_types
    matrix = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col)
    ).tocsc()
    lower = np.concatenate(
        [mandatory.astype(np.float64), np.full(2 * horizon, -np.inf), np.zeros(edge.size + n_types)]
    )
    upper = np.concatenate(
        [np.ones(n_proj), cat.budget, cat.staff, np.full(edge.size + n_types, np.inf)]
    )
    return _Model(col_project, col_start, matrix, lower, upper)


def _solve(
    model: _Model, objective: FloatArray, mip_rel_gap: float, time_limit: float
) -> highspy.Highs:
    """Pass the model to HiGHS as one column-wise matrix and run it [Huangfu & Hall 2018].

    References
    ----------
    .. [1] Huangfu, Q., Hall, J.A.J. (2018). Parallelizing the dual revised simplex method.
       Mathematical Programming Computation 10, 119-142.
    """
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.matrix.shape[1], model.matrix.shape[0]
    lp.col_cost_ = objective
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.ones(lp.num_col_)
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_col_
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ bare
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", mip_rel_gap)
    highs.setOptionValue("time_limit", time_limit)
    # One thread: scenario runs can go in parallel without oversubscribing the machine, and
    # the search path, hence the plan chosen among equal optima, does not depend on it.
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    highs.run()
    return highs


def _is_infeasible(highs: highspy.Highs) -> bool:
    status = highs.getModelStatus()
    return status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    )


def _binding(used: FloatArray, available: FloatArray, resource: Resource) -> list[BindingLimit]:
    # Looser than HiGHS's primal feasibility tolerance (1e-7), so a row it holds at the limit
    # counts as binding even with round-off in the row activity.
    tight = available - used <= 1e-6 * np.maximum(1.0, np.abs(available))
    return [
        BindingLimit(resource, int(y), float(used[y]), float(available[y]))
        for y in np.flatnonzero(tight)
    ]


def _result(
    cat: _Catalogue,
    method: Literal["mip", "greedy"],
    status: Status,
    chosen: IntArray,
    start: IntArray,
    used: tuple[FloatArray, FloatArray],
    bound: tuple[float, float],
    conflicts: Sequence[Conflict] = (),
    *,
    has_plan: bool = True,
) -> PortfolioResult:
    """Package a schedule: chosen project indices with their start years."""
    phase = np.searchsorted(cat.phase_end, start, side="right")
    order = np.lexsort((chosen, start))
    scheduled = tuple(
        ScheduledProject(cat.codes[p], int(s), int(s + cat.duration[p] - 1), cat.phase_names[ph])
        for p, s, ph in zip(chosen[order], start[order], phase[order], strict=True)
    )
    objective = float(cat.value[chosen].sum()) if has_plan else float("nan")
    return PortfolioResult(
        method=method,
        status=status,
        objective=objective,
        best_bound=bound[0],
        relative_gap=bound[1],
        scheduled=scheduled,
        budget_used=used[0],
        budget_available=cat.budget,
        staff_used=used[1],
        staff_available=cat.staff,
        binding=tuple(
            _binding(used[0], cat.budget, "budget") + _binding(used[1], cat.staff, "staff")
        ),
        conflicts=tuple(conflicts),
    )
