"""The portfolio problem's inputs and results (projects, phases, schedule, conflicts) and
their validation into the arrays the solver and the explanations share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    """

    years: tuple[int, ...]
    budget: Sequence[float] | FloatArray
    staff: Sequence[float] | FloatArray
    names: tuple[str, ...] = DEFAULT_PHASE_NAMES


@dataclass(frozen=True)
class ScheduledProject:
    """A selected project: first and last construction year and the phase it starts in."""

    code: str
    start_year: int
    finish_year: int
    phase: str


@dataclass(frozen=True)
class BindingLimit:
    """A yearly budget or staff limit that the plan uses up (slack ≈ 0)."""

    resource: Resource
    year: int
    used: float
    available: float


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
    phase_names: tuple[str, ...]
    share_members: BoolArray  # (plan types with a minimum share, projects)
    share_minimum: FloatArray
    share_of_value: bool

    @property
    def horizon(self) -> int:
        return int(self.phase_end[-1])


def _ragged_arange(counts: IntArray) -> IntArray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    total = int(counts.sum())
    group_start = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - group_start


def _prepare(
    projects: Sequence[Project], phases: Phases, min_share: Mapping[str, float], share_of: str
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
        phase_names=phases.names,
        share_members=members,
        share_minimum=np.array([min_share[t] for t in plan_types], dtype=np.float64),
        share_of_value=share_of == "value",
    )
