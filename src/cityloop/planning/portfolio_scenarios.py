"""Scenarios and robustness of a portfolio: the same catalogue solved under changed budgets,
staff, phase lengths and mandatory or excluded projects, and under low, likely and high gains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError, Problem
from cityloop.planning.portfolio import _optimise
from cityloop.planning.portfolio_types import (
    IndicatorGains,
    Phases,
    PortfolioResult,
    Project,
    _Catalogue,
    _prepare,
)

FloatArray = npt.NDArray[np.float64]
GAIN_CASES = ("low", "likely", "high")


@dataclass(frozen=True)
class Scenario:
    """A change to the base inputs: budget and staff scaled (every year and every phase
    limit), other phase lengths, more mandatory or excluded projects."""

    name: str
    budget_factor: float = 1.0
    staff_factor: float = 1.0
    phase_years: tuple[int, ...] | None = None
    add_mandatory: tuple[str, ...] = ()
    add_excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Robustness:
    """The plan under low, likely and high indicator gains.

    ``chosen_in`` counts, per project, the cases whose optimal plan holds it; ``core`` is
    the projects chosen in all of them. ``likely_plan_value[case]`` is the likely-gains
    plan's objective recomputed with that case's gains, and ``regret[case]`` how far it
    falls short of that case's own optimum (≥ 0 when the solves are optimal).
    """

    results: Mapping[str, PortfolioResult]
    chosen_in: pd.Series
    core: tuple[str, ...]
    likely_plan_value: Mapping[str, float]
    regret: Mapping[str, float]


@dataclass(frozen=True)
class ScenarioComparison:
    """Each scenario's plan beside the base plan.

    ``table`` has one row per scenario (the base first), indexed by name, with the columns
    status, objective, best_bound, relative_gap, projects, budget_used, budget_available,
    staff_used, objective_change, added and dropped (codes joined by ", " relative to the
    base plan). ``robustness`` is set when gains were given by case.
    """

    table: pd.DataFrame
    results: Mapping[str, PortfolioResult]
    robustness: Robustness | None


def _scenario_problems(
    scenarios: Sequence[Scenario], cat: _Catalogue, base_name: str
) -> list[Problem]:
    """Everything wrong with the scenarios, collected before any solve."""
    problems: list[Problem] = []
    names = [base_name, *(s.name for s in scenarios)]
    problems += [
        Problem("plan.scenario.duplicate_name", {"name": n})
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    known = set(cat.codes)
    for s in scenarios:
        factors = np.array([s.budget_factor, s.staff_factor])
        if not (np.isfinite(factors).all() and (factors >= 0).all()):
            problems.append(Problem("plan.scenario.bad_factor", {"name": s.name}))
        if s.phase_years is not None and (
            len(s.phase_years) != cat.phase_end.size or min(s.phase_years) <= 0
        ):
            problems.append(
                Problem(
                    "plan.scenario.bad_phase_years",
                    {"name": s.name, "years": s.phase_years, "phases": cat.phase_end.size},
                )
            )
        problems += [
            Problem("plan.scenario.unknown_project", {"name": s.name, "code": code})
            for code in (*s.add_mandatory, *s.add_excluded)
            if code not in known
        ]
        problems += [
            Problem("plan.scenario.mandatory_and_excluded", {"name": s.name, "code": code})
            for code in sorted(set(s.add_mandatory) & set(s.add_excluded))
        ]
    return problems


def _scaled(limit: FloatArray, factor: float) -> FloatArray:
    # No limit stays no limit, even scaled by 0 (inf × 0 would be NaN).
    return np.multiply(limit, factor, out=np.full_like(limit, np.inf), where=np.isfinite(limit))


def _scenario_catalogue(cat: _Catalogue, scenario: Scenario) -> _Catalogue:
    """The base catalogue with the scenario's changes; a longer horizon repeats the last
    year's budget and staff, a shorter one drops the years after it."""
    phase_end = cat.phase_end
    if scenario.phase_years is not None:
        phase_end = np.cumsum(np.asarray(scenario.phase_years, dtype=np.int64))
    years = np.minimum(np.arange(int(phase_end[-1])), cat.horizon - 1)
    mask = np.isin(np.asarray(cat.codes), scenario.add_mandatory)
    out = np.isin(np.asarray(cat.codes), scenario.add_excluded)
    return replace(
        cat,
        budget=cat.budget[years] * scenario.budget_factor,
        staff=cat.staff[years] * scenario.staff_factor,
        phase_end=phase_end,
        phase_budget=_scaled(cat.phase_budget, scenario.budget_factor),
        phase_staff=_scaled(cat.phase_staff, scenario.staff_factor),
        mandatory=(cat.mandatory | mask) & ~out,
        excluded=(cat.excluded | out) & ~mask,
    )


