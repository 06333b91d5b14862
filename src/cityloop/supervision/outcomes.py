"""Did a delivered project move its indicator? A difference-in-differences estimate against
comparable cities that did not run it, with a confidence interval honest for few treated cities.

See docs/outcomes.md for the estimator, the inference rule and the measured CI coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd

from cityloop.errors import InputError, Location, Problem
from cityloop.frameworks.schema import Direction
from cityloop.supervision.outcomes_kernel import (
    Contrast,
    FloatArray,
    Inference,
    IntArray,
    cluster_inference,
    placebo_count,
    placebo_inference,
    placebo_subsets,
    pre_slopes,
    unit_changes,
)

# Below this many treated cities cluster-robust errors over-reject (MacKinnon & Webb 2017), so
# "auto" uses the placebo distribution over the controls instead.
CLUSTER_MIN_TREATED = 10
# A pre-period slope gap with p below this flags parallel trends as doubtful: a lenient level,
# because a missed violation (a biased estimate) costs more here than a false alarm.
PRETREND_ALPHA = 0.10
PANEL_COLUMNS = ("unit", "year", "indicator", "value")


class Method(StrEnum):
    """How the confidence interval was obtained."""

    PLACEBO = "placebo"
    CLUSTER = "cluster"


@dataclass(frozen=True)
class CohortEstimate:
    """One delivery year's 2×2 comparison: its cities, controls, calendar years and estimate."""

    delivered_year: int
    treated: tuple[str, ...]
    controls: tuple[str, ...]
    pre_years: tuple[int, ...]
    post_years: tuple[int, ...]
    estimate: float


@dataclass(frozen=True)
class PreTrendCheck:
    """Treated minus control slope over the pre-period (improvement units per year), its
    p-value by the same method as the estimate, and whether parallel trends look violated."""

    gap: float
    p_value: float
    violated: bool


@dataclass(frozen=True)
class DiDResult:
    """A project's measured effect on one indicator, signed so that positive is improvement.

    ``estimate`` is in the indicator's unit, averaged over the post years; ``ci_low`` and
    ``ci_high`` bound it at ``confidence``. ``n_placebo`` is the size of the placebo
    distribution (0 for the cluster method) and ``df`` the t degrees of freedom (None for the
    placebo method). ``dropped_controls`` had no complete data in the window and were not used.
    """

    indicator: str
    direction: Direction
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    confidence: float
    method: Method
    n_treated: int
    n_controls: int
    n_pre_years: int
    n_post_years: int
    cohorts: tuple[CohortEstimate, ...]
    pretrend: PreTrendCheck
    n_placebo: int
    df: float | None
    dropped_controls: tuple[str, ...]


