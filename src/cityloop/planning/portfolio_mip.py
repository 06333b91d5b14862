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
    """The sparse model. Columns: the binaries x[p, s], then one binary y[p] per project (p is
    chosen), then one continuous gain g[i] per indicator. Rows: ``n_proj`` rows
    ``Σ_s x[p, s] = y[p]``, then ``use_rows`` (budget per year, staff per year, budget per
    phase, staff per phase), then precedence, share and gain rows.
    """

    col_project: IntArray
    col_start: IntArray
    matrix: sparse.csc_array
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    use_rows: slice

    @property
    def n_start_columns(self) -> int:
        return int(self.col_project.size)

    @property
    def n_projects(self) -> int:
        return int(self.use_rows.start)

    @property
    def n_integer_columns(self) -> int:
        return self.n_start_columns + self.n_projects


def _use_entries(cat: _Catalogue, col_project: IntArray, col_start: IntArray) -> list[FloatArray]:
    """(row, column, value) of every column's cost and staff in the yearly and phase rows."""
    n_proj, horizon, n_phases = len(cat.codes), cat.horizon, cat.phase_end.size
    lengths = cat.duration[col_project]
    offset = _ragged_arange(lengths)
    year = np.repeat(col_start, lengths) + offset
    phase = cat.year_phase[year]
    profile = np.repeat(cat.profile_offset[col_project], lengths) + offset
    col = np.repeat(np.arange(col_project.size, dtype=np.int64), lengths)
    cost, staff = cat.cost_flat[profile], cat.staff_flat[profile]
    base = n_proj + 2 * horizon
    row = np.concatenate(
        [n_proj + year, n_proj + horizon + year, base + phase, base + n_phases + phase]
    )
    return [row, np.tile(col, 4), np.concatenate([cost, staff, cost, staff])]


def _build_model(cat: _Catalogue, mandatory: BoolArray) -> _Model:
    """The time-indexed model of Pritsker, Watters & Wolfe (1969): x[p, s] = p starts in s.

    Precedence uses the cumulative (disaggregated) form ``Σ_{s'≤s} x[p, s'] ≤
    Σ_{s'≤s-d_q} x[q, s']`` for every s, whose LP relaxation is tighter than the aggregated
    one [Artigues 2017]. The selection binaries y[p] = Σ_s x[p, s] carry the value, the
    shares and the gains: they give branch-and-bound one variable per yes/no decision (the
    GUB branching of Beale & Tomlin 1970) and keep those rows at one entry per project.
    Indicator gains add a continuous g_i ≤ cap_i per indicator with the row
    ``g_i - Σ gain[p, i] y[p] ≤ 0``, so the objective counts each indicator at most up to its
    cap.

    References
    ----------
    .. [1] Pritsker, A.A.B., Watters, L.J., Wolfe, P.M. (1969). Multiproject scheduling with
       limited resources: a zero-one programming approach. Management Science 16(1), 93-108.
    .. [2] Artigues, C. (2017). On the strength of time-indexed formulations for the
       resource-constrained project scheduling problem. Oper. Res. Letters 45(2), 154-159.
    .. [3] Beale, E.M.L., Tomlin, J.A. (1970). Special facilities in a general mathematical
       programming system for non-convex problems using ordered sets of variables. Proc. 5th
       IFORS Conference, 447-454.
    """
    n_proj, horizon, n_phases = len(cat.codes), cat.horizon, cat.phase_end.size
    # A start is allowed only if the project finishes inside the horizon; none if excluded.
    n_starts = np.where(cat.excluded, 0, np.maximum(horizon - cat.duration + 1, 0))
    col_first = np.cumsum(n_starts) - n_starts
    col_project = np.repeat(np.arange(n_proj, dtype=np.int64), n_starts)
    col_start = _ragged_arange(n_starts)
    n_x = col_project.size
    use_row, use_col, use_val = _use_entries(cat, col_project, col_start)
    projects = np.arange(n_proj, dtype=np.int64)
    rows: list[IntArray] = [col_project, projects, use_row.astype(np.int64)]
    cols: list[IntArray] = [
        np.arange(n_x, dtype=np.int64),
        n_x + projects,
        use_col.astype(np.int64),
    ]
    vals: list[FloatArray] = [np.ones(n_x), -np.ones(n_proj), use_val]

    base = n_proj + 2 * horizon + 2 * n_phases
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
    rows.append(np.repeat(share_base + np.arange(n_types, dtype=np.int64), n_proj))
    cols.append(np.tile(n_x + projects, n_types))
    vals.append(coef.ravel())

    gain_base, n_ind = share_base + n_types, cat.cap.size
    gainer, indicator = np.nonzero(cat.gain)
    rows += [gain_base + indicator, gain_base + np.arange(n_ind, dtype=np.int64)]
    cols += [n_x + gainer, n_x + n_proj + np.arange(n_ind, dtype=np.int64)]
    vals += [-cat.gain[gainer, indicator], np.ones(n_ind)]

    n_row = gain_base + n_ind
    matrix = sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_row, n_x + n_proj + n_ind),
    ).tocsc()
    lower = np.concatenate(
        [
            np.zeros(n_proj),
            np.full(2 * horizon + 2 * n_phases, -np.inf),
            np.zeros(edge.size + n_types),
            np.full(n_ind, -np.inf),
        ]
    )
    upper = np.concatenate(
        [
            np.zeros(n_proj),
            cat.budget,
            cat.staff,
            cat.phase_budget,
            cat.phase_staff,
            np.full(edge.size + n_types, np.inf),
            np.zeros(n_ind),
        ]
    )
    return _Model(
        col_project,
        col_start,
        matrix,
        lower,
        upper,
        col_lower=np.concatenate([np.zeros(n_x), mandatory.astype(np.float64), np.zeros(n_ind)]),
        col_upper=np.concatenate([np.ones(n_x), (n_starts > 0).astype(np.float64), cat.cap]),
        use_rows=slice(n_proj, n_proj + 2 * horizon + 2 * n_phases),
    )


