"""From catalogue projects and a city's evaluation to the optimiser's numbers: each project's
gain in overall-score points per indicator, each indicator's cap, need coverage, trajectories.

Pure: arrays and dataclasses in, arrays and dataclasses out (the services read the store).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.evaluation.stages import stage_of
from cityloop.planning.project_types import CatalogueProject

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Case = Literal["low", "likely", "high"]
CASES: tuple[Case, ...] = ("low", "likely", "high")
# A fully demanded application (demand 100 of 100) is worth this many overall-score points:
# a project's score gain in the demo catalogue is a few points (0.5-5 of 100), and a project
# answering one or two applications at demand 50 then weighs about as much as its gain.
DEFAULT_NEED_WEIGHT = 5.0


@dataclass(frozen=True)
class Yardstick:
    """A city's indicators as the planner measures them, one entry per framework indicator.

    ``weight`` is each indicator's share of the overall score (the product of within-parent
    weights up to the root, summing to one over indicators), ``target`` and ``worst`` its
    goalposts, ``direction`` +1 (higher is better), -1 (lower) or 0 (a band), ``current`` the
    city's value in the evaluation year (NaN: not reported) and ``scale`` the score's scale
    (100 for a 0-100 framework).
    """

    codes: tuple[str, ...]
    weight: FloatArray
    target: FloatArray
    worst: FloatArray
    direction: IntArray
    current: FloatArray
    scale: float

    @property
    def span(self) -> FloatArray:
        """|target − worst|; NaN for an indicator without both goalposts (or a band)."""
        span = np.abs(self.target - self.worst)
        usable = (self.direction != 0) & np.isfinite(span) & (span > 0)
        return np.where(usable, span, np.nan)

    @property
    def points_per_unit(self) -> FloatArray:
        """Overall-score points one unit of improvement on the indicator's scale is worth:
        ``weight × scale / |target − worst|``; NaN where the indicator has no goalposts."""
        result: FloatArray = self.weight * self.scale / self.span
        return result

    @property
    def headroom(self) -> FloatArray:
        """How far the city is from the target, on the indicator's scale (0 at or past it).

        An indicator the city did not report gets the whole range |target − worst|: nothing
        says it is any nearer, and the cap must not rule out a project that would help it.
        """
        gap = np.where(self.direction < 0, self.current - self.target, self.target - self.current)
        reported = np.clip(gap, 0.0, self.span)
        result: FloatArray = np.where(np.isnan(self.current), self.span, reported)
        return result

    @property
    def cap(self) -> FloatArray:
        """The most the plan can add through each indicator, in overall-score points."""
        result: FloatArray = self.headroom * self.points_per_unit
        return result


def effect_matrix(
    projects: Sequence[CatalogueProject], yardstick: Yardstick, framework: str, case: Case
) -> tuple[FloatArray, list[tuple[str, str]]]:
    """(projects × indicators) improvements on each indicator's own scale in ``case``.

    Effects on another framework are not this plan's; effects on an indicator the framework
    lacks or that has no goalposts cannot be turned into score points: those come back as
    (project code, indicator) pairs so the page can say what was left out.
    """
    column = {code: j for j, code in enumerate(yardstick.codes)}
    usable = np.isfinite(yardstick.span)
    matrix = np.zeros((len(projects), len(yardstick.codes)))
    ignored: list[tuple[str, str]] = []
    for p, project in enumerate(projects):
        for effect in project.effects:
            if effect.framework != framework:
                continue
            j = column.get(effect.indicator)
            if j is None or not usable[j]:
                ignored.append((project.code, effect.indicator))
                continue
            matrix[p, j] += getattr(effect, case)
    return matrix, ignored


def project_gains(effects: FloatArray, yardstick: Yardstick) -> FloatArray:
    """Each project's gain per indicator in overall-score points: improvement × points per unit.

    ``gain[p, i] = w_i × Δ_pi / |target_i − worst_i| × scale``: the change of the overall score
    when indicator i moves by Δ towards its target under goalpost (distance-to-target)
    normalisation and arithmetic aggregation, where a score is linear in each indicator.
    """
    points = np.nan_to_num(yardstick.points_per_unit, nan=0.0)
    result: FloatArray = effects * points
    return result


def need_values(
    projects: Sequence[CatalogueProject],
    demand: Mapping[str, float],
    need_weight: float = DEFAULT_NEED_WEIGHT,
) -> FloatArray:
    """Need coverage of each project: ``λ × Σ demand_a / 100`` over the applications it answers.

    ``demand`` is the survey's demand (0-100) by application code; an application nobody
    asked for (or a city without a survey) adds nothing.
    """
    return np.array(
        [need_weight * sum(demand.get(a, 0.0) for a in p.applications) / 100.0 for p in projects],
        dtype=np.float64,
    )


def factor_table(projects: Sequence[CatalogueProject]) -> pd.DataFrame:
    """The five placement factors of each project, as ``score_projects`` takes them."""
    return pd.DataFrame(
        {
            "code": [p.code for p in projects],
            "foundation": [p.foundation for p in projects],
            "importance": [p.importance for p in projects],
            "cycle": [p.cycle for p in projects],
            "funding": [p.total_cost for p in projects],
            "personnel": [float(sum(p.staff)) for p in projects],
        }
    )


@dataclass(frozen=True)
class Trajectory:
    """Expected indicator values, overall score and stage in each year of a plan.

    ``years`` are calendar years; ``values`` is (years × indicators) on each indicator's scale
    (NaN where the city reported nothing), ``total`` the expected overall score and ``stage``
    its stage index (0 数字化 … 3 智慧化).
    """

    years: IntArray
    values: FloatArray
    achieved: FloatArray  # (years × indicators) improvement reached so far, capped at headroom
    total: FloatArray
    stage: IntArray


def trajectory(
    effects: FloatArray,
    finish: IntArray,
    yardstick: Yardstick,
    *,
    baseline_total: float,
    first_year: int,
    horizon: int,
    thresholds: Sequence[float],
) -> Trajectory:
    """The plan's expected path from ``first_year`` to one year after its last phase.

    A project finishing in plan year ``f`` (0-based; -1 if not chosen) takes effect from plan
    year ``f + 1``: in year y every project with ``0 ≤ f < y`` adds its improvement. The
    improvement summed over projects stops at the indicator's headroom (no value goes past its
    target), and the overall score moves by ``Σ_i achieved_i × points_per_unit_i`` from the
    city's ``baseline_total`` (the evaluated score), so the final year's gain equals the
    optimiser's capped objective term when every chosen project is finished.
    """
    years = np.arange(horizon + 1, dtype=np.int64)
    active = ((finish[None, :] >= 0) & (finish[None, :] < years[:, None])).astype(np.float64)
    achieved = np.minimum(active @ effects, np.nan_to_num(yardstick.headroom, nan=0.0))
    sign = np.where(yardstick.direction < 0, -1.0, 1.0)
    values: FloatArray = yardstick.current[None, :] + sign * achieved
    points = np.nan_to_num(yardstick.points_per_unit, nan=0.0)
    total: FloatArray = baseline_total + achieved @ points
    return Trajectory(
        years=first_year + years,
        values=values,
        achieved=achieved,
        total=total,
        stage=stage_of(total, tuple(thresholds)),
    )
