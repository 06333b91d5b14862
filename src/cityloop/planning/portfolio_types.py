"""The portfolio problem's inputs and results (projects, phases, schedule, conflicts) and
their validation into the arrays the solver and the explanations share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cityloop.errors import InputError, Location, Problem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Status = Literal["optimal", "infeasible", "time_limit", "heuristic"]
Resource = Literal["budget", "staff"]

DEFAULT_PHASE_NAMES = ("启动实施", "持续推进", "应用拓展")


@dataclass(frozen=True)
class Project:
    """A candidate project; ``cost`` and ``staff`` are per year of its own construction."""

    code: str
    value: float
    cost: tuple[float, ...]
    staff: tuple[float, ...]
    prerequisites: tuple[str, ...] = ()
    plan_types: tuple[str, ...] = ()
    mandatory: bool = False
    excluded: bool = False


@dataclass(frozen=True, kw_only=True)
class Phases:
    """The plan horizon: phase lengths in years and the budget and staff of each calendar year.

    Calendar years are counted from 0 (the first year of the plan) to ``sum(years) - 1``.
    ``phase_budget`` and ``phase_staff``, when given, add one limit per phase on the total
    spent (万元) or staff-years used inside it, on top of the yearly limits.
    """

    years: tuple[int, ...]
    budget: Sequence[float] | FloatArray
    staff: Sequence[float] | FloatArray
    names: tuple[str, ...] = DEFAULT_PHASE_NAMES
    phase_budget: Sequence[float] | FloatArray | None = None
    phase_staff: Sequence[float] | FloatArray | None = None


@dataclass(frozen=True)
class IndicatorGains:
    """What each project adds to each indicator, and the most the whole plan can add there.

    ``gain[project_code][indicator]`` is the project's contribution in objective units (≥ 0);
    ``cap[indicator]`` bounds the plan's total on that indicator (≥ 0), e.g. the headroom to
    its target, so two projects improving the same indicator are not counted twice beyond it.
    Every indicator named in ``gain`` needs a cap; projects not named gain nothing.
    """

    gain: Mapping[str, Mapping[str, float]]
    cap: Mapping[str, float]


@dataclass(frozen=True)
class ScheduledProject:
    """A selected project: first and last construction year and the phase it starts in."""

    code: str
    start_year: int
    finish_year: int
    phase: str


@dataclass(frozen=True)
class BindingLimit:
    """A budget or staff limit that the plan uses up (slack ≈ 0).

    A yearly limit has ``phase=None``; a per-phase limit names its phase and gives the
    phase's first calendar year as ``year``.
    """

    resource: Resource
    year: int
    used: float
    available: float
    phase: str | None = None


@dataclass(frozen=True)
class Conflict:
    """One reason the plan is impossible: a translation key, its parameters, English text."""

    key: str
    params: Mapping[str, Any]
    message: str


@dataclass(frozen=True)
class PortfolioResult:
    """What a solve (or the greedy baseline) produced, with the yearly use of each limit."""

    method: Literal["mip", "greedy"]
    status: Status
    objective: float
    best_bound: float
    relative_gap: float
    scheduled: tuple[ScheduledProject, ...]
    budget_used: FloatArray
    budget_available: FloatArray
    staff_used: FloatArray
    staff_available: FloatArray
    binding: tuple[BindingLimit, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    gain_by_indicator: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Catalogue:
    """The validated input as arrays, indexed by project position."""

    codes: tuple[str, ...]
    value: FloatArray
    duration: IntArray
    profile_offset: IntArray  # where each project's yearly profile starts in the flat arrays
    cost_flat: FloatArray
    staff_flat: FloatArray
    mandatory: BoolArray
    excluded: BoolArray
    needs: IntArray  # edge k: project needs[k, 0] requires project needs[k, 1]
    budget: FloatArray
    staff: FloatArray
    phase_end: IntArray  # first calendar year after each phase
    phase_budget: FloatArray  # +inf where a phase has no limit of its own
    phase_staff: FloatArray
    phase_names: tuple[str, ...]
    share_types: tuple[str, ...]  # the plan types with a minimum share
    share_members: BoolArray  # (share_types, projects)
    share_minimum: FloatArray
    share_of_value: bool
    indicators: tuple[str, ...]
    gain: FloatArray  # (projects, indicators)
    cap: FloatArray  # (indicators,)

    @property
    def horizon(self) -> int:
        return int(self.phase_end[-1])

    @property
    def year_phase(self) -> IntArray:
        """The phase index of each calendar year."""
        return np.searchsorted(self.phase_end, np.arange(self.horizon), side="right")

    def plan_value(self, chosen: IntArray) -> tuple[float, FloatArray]:
        """The objective of choosing ``chosen`` (project indices) and its capped gains."""
        gained = np.minimum(self.cap, self.gain[chosen].sum(axis=0))
        return float(self.value[chosen].sum() + gained.sum()), gained


def _ragged_arange(counts: IntArray) -> IntArray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    total = int(counts.sum())
    group_start = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - group_start


def _phase_limit(
    limit: Sequence[float] | FloatArray | None, n_phases: int, column: str
) -> tuple[FloatArray, list[Problem]]:
    """A per-phase limit as an array (+inf for no limit), or the problem with it."""
    if limit is None:
        return np.full(n_phases, np.inf), []
    values = np.asarray(limit, dtype=np.float64)
    if values.shape != (n_phases,) or np.isnan(values).any() or (values < 0).any():
        return np.full(n_phases, np.inf), [
            Problem("plan.portfolio.bad_phase_limit", {"phases": n_phases}, Location(column=column))
        ]
    return values, []


def _gain_arrays(
    gains: IndicatorGains | None, index: Mapping[str, int]
) -> tuple[tuple[str, ...], FloatArray, FloatArray, list[Problem]]:
    """The gains as a dense (projects, indicators) matrix and the caps, or the problems."""
    if gains is None:
        return (), np.zeros((len(index), 0)), np.zeros(0), []
    indicators = tuple(gains.cap)
    column = {ind: k for k, ind in enumerate(indicators)}
    cap = np.array([gains.cap[i] for i in indicators], dtype=np.float64)
    matrix = np.zeros((len(index), len(indicators)))
    problems = [
        Problem("plan.portfolio.bad_cap", {"indicator": ind, "cap": gains.cap[ind]})
        for ind, c in zip(indicators, cap, strict=True)
        if not (np.isfinite(c) and c >= 0)
    ]
    for code, row in gains.gain.items():
        if code not in index:
            problems.append(Problem("plan.portfolio.gain_unknown_project", {"code": code}))
            continue
        for ind, amount in row.items():
            if ind not in column:
                problems.append(
                    Problem("plan.portfolio.gain_without_cap", {"code": code, "indicator": ind})
                )
            elif not (np.isfinite(amount) and amount >= 0):
                problems.append(
                    Problem(
                        "plan.portfolio.bad_gain",
                        {"code": code, "indicator": ind, "gain": amount},
                    )
                )
            else:
                matrix[index[code], column[ind]] = amount
    return indicators, matrix, cap, problems


def _prepare(
    projects: Sequence[Project],
    phases: Phases,
    min_share: Mapping[str, float],
    share_of: str,
    gains: IndicatorGains | None = None,
) -> _Catalogue:
    """Validate everything, collecting every fault before refusing (nothing half-checked).

    A project's location is its 1-based position in ``projects`` (its catalogue row).
    """
    problems: list[Problem] = []
    codes = tuple(p.code for p in projects)
    index: dict[str, int] = {}
    for i, code in enumerate(codes):
        index.setdefault(code, i)  # the first row owns a code; later rows are duplicates
    for row, p in enumerate(projects, start=1):
        profile = np.asarray(p.cost + p.staff, dtype=np.float64)
        if index[p.code] != row - 1:
            problems.append(
                Problem(
                    "plan.portfolio.duplicate_code",
                    {"code": p.code},
                    Location(row=row, column="code"),
                )
            )
        if len(p.cost) == 0 or len(p.cost) != len(p.staff):
            problems.append(
                Problem(
                    "plan.portfolio.profile_length",
                    {"code": p.code},
                    Location(row=row, column="staff"),
                )
            )
        finite = np.isfinite(p.value) and np.isfinite(profile).all()
        if not finite or p.value < 0 or (profile < 0).any():
            problems.append(
                Problem(
                    "plan.portfolio.negative_or_not_finite", {"code": p.code}, Location(row=row)
                )
            )
        if p.mandatory and p.excluded:
            problems.append(
                Problem(
                    "plan.portfolio.mandatory_and_excluded",
                    {"code": p.code},
                    Location(row=row, column="mandatory"),
                )
            )
        problems += [
            Problem(
                "plan.portfolio.unknown_prerequisite",
                {"code": p.code, "needs": q},
                Location(row=row, column="prerequisites"),
            )
            for q in p.prerequisites
            if q not in index
        ]
    years = np.asarray(phases.years, dtype=np.int64)
    budget = np.asarray(phases.budget, dtype=np.float64)
    staff = np.asarray(phases.staff, dtype=np.float64)
    if years.size == 0 or (years <= 0).any() or len(phases.names) != years.size:
        problems.append(
            Problem("plan.portfolio.bad_phases", {"years": phases.years, "names": phases.names})
        )
    horizon = int(years.sum())
    for name, limit in (("budget", budget), ("staff", staff)):
        if limit.shape != (horizon,) or not np.isfinite(limit).all() or (limit < 0).any():
            problems.append(
                Problem("plan.portfolio.bad_limit", {"years": horizon}, Location(column=name))
            )
    phase_budget, bad_budget = _phase_limit(phases.phase_budget, years.size, "phase_budget")
    phase_staff, bad_staff = _phase_limit(phases.phase_staff, years.size, "phase_staff")
    indicators, gain, cap, bad_gains = _gain_arrays(gains, index)
    problems += bad_budget + bad_staff + bad_gains
    if share_of not in ("value", "projects"):
        problems.append(Problem("plan.portfolio.bad_share_of", {"share_of": share_of}))
    problems += [
        Problem("plan.portfolio.bad_share", {"plan_type": plan_type, "share": share})
        for plan_type, share in min_share.items()
        if not 0.0 <= share <= 1.0
    ]
    if problems:
        raise InputError("plan.portfolio.invalid", problems)

    duration = np.array([len(p.cost) for p in projects], dtype=np.int64)
    needs = np.array(
        [(i, index[q]) for i, p in enumerate(projects) for q in p.prerequisites], dtype=np.int64
    ).reshape(-1, 2)
    plan_types = list(min_share)
    members = np.array(
        [[t in p.plan_types for p in projects] for t in plan_types], dtype=np.bool_
    ).reshape(len(plan_types), len(projects))
    return _Catalogue(
        codes=codes,
        value=np.array([p.value for p in projects], dtype=np.float64),
        duration=duration,
        profile_offset=np.cumsum(duration) - duration,
        cost_flat=np.array([c for p in projects for c in p.cost], dtype=np.float64),
        staff_flat=np.array([s for p in projects for s in p.staff], dtype=np.float64),
        mandatory=np.array([p.mandatory for p in projects], dtype=np.bool_),
        excluded=np.array([p.excluded for p in projects], dtype=np.bool_),
        needs=needs,
        budget=budget,
        staff=staff,
        phase_end=np.cumsum(years),
        phase_budget=phase_budget,
        phase_staff=phase_staff,
        phase_names=phases.names,
        share_types=tuple(plan_types),
        share_members=members,
        share_minimum=np.array([min_share[t] for t in plan_types], dtype=np.float64),
        share_of_value=share_of == "value",
        indicators=indicators,
        gain=gain,
        cap=cap,
    )
