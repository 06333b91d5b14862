"""Shared test cases for the portfolio optimiser: a hypothesis strategy of small instances
and a brute-force solver that checks every rule directly in NumPy, independent of the model."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from cityloop.planning import IndicatorGains, Phases, PortfolioResult, Project

IntArray = npt.NDArray[np.int64]
ShareOf = Literal["value", "projects"]
PHASE_YEARS = {3: (1, 1, 1), 4: (1, 1, 2), 5: (1, 2, 2)}
PLAN_TYPES = ("industry", "livelihood")
INDICATORS = ("L1P1-A1", "L2P1-A1", "L3P2-A1")


@dataclass(frozen=True)
class Instance:
    """A small portfolio problem with everything ``optimise_portfolio`` takes."""

    projects: list[Project]
    phases: Phases
    min_share: dict[str, float] = field(default_factory=dict)
    share_of: ShareOf = "value"
    gains: IndicatorGains | None = None

    def forced(self, code: str) -> Instance:
        """The same instance with ``code`` mandatory."""
        return replace(
            self,
            projects=[replace(p, mandatory=True) if p.code == code else p for p in self.projects],
        )


@st.composite
def gains_for(draw: st.DrawFn, n_proj: int) -> IndicatorGains | None:
    """Gains on up to three indicators, small caps so that they bind often."""
    if not draw(st.booleans()):
        return None
    cap = {ind: float(draw(st.integers(0, 12))) for ind in INDICATORS}
    gain = {
        f"P{p}": {
            ind: float(draw(st.integers(0, 8)))
            for ind in draw(st.sets(st.sampled_from(INDICATORS)))
        }
        for p in range(n_proj)
        if draw(st.booleans())
    }
    return IndicatorGains(gain=gain, cap=cap)


@st.composite
def instances(draw: st.DrawFn, max_projects: int = 8, flags: bool = True) -> Instance:
    """≤ 8 projects over 3-5 years; prerequisites point to earlier projects (no cycles);
    sometimes per-phase limits and indicator gains with caps."""
    horizon = draw(st.integers(3, 5))
    n_proj = draw(st.integers(1, max_projects))
    projects = []
    for i in range(n_proj):
        d = draw(st.integers(1, 3))
        flag = draw(st.sampled_from(["", "", "", "", "mandatory", "excluded"])) if flags else ""
        projects.append(
            Project(
                code=f"P{i}",
                value=float(draw(st.integers(0, 20))),
                cost=tuple(float(draw(st.integers(0, 6))) for _ in range(d)),
                staff=tuple(float(draw(st.integers(0, 3))) for _ in range(d)),
                prerequisites=tuple(
                    f"P{q}"
                    for q in draw(st.sets(st.integers(0, max(i - 1, 0)), max_size=2 * (i > 0)))
                ),
                plan_types=tuple(draw(st.sets(st.sampled_from(PLAN_TYPES), max_size=2))),
                mandatory=flag == "mandatory",
                excluded=flag == "excluded",
            )
        )
    years = PHASE_YEARS[horizon]
    phase_limits = draw(st.booleans())
    phases = Phases(
        years=years,
        budget=[float(draw(st.integers(0, 12))) for _ in range(horizon)],
        staff=[float(draw(st.integers(0, 5))) for _ in range(horizon)],
        phase_budget=[float(draw(st.integers(0, 16))) for _ in years] if phase_limits else None,
        phase_staff=[float(draw(st.integers(0, 6))) for _ in years] if phase_limits else None,
    )
    min_share = draw(st.sampled_from([{}, {"livelihood": 0.3}, {"industry": 0.5}]))
    share_of: ShareOf = draw(st.sampled_from(["value", "projects"]))
    return Instance(projects, phases, min_share, share_of, draw(gains_for(n_proj)))


def feasible_and_value(
    starts: IntArray, instance: Instance
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """For each row of ``starts`` (start year per project, -1 = not chosen): does it satisfy
    every rule, and its objective (value plus capped gains)."""
    projects, phases = instance.projects, instance.phases
    horizon = sum(phases.years)
    chosen = starts >= 0
    ok = np.ones(len(starts), dtype=np.bool_)
    use = {"cost": np.zeros((len(starts), horizon)), "staff": np.zeros((len(starts), horizon))}
    for p, project in enumerate(projects):
        d = len(project.cost)
        ok &= ~chosen[:, p] | (starts[:, p] + d <= horizon)
        ok &= chosen[:, p] if project.mandatory else True
        ok &= ~chosen[:, p] if project.excluded else True
        for name in use:
            profile = np.asarray(getattr(project, name))
            for k in range(d):
                year = np.clip(starts[:, p] + k, 0, horizon - 1)
                np.add.at(use[name], (np.flatnonzero(chosen[:, p]), year[chosen[:, p]]), profile[k])
        for code in project.prerequisites:
            q = int(code[1:])
            finish_q = starts[:, q] + len(projects[q].cost)
            ok &= ~chosen[:, p] | (chosen[:, q] & (finish_q <= starts[:, p]))
    ok &= (use["cost"] <= np.asarray(phases.budget) + 1e-9).all(axis=1)
    ok &= (use["staff"] <= np.asarray(phases.staff) + 1e-9).all(axis=1)
    bounds = np.cumsum((0, *phases.years))
    for name, limit in (("cost", phases.phase_budget), ("staff", phases.phase_staff)):
        if limit is not None:
            per_phase = np.add.reduceat(use[name], bounds[:-1], axis=1)
            ok &= (per_phase <= np.asarray(limit) + 1e-9).all(axis=1)
    values = np.array([p.value for p in projects])
    weight = values if instance.share_of == "value" else np.ones(len(projects))
    for plan_type, share in instance.min_share.items():
        member = np.array([plan_type in p.plan_types for p in projects])
        ok &= (chosen * member * weight).sum(axis=1) >= share * (chosen * weight).sum(axis=1) - 1e-9
    objective = (chosen * values).sum(axis=1)
    if instance.gains is not None:
        for ind, cap in instance.gains.cap.items():
            gain = np.array([instance.gains.gain.get(p.code, {}).get(ind, 0.0) for p in projects])
            objective = objective + np.minimum(cap, (chosen * gain).sum(axis=1))
    return ok, objective


def brute_force(instance: Instance) -> float | None:
    """Best objective over every (start year or not chosen) assignment; None if infeasible."""
    horizon = sum(instance.phases.years)
    options = [range(-1, horizon - len(p.cost) + 1) for p in instance.projects]
    starts = np.array(list(itertools.product(*options)), dtype=np.int64)
    ok, value = feasible_and_value(starts, instance)
    return float(value[ok].max()) if ok.any() else None


def starts_of(result: PortfolioResult, projects: list[Project]) -> IntArray:
    """The result's start years as one row of ``starts`` (projects coded P0, P1, …)."""
    starts = np.full((1, len(projects)), -1, dtype=np.int64)
    for s in result.scheduled:
        starts[0, int(s.code[1:])] = s.start_year
    return starts