def did_effect(
    panel: pd.DataFrame,
    treated: Sequence[str],
    controls: Sequence[str],
    indicator: str,
    delivered_year: int | Mapping[str, int],
    *,
    pre_years: int = 3,
    post_years: int = 2,
    confidence: float = 0.9,
    direction: Direction | str = Direction.HIGHER,
    method: Literal["auto", "placebo", "cluster"] = "auto",
    draws: int = 2000,
    seed: int = 0,
) -> DiDResult:
    """Difference-in-differences effect of a delivered project on one indicator.

    Parameters
    ----------
    panel
        Long table with columns unit, year, indicator, value (``store.values.values_frame``).
    treated
        Cities that ran the project.
    controls
        Comparable cities that never ran it (e.g. the treated city's peer group).
    indicator
        The indicator the project promised to move.
    delivered_year
        The year the project was finished (its effect starts the year after), or one year per
        treated city when several delivered it in different years (staggered adoption).
    pre_years, post_years
        Years before and including delivery, and years after it, in each comparison.
    confidence
        Coverage of the interval, e.g. 0.9 or 0.95.
    direction
        The indicator's direction; for "lower" a fall is an improvement. "band" is refused.
    method
        "placebo", "cluster", or "auto": cluster-robust with ``CLUSTER_MIN_TREATED`` or more
        treated cities (and two or more in every cohort), the placebo distribution otherwise.
    draws, seed
        Random pseudo-treated sets for the placebo method (exact enumeration with one treated
        city), and their seed; equal inputs give bit-identical results.

    Returns
    -------
    DiDResult

    Notes
    -----
    Each delivery year is a cohort with its own 2×2 comparison over its window; its controls
    are the never-treated cities plus the treated cities delivering only after the cohort's
    last post year (not yet treated). Cohort estimates are averaged weighted by their numbers
    of treated cities: the stacked estimator of Cengiz et al. (2019), which avoids the
    forbidden comparisons of two-way fixed effects under staggered timing (Goodman-Bacon 2021).
    With one cohort on a balanced window this is exactly the two-way fixed-effects estimate.
    Controls missing any value in a window are dropped (listed); a treated gap is refused.

    Raises
    ------
    InputError
        ``outcome.did.invalid`` with one problem per fault found.
    """
    sign, grid, plan, problems = _prepare(
        panel, treated, controls, indicator, delivered_year, pre_years, post_years, direction
    )
    if not 0.0 < confidence < 1.0:
        problems.append(
            Problem("outcome.did.bad_confidence", {"confidence": confidence}, _arg("confidence"))
        )
    if draws < 1:
        problems.append(Problem("outcome.did.bad_draws", {"draws": draws}, _arg("draws")))
    if problems:
        raise InputError("outcome.did.invalid", problems)
    years = grid.columns.to_numpy(dtype=np.int64)
    values = sign * grid.to_numpy(dtype=np.float64)
    positions = [grid.index.get_indexer(pd.Index(c.units)) for c in plan]
    size = np.array([[len(c.controls), len(c.treated)] for c in plan], dtype=np.int64)
    _, unit = np.unique(np.concatenate(positions), return_inverse=True)  # clusters 0..n-1
    contrast = Contrast(
        cohort=np.repeat(np.arange(len(plan)), size.sum(axis=1)),
        unit=unit.astype(np.int64),
        treated=np.concatenate([np.arange(c + t) < t for c, t in size]),
        weight=size[:, 1] / size[:, 1].sum(),
    )
    change, slope = _row_statistics(values, years, plan, positions)

    chosen = _choose_method(method, contrast, confidence)
    if isinstance(chosen, Problem):
        raise InputError("outcome.did.invalid", [chosen])
    if chosen is Method.PLACEBO:
        subsets = placebo_subsets(contrast, draws, seed)
        effect = placebo_inference(change, contrast, subsets, confidence)
        trend = placebo_inference(slope, contrast, subsets, confidence)
        n_placebo = subsets[0].shape[0]
    else:
        effect = cluster_inference(change, contrast, confidence)
        trend = cluster_inference(slope, contrast, confidence)
        n_placebo = 0
    return _result(
        indicator, sign, confidence, chosen, plan, contrast, change, effect, trend, n_placebo
    )


@dataclass(frozen=True)
class _Cohort:
    """A validated cohort: its delivery year, treated cities, usable controls and window."""

    delivered_year: int
    treated: tuple[str, ...]
    controls: tuple[str, ...]
    pre: tuple[int, ...]
    post: tuple[int, ...]
    dropped: tuple[str, ...]

    @property
    def units(self) -> tuple[str, ...]:
        return self.treated + self.controls


def _arg(name: str) -> Location:
    return Location(column=name)