def compare_scenarios(
    projects: Sequence[Project],
    phases: Phases,
    scenarios: Sequence[Scenario],
    *,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    gains: IndicatorGains | None = None,
    gains_by_case: Mapping[str, IndicatorGains] | None = None,
    mip_rel_gap: float = 1e-3,
    time_limit: float = 60.0,
    base_name: str = "base",
) -> ScenarioComparison:
    """Solve the base inputs and each scenario, and tabulate them side by side.

    The scenario catalogues are derived from the base one by array operations (no re-reading
    of the projects). ``add_mandatory`` overrides a base exclusion and ``add_excluded`` a
    base mandatory flag. With ``gains_by_case`` (keys "low", "likely", "high") the solves use
    the likely gains and :func:`assess_robustness` runs on the base inputs; otherwise they use
    ``gains``.

    Raises
    ------
    InputError
        A scenario with a duplicate name, a negative factor, phase lengths that do not fit
        the phases, or a project code that is not in the catalogue.
    """
    if gains_by_case is not None:
        _check_cases(gains_by_case)
        gains = gains_by_case["likely"]
    cat = _prepare(projects, phases, min_share or {}, share_of, gains)
    problems = _scenario_problems(scenarios, cat, base_name)
    if problems:
        raise InputError("plan.scenario.invalid", problems)
    base = _optimise(cat, mip_rel_gap, time_limit)
    results = {base_name: base}
    for scenario in scenarios:
        results[scenario.name] = _optimise(
            _scenario_catalogue(cat, scenario), mip_rel_gap, time_limit
        )
    robustness = None
    if gains_by_case is not None:
        robustness = assess_robustness(
            projects,
            phases,
            gains_by_case,
            min_share=min_share,
            share_of=share_of,
            mip_rel_gap=mip_rel_gap,
            time_limit=time_limit,
            likely_result=base,
        )
    return ScenarioComparison(_side_by_side(results, base_name), results, robustness)


def _side_by_side(results: Mapping[str, PortfolioResult], base_name: str) -> pd.DataFrame:
    base_codes = {s.code for s in results[base_name].scheduled}
    rows = []
    for name, r in results.items():
        codes = {s.code for s in r.scheduled}
        rows.append(
            {
                "scenario": name,
                "status": r.status,
                "objective": r.objective,
                "best_bound": r.best_bound,
                "relative_gap": r.relative_gap,
                "projects": len(codes),
                "budget_used": float(np.nansum(r.budget_used)),
                "budget_available": float(np.sum(r.budget_available)),
                "staff_used": float(np.nansum(r.staff_used)),
                "added": ", ".join(sorted(codes - base_codes)),
                "dropped": ", ".join(sorted(base_codes - codes)),
            }
        )
    table = pd.DataFrame(rows).set_index("scenario")
    table.insert(2, "objective_change", table["objective"] - results[base_name].objective)
    return table


def _check_cases(gains_by_case: Mapping[str, IndicatorGains]) -> None:
    if set(gains_by_case) != set(GAIN_CASES):
        raise InputError(
            "plan.scenario.invalid",
            [Problem("plan.scenario.gain_cases", {"cases": ", ".join(sorted(gains_by_case))})],
        )


def assess_robustness(
    projects: Sequence[Project],
    phases: Phases,
    gains_by_case: Mapping[str, IndicatorGains],
    *,
    min_share: Mapping[str, float] | None = None,
    share_of: Literal["value", "projects"] = "value",
    mip_rel_gap: float = 1e-3,
    time_limit: float = 60.0,
    likely_result: PortfolioResult | None = None,
) -> Robustness:
    """Solve with the low, likely and high gains and compare the three plans.

    ``likely_result``, when the caller already solved the likely case, is reused. The likely
    plan's value under another case is ``Σ value + Σ_i min(cap_i, Σ gain_i)`` with that
    case's gains and caps; the regret is that case's optimum minus this value.
    """
    _check_cases(gains_by_case)
    cats = {
        case: _prepare(projects, phases, min_share or {}, share_of, gains_by_case[case])
        for case in GAIN_CASES
    }
    results = {
        case: likely_result
        if case == "likely" and likely_result is not None
        else _optimise(cats[case], mip_rel_gap, time_limit)
        for case in GAIN_CASES
    }
    codes = pd.Index(cats["likely"].codes, name="code")
    chosen = pd.DataFrame(
        {case: codes.isin([s.code for s in r.scheduled]) for case, r in results.items()},
        index=codes,
    )
    chosen_in = chosen.sum(axis=1).rename("chosen_in")
    likely_plan = np.flatnonzero(chosen["likely"].to_numpy())
    value = {case: cats[case].plan_value(likely_plan)[0] for case in GAIN_CASES}
    return Robustness(
        results=results,
        chosen_in=chosen_in,
        core=tuple(codes[chosen.all(axis=1).to_numpy()]),
        likely_plan_value=value,
        regret={case: results[case].objective - value[case] for case in GAIN_CASES},
    )
