"""Why no portfolio fits: prerequisite cycles, mandatory projects that cannot be placed,
and the smallest set of mandatory projects that conflict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from cityloop.planning.portfolio_mip import (
    _build_model,
    _is_infeasible,
    _result,
    _solve,
)
from cityloop.planning.portfolio_types import (
    Conflict,
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


def _conflict(key: str, message: str, **params: Any) -> Conflict:
    return Conflict(key, params, message)


def _prerequisite_cycles(cat: _Catalogue) -> list[Conflict]:
    """Name one cycle per strongly connected component of the prerequisite graph [Tarjan 1972].

    References
    ----------
    .. [1] Tarjan, R. (1972). Depth-first search and linear graph algorithms.
       SIAM Journal on Computing 1(2), 146-160.
    """
    n_proj = len(cat.codes)
    graph = sparse.csr_array(
        (np.ones(len(cat.needs)), (cat.needs[:, 0], cat.needs[:, 1])), shape=(n_proj, n_proj)
    )
    _, label = connected_components(graph, directed=True, connection="strong")
    size = np.bincount(label)
    on_cycle = (size[label] > 1) | (graph.diagonal() > 0)
    conflicts = []
    for component in np.unique(label[on_cycle]):
        # Inside a strongly connected component every node has a successor in it, so a walk
        # that stays inside must revisit a node: the stretch between the visits is a cycle.
        path = [int(np.flatnonzero(label == component)[0])]
        while path.count(path[-1]) < 2:
            succ = graph.indices[graph.indptr[path[-1]] : graph.indptr[path[-1] + 1]]
            path.append(int(succ[label[succ] == component][0]))
        cycle = [cat.codes[p] for p in path[path.index(path[-1]) :]]
        text = " → ".join(cycle)
        conflicts.append(
            _conflict("plan.portfolio.conflict.cycle", f"prerequisite cycle: {text}", cycle=text)
        )
    return conflicts


def _earliest_starts(cat: _Catalogue) -> tuple[IntArray, IntArray]:
    """Earliest start of each project over its prerequisite chains (longest path in a DAG),
    and for each project the prerequisite that sets it (-1 if none)."""
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    earliest = np.zeros(len(cat.codes), dtype=np.int64)
    for _ in range(len(cat.codes)):  # a chain has at most n - 1 edges: n sweeps converge
        bound = np.zeros_like(earliest)
        np.maximum.at(bound, needer, earliest[needed] + cat.duration[needed])
        if np.array_equal(bound, earliest):
            break
        earliest = bound
    critical = np.full(len(cat.codes), -1, dtype=np.int64)
    tight = earliest[needer] == earliest[needed] + cat.duration[needed]
    critical[needer[tight]] = needed[tight]
    return earliest, critical


def _excluded_ancestor(cat: _Catalogue) -> IntArray:
    """For each project an excluded project it needs, directly or through others (-1: none)."""
    needer, needed = cat.needs[:, 0], cat.needs[:, 1]
    blocker = np.where(cat.excluded, np.arange(len(cat.codes)), -1)
    for _ in range(len(cat.codes)):
        spread = (blocker[needer] < 0) & (blocker[needed] >= 0)
        if not spread.any():
            break
        blocker[needer[spread]] = blocker[needed[spread]]
    return blocker


def _structural_conflicts(cat: _Catalogue) -> list[Conflict]:
    """Conflicts visible without a solve: cycles, and mandatory projects that cannot fit."""
    conflicts = _prerequisite_cycles(cat)
    if conflicts:  # earliest starts are undefined on a cyclic graph
        return conflicts
    earliest, critical = _earliest_starts(cat)
    blocker = _excluded_ancestor(cat)
    horizon = cat.horizon
    for p in np.flatnonzero(cat.mandatory):
        code, d = cat.codes[p], int(cat.duration[p])
        if blocker[p] >= 0:
            conflicts.append(
                _conflict(
                    "plan.portfolio.conflict.needs_excluded",
                    f"mandatory project {code} needs {cat.codes[blocker[p]]}, which is excluded",
                    code=code,
                    needs=cat.codes[blocker[p]],
                )
            )
        elif d > horizon:
            conflicts.append(
                _conflict(
                    "plan.portfolio.conflict.too_long",
                    f"mandatory project {code} takes {d} years; the plan has {horizon}",
                    code=code,
                    duration=d,
                    horizon=horizon,
                )
            )
        elif earliest[p] + d > horizon:
            chain = [int(p)]
            while critical[chain[-1]] >= 0:
                chain.append(int(critical[chain[-1]]))
            text = " ← ".join(cat.codes[c] for c in chain)
            conflicts.append(
                _conflict(
                    "plan.portfolio.conflict.chain_too_long",
                    f"mandatory project {code} cannot finish before year {earliest[p] + d - 1}"
                    f" (chain {text}); the plan ends in year {horizon - 1}",
                    code=code,
                    chain=text,
                    finish=int(earliest[p] + d - 1),
                    last=horizon - 1,
                )
            )
        else:
            conflicts += _over_limit_alone(cat, int(p), int(earliest[p]))
    return conflicts


def _over_limit_alone(cat: _Catalogue, p: int, earliest: int) -> list[Conflict]:
    """A project that breaks a yearly or phase limit at every allowed start even alone.

    Named most specifically: a yearly limit that blocks every start, else a phase limit
    that does, else the mix (each start breaks one or the other).
    """
    d, code = int(cat.duration[p]), cat.codes[p]
    starts = np.arange(earliest, cat.horizon - d + 1)
    window = starts[:, None] + np.arange(d)
    rows = np.repeat(np.arange(starts.size), d)
    profile = slice(int(cat.profile_offset[p]), int(cat.profile_offset[p]) + d)
    blocked = np.zeros(starts.size, dtype=np.bool_)
    phase_conflicts: list[Conflict] = []
    for resource, need, limit, per_phase in (
        ("budget", cat.cost_flat[profile], cat.budget, cat.phase_budget),
        ("staff", cat.staff_flat[profile], cat.staff, cat.phase_staff),
    ):
        over = need > limit[window] * (1 + 1e-9)
        if over.any(axis=1).all():
            # Name the first overrun at the earliest start: the year a planner would try first.
            k = int(np.argmax(over[0]))
            year = int(window[0, k])
            return [
                _conflict(
                    "plan.portfolio.conflict.over_limit_alone",
                    f"mandatory project {code} needs {need[k]:g} {resource} in year {year}"
                    f" (its year {k + 1}) but only {limit[year]:g} is available, at any start",
                    code=code,
                    resource=resource,
                    year=year,
                    need=float(need[k]),
                    available=float(limit[year]),
                )
            ]
        phase_need = np.zeros((starts.size, per_phase.size))
        np.add.at(phase_need, (rows, cat.year_phase[window].ravel()), np.tile(need, starts.size))
        phase_over = phase_need > per_phase * (1 + 1e-9)
        blocked |= over.any(axis=1) | phase_over.any(axis=1)
        if phase_over.any(axis=1).all() and not phase_conflicts:
            ph = int(np.argmax(phase_over[0]))
            phase_conflicts.append(
                _conflict(
                    "plan.portfolio.conflict.over_phase_limit_alone",
                    f"mandatory project {code} needs {phase_need[0, ph]:g} {resource} in phase"
                    f" {cat.phase_names[ph]} (starting in year {int(starts[0])}) but the phase"
                    f" allows only {per_phase[ph]:g}, at any start",
                    code=code,
                    resource=resource,
                    phase=cat.phase_names[ph],
                    need=float(phase_need[0, ph]),
                    available=float(per_phase[ph]),
                )
            )
    if phase_conflicts or not blocked.all():
        return phase_conflicts
    return [
        _conflict(
            "plan.portfolio.conflict.no_start_fits",
            f"mandatory project {code} fits no start year: each breaks a yearly or a phase"
            " budget or staff limit, even with nothing else in the plan",
            code=code,
        )
    ]


def _minimal_mandatory_conflict(cat: _Catalogue, time_limit: float) -> list[Conflict]:
    """Deletion filter [Chinneck & Dravnieks 1991] over the mandatory flags: drop each flag in
    turn and keep it dropped if the rest stay infeasible; what remains is a minimal set.

    References
    ----------
    .. [1] Chinneck, J.W., Dravnieks, E.W. (1991). Locating minimal infeasible constraint
       sets in linear programs. ORSA Journal on Computing 3(2), 157-168.
    """

    def infeasible(mandatory: BoolArray) -> bool:
        model = _build_model(cat, mandatory)
        return _is_infeasible(_solve(model, np.zeros(model.matrix.shape[1]), 1e-4, time_limit))

    keep = cat.mandatory.copy()
    if not infeasible(keep):
        return []
    for p in np.flatnonzero(keep):
        keep[p] = False
        if not infeasible(keep):
            keep[p] = True
    codes = ", ".join(cat.codes[p] for p in np.flatnonzero(keep))
    return [
        _conflict(
            "plan.portfolio.conflict.mandatory_set",
            f"these mandatory projects cannot all fit the budget, staff and prerequisite limits"
            f" together (dropping any one of them makes the plan possible): {codes}",
            codes=codes,
        )
    ]


def _failed(
    cat: _Catalogue, method: Literal["mip", "greedy"], conflicts: Sequence[Conflict]
) -> PortfolioResult:
    nothing = np.zeros(0, dtype=np.int64)
    used = (np.zeros(cat.horizon), np.zeros(cat.horizon))
    nan = float("nan")
    return _result(
        cat, method, "infeasible", nothing, nothing, used, (nan, nan), conflicts, has_plan=False
    )


def explain_infeasibility(
    projects: Sequence[Project],
    phases: Phases,
    *,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    time_limit: float = 60.0,
) -> tuple[Conflict, ...]:
    """Say in plain terms why no plan satisfies the limits; empty when a plan exists.

    Checks, in order: prerequisite cycles; each mandatory project needing an excluded one,
    not fitting the horizon on its own or behind its prerequisite chain, or breaking a yearly
    or per-phase budget or staff limit at every start even alone; failing those, a minimal
    conflicting set of mandatory projects by deletion filtering (one solve per mandatory
    project). Indicator gains never make a plan impossible, so they are not asked for.
    """
    cat = _prepare(projects, phases, min_share or {}, share_of)
    conflicts = _structural_conflicts(cat) or _minimal_mandatory_conflict(cat, time_limit)
    return tuple(conflicts)