def _prepare(
    panel: pd.DataFrame,
    treated: Sequence[str],
    controls: Sequence[str],
    indicator: str,
    delivered_year: int | Mapping[str, int],
    pre_years: int,
    post_years: int,
    direction: Direction | str,
) -> tuple[float, pd.DataFrame, list[_Cohort], list[Problem]]:
    """Check everything, collecting every fault; return the sign, the units × years grid of
    the indicator, the cohorts and the problems (nothing computed when there are any)."""
    problems: list[Problem] = []
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        return 1.0, pd.DataFrame(), [], [Problem("outcome.did.columns", {"columns": missing})]
    sign = 1.0
    if str(direction) not in {d.value for d in Direction} or str(direction) == Direction.BAND:
        problems.append(
            Problem(
                "outcome.did.bad_direction",
                {"indicator": indicator, "direction": str(direction)},
                _arg("direction"),
            )
        )
    elif Direction(direction) is Direction.LOWER:
        sign = -1.0
    if pre_years < 2:
        problems.append(Problem("outcome.did.pre_years", {"years": pre_years}, _arg("pre_years")))
    if post_years < 1:
        problems.append(
            Problem("outcome.did.post_years", {"years": post_years}, _arg("post_years"))
        )
    rows = panel[panel["indicator"].astype(str) == indicator]
    if rows.empty:
        problems.append(Problem("outcome.did.indicator_absent", {"indicator": indicator}))
    twice = rows.duplicated(["unit", "year"], keep="first")
    problems += [
        Problem("outcome.did.duplicate", {"unit": u, "year": int(y)}, Location(row=int(i) + 1))
        for i, u, y in zip(rows.index[twice], rows["unit"][twice], rows["year"][twice], strict=True)
    ]
    treated = list(dict.fromkeys(str(u) for u in treated))
    if not treated:
        problems.append(Problem("outcome.did.no_treated", {}, _arg("treated")))
    problems += [
        Problem("outcome.did.control_is_treated", {"unit": u}, _arg("controls"))
        for u in dict.fromkeys(str(c) for c in controls)
        if u in treated
    ]
    if isinstance(delivered_year, Mapping):
        timing = {str(u): int(y) for u, y in delivered_year.items()}
        problems += [
            Problem("outcome.did.no_delivery_year", {"unit": u}, _arg("delivered_year"))
            for u in treated
            if u not in timing
        ]
    else:
        timing = dict.fromkeys(treated, int(delivered_year))
    if problems:
        return sign, pd.DataFrame(), [], problems
    grid = rows.drop_duplicates(["unit", "year"]).pivot(
        index="unit", columns="year", values="value"
    )
    grid.index = grid.index.astype(str)
    plan, window_problems = _cohorts(grid, treated, controls, timing, pre_years, post_years)
    return sign, grid, plan, window_problems


def _cohorts(
    grid: pd.DataFrame,
    treated: list[str],
    controls: Sequence[str],
    timing: Mapping[str, int],
    pre_years: int,
    post_years: int,
) -> tuple[list[_Cohort], list[Problem]]:
    """One cohort per delivery year, with the controls that have every value in its window."""
    problems: list[Problem] = []
    never = [str(c) for c in dict.fromkeys(controls)]
    plan: list[_Cohort] = []
    for year in sorted({timing[u] for u in treated}):  # one pass per delivery year
        window = np.arange(year - pre_years + 1, year + post_years + 1)
        absent = [int(y) for y in window if y not in grid.columns]
        if absent:
            problems.append(
                Problem(
                    "outcome.did.short_window",
                    {
                        "year": year,
                        "first": int(window[0]),
                        "last": int(window[-1]),
                        "absent": absent,
                    },
                    _arg("delivered_year"),
                )
            )
            continue
        complete = grid.reindex(columns=window).notna().all(axis=1)
        members = tuple(u for u in treated if timing[u] == year)
        for u in members:
            if u not in grid.index:
                problems.append(
                    Problem("outcome.did.treated_missing", {"unit": u}, _arg("treated"))
                )
            elif not complete[u]:
                gaps = [int(y) for y in window if pd.isna(grid.at[u, y])]
                problems.append(
                    Problem("outcome.did.treated_gap", {"unit": u, "years": gaps}, _arg("treated"))
                )
        # Treated cities delivering after this cohort's last post year are still untreated here.
        later = [u for u in treated if timing[u] >= year + post_years]
        usable = tuple(u for u in never + later if u in complete.index and complete[u])
        if not usable:
            problems.append(Problem("outcome.did.no_controls", {"year": year}, _arg("controls")))
        plan.append(
            _Cohort(
                year,
                members,
                usable,
                tuple(int(y) for y in window[:pre_years]),
                tuple(int(y) for y in window[pre_years:]),
                tuple(u for u in never if u not in usable),
            )
        )
    return plan, problems