def _objective(cat: _Catalogue, model: _Model) -> FloatArray:
    """Project value on the selection columns, one per unit of capped gain on the gains."""
    return np.concatenate([np.zeros(model.n_start_columns), cat.value, np.ones(cat.cap.size)])


def _solve(
    model: _Model,
    objective: FloatArray,
    mip_rel_gap: float,
    time_limit: float,
    start: FloatArray | None = None,
) -> highspy.Highs:
    """Pass the model to HiGHS as one column-wise matrix and run it [Huangfu & Hall 2018].

    ``start``, a feasible value for every column, is handed to HiGHS as the incumbent to
    beat (a warm start), so the search prunes with its objective from the first node.

    References
    ----------
    .. [1] Huangfu, Q., Hall, J.A.J. (2018). Parallelizing the dual revised simplex method.
       Mathematical Programming Computation 10, 119-142.
    """
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.matrix.shape[1], model.matrix.shape[0]
    lp.col_cost_ = objective
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = model.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = model.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = model.matrix.data
    n_int = model.n_integer_columns
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer] * n_int + [continuous] * (lp.num_col_ - n_int)
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ bare
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", mip_rel_gap)
    highs.setOptionValue("time_limit", time_limit)
    # One thread: scenario runs can go in parallel without oversubscribing the machine, and
    # the search path, hence the plan chosen among equal optima, does not depend on it.
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    return highs


def _is_infeasible(highs: highspy.Highs) -> bool:
    status = highs.getModelStatus()
    return status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    )


def _binding(
    used: FloatArray,
    available: FloatArray,
    resource: Resource,
    first_year: IntArray,
    phase: Sequence[str | None],
) -> list[BindingLimit]:
    # Looser than HiGHS's primal feasibility tolerance (1e-7), so a row it holds at the limit
    # counts as binding even with round-off in the row activity.
    tight = np.isfinite(available) & (available - used <= 1e-6 * np.maximum(1.0, available))
    return [
        BindingLimit(
            resource, int(first_year[k]), float(used[k]), float(available[k]), phase[int(k)]
        )
        for k in np.flatnonzero(tight)
    ]


def _binding_limits(
    cat: _Catalogue, budget_used: FloatArray, staff_used: FloatArray
) -> tuple[BindingLimit, ...]:
    """The yearly limits, then the per-phase limits, that the plan uses up."""
    years = np.arange(cat.horizon, dtype=np.int64)
    phase_start = np.concatenate([[0], cat.phase_end[:-1]]).astype(np.int64)
    no_phase: list[str | None] = [None] * cat.horizon
    named: list[str | None] = list(cat.phase_names)
    limits: list[BindingLimit] = []
    resources: tuple[tuple[Resource, FloatArray, FloatArray, FloatArray], ...] = (
        ("budget", budget_used, cat.budget, cat.phase_budget),
        ("staff", staff_used, cat.staff, cat.phase_staff),
    )
    for resource, used, yearly, per_phase in resources:
        limits += _binding(used, yearly, resource, years, no_phase)
        phase_used = np.add.reduceat(used, phase_start) if used.size else used
        limits += _binding(phase_used, per_phase, resource, phase_start, named)
    return tuple(limits)


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
    """Package a schedule: chosen project indices with their start years.

    The objective is recomputed from the choice (value plus capped gains), so the MIP and
    the greedy baseline report the same quantity.
    """
    phase = np.searchsorted(cat.phase_end, start, side="right")
    order = np.lexsort((chosen, start))
    scheduled = tuple(
        ScheduledProject(cat.codes[p], int(s), int(s + cat.duration[p] - 1), cat.phase_names[ph])
        for p, s, ph in zip(chosen[order], start[order], phase[order], strict=True)
    )
    objective, gained = cat.plan_value(chosen)
    return PortfolioResult(
        method=method,
        status=status,
        objective=objective if has_plan else float("nan"),
        best_bound=bound[0],
        relative_gap=bound[1],
        scheduled=scheduled,
        budget_used=used[0],
        budget_available=cat.budget,
        staff_used=used[1],
        staff_available=cat.staff,
        binding=_binding_limits(cat, used[0], used[1]),
        conflicts=tuple(conflicts),
        gain_by_indicator=dict(zip(cat.indicators, gained.tolist(), strict=True))
        if has_plan
        else {},
    )