def _row_statistics(
    values: FloatArray, years: IntArray, plan: list[_Cohort], positions: list[IntArray]
) -> tuple[FloatArray, FloatArray]:
    """Per stacked row: post-minus-pre mean change and pre-period slope over its cohort window."""
    changes, slopes = [], []
    for c, rows in zip(plan, positions, strict=True):  # one matrix slice per cohort
        pre, post = np.isin(years, c.pre), np.isin(years, c.post)
        changes.append(unit_changes(values[rows], pre, post))
        slopes.append(pre_slopes(values[rows], years, pre))
    return np.concatenate(changes), np.concatenate(slopes)


def _choose_method(
    method: Literal["auto", "placebo", "cluster"], contrast: Contrast, confidence: float
) -> Method | Problem:
    """The inference method, or the problem that rules the requested one out."""
    size = contrast.cell_size.reshape(-1, 2)
    n_treated = int(size[:, 1].sum())
    cluster_possible = bool((size >= 2).all())
    if method == "cluster" or (
        method == "auto" and n_treated >= CLUSTER_MIN_TREATED and cluster_possible
    ):
        if cluster_possible:
            return Method.CLUSTER
        return Problem("outcome.did.cluster_cells", {"smallest": int(size.min())}, _arg("method"))
    # The interval's ends are order statistics k = ⌊(n + 1) α / 2⌋ ≥ 1 of the n placebos.
    needed = int(np.ceil(2.0 / (1.0 - confidence) - 1.0 - 1e-9))
    available = placebo_count(contrast)
    if available < needed:
        return Problem(
            "outcome.did.too_few_controls",
            {"available": available, "needed": needed, "confidence": confidence},
            _arg("controls"),
        )
    return Method.PLACEBO


def _result(
    indicator: str,
    sign: float,
    confidence: float,
    method: Method,
    plan: list[_Cohort],
    contrast: Contrast,
    change: FloatArray,
    effect: Inference,
    trend: Inference,
    n_placebo: int,
) -> DiDResult:
    controls = sorted({u for c in plan for u in c.controls})
    # Each cohort's own 2×2: the stacked coefficients with every cohort weight set to one.
    alone = Contrast(contrast.cohort, contrast.unit, contrast.treated, np.ones(len(plan)))
    by_cohort = np.bincount(contrast.cohort, weights=change * alone.coefficients())
    cohort_estimates = [
        CohortEstimate(c.delivered_year, c.treated, c.controls, c.pre, c.post, float(e))
        for c, e in zip(plan, by_cohort, strict=True)
    ]
    return DiDResult(
        indicator=indicator,
        direction=Direction.HIGHER if sign > 0 else Direction.LOWER,
        estimate=float(effect.estimate),
        std_error=float(effect.std_error),
        ci_low=float(effect.ci_low),
        ci_high=float(effect.ci_high),
        confidence=confidence,
        method=method,
        n_treated=int(contrast.treated.sum()),
        n_controls=len(controls),
        n_pre_years=len(plan[0].pre),
        n_post_years=len(plan[0].post),
        cohorts=tuple(cohort_estimates),
        pretrend=PreTrendCheck(
            gap=float(trend.estimate),
            p_value=float(trend.p_value),
            violated=bool(trend.p_value < PRETREND_ALPHA),
        ),
        n_placebo=n_placebo,
        df=None if method is Method.PLACEBO else float(effect.df),
        dropped_controls=tuple(sorted({u for c in plan for u in c.dropped})),
    )
