"""The planner's inputs for one city: its project catalogue, its latest evaluation (weights,
goalposts, current values, overall score, stage thresholds) and the needs its surveys stated.

Reads the store and hands plain arrays to ``cityloop.planning.plan_gains``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from cityloop.errors import CityLoopError
from cityloop.evaluation.aggregate import TreeShape
from cityloop.evaluation.config import EvaluationConfig, WeightMethod
from cityloop.evaluation.normalise import BOUNDED
from cityloop.evaluation.pipeline import node_weights
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework
from cityloop.planning.plan_gains import (
    Case,
    Yardstick,
    effect_matrix,
    need_values,
    project_gains,
)
from cityloop.planning.project_types import CatalogueProject
from cityloop.services.evaluation import load_config
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.survey_results import candidate_applications_for
from cityloop.store import Database

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Evaluated:
    """The city's latest evaluation of a framework, as the planner needs it."""

    run_id: int
    year: int
    total: float
    thresholds: tuple[float, ...]
    yardstick: Yardstick


@dataclass(frozen=True)
class PlanInputs:
    """Everything a solve needs for one city, one framework and one effect case.

    ``effects`` (projects × indicators) are improvements on each indicator's scale, ``gains``
    the same in overall-score points, ``need_value`` each project's need coverage.
    ``ignored_effects`` are (project, indicator) effects that cannot count (another
    indicator set or no goalposts); ``unreported`` the indicators some project improves that
    the city reported no value for (their cap is the whole range).
    """

    unit: str
    framework: Framework
    evaluated: Evaluated
    projects: tuple[CatalogueProject, ...]
    domains: Mapping[str, tuple[str, str]]
    demand: dict[str, float]
    survey_year: int | None
    survey_problem: str | None
    effects: FloatArray
    gains: FloatArray
    need_value: FloatArray
    ignored_effects: list[tuple[str, str]]
    unreported: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.projects)

    @property
    def touched(self) -> IntArray:
        """Indices of the indicators at least one project improves."""
        return np.flatnonzero(self.effects.sum(axis=0) > 0).astype(np.int64)


def global_weights(framework: Framework, config: EvaluationConfig) -> FloatArray:
    """Each indicator's share of the overall score under the run's weighting.

    Framework, equal and AHP weights are recomputed as the run computed them; data-driven
    methods (entropy, CRITIC, PCA) depend on every city's data, so the framework's own
    indicator weights stand in for them (the dimension weights are the run's either way).
    """
    if config.weights.method not in (WeightMethod.FRAMEWORK, WeightMethod.EQUAL):
        simple = config.weights.model_copy(update={"method": WeightMethod.FRAMEWORK})
        config = config.model_copy(update={"weights": simple})
    shape = TreeShape.from_parent(framework.parent, framework.depth)
    no_data = np.empty((0, len(framework.indicator_codes)))
    weight = node_weights(framework, config, no_data, shape)[: framework.n_nodes]
    share: FloatArray = framework.path_weight(weight)[framework.leaf_nodes]
    return share


def latest_evaluation(db: Database, unit: str, framework: Framework) -> Evaluated:
    """The newest run of ``framework`` that scored ``unit``, in the latest year it scored it."""
    for run in db.runs(framework.id):
        totals = db.run_scores(run.id, units=[unit], max_level=0)
        totals = totals[(totals["node"] == TOTAL) & totals["score"].notna()]
        if totals.empty:
            continue
        latest = totals.sort_values("year").iloc[-1]
        year = int(latest["year"])
        config = load_config(run.config)
        values = db.values_frame(framework.id, [year])
        mine = values[values["unit"] == unit].set_index("indicator")["value"]
        current = mine.reindex(list(framework.indicator_codes)).to_numpy(np.float64)
        bounded = config.normalisation.method in BOUNDED
        yardstick = Yardstick(
            codes=framework.indicator_codes,
            weight=global_weights(framework, config),
            target=framework.target,
            worst=framework.worst,
            direction=framework.direction,
            current=current,
            scale=float(framework.spec.scale) if bounded else 1.0,
        )
        return Evaluated(
            run.id, year, float(latest["score"]), tuple(config.stages.thresholds), yardstick
        )
    raise CityLoopError("planweb.svc.no_evaluation", unit=unit, framework=framework.id)


def stated_demand(db: Database, unit: str) -> tuple[dict[str, float], int | None, str | None]:
    """Demand (0-100) by application from the city's latest surveyed year, that year, and why
    the needs could not be read (a survey the analysis refuses: the plan goes on without it)."""
    years = sorted({s.year for s in db.surveys.list(unit)}, reverse=True)
    for year in years:
        try:
            candidates = candidate_applications_for(db, unit, year).candidates
        except CityLoopError as refused:
            return {}, None, refused.render()
        if candidates:
            return {c.code: float(c.demand) for c in candidates}, year, None
    return {}, None, None


def plan_inputs(
    db: Database, unit: str, framework_id: str, *, case: Case, need_weight: float
) -> PlanInputs:
    """Read the city's catalogue, evaluation and needs and turn them into the planner's numbers."""
    framework = db.framework(framework_id)
    evaluated = latest_evaluation(db, unit, framework)
    catalogue = unit_catalogue(db, unit)
    projects = tuple(catalogue.projects.values())
    if not projects:
        raise CityLoopError("planweb.svc.no_projects", unit=unit)
    demand, survey_year, survey_problem = stated_demand(db, unit)
    effects, ignored = effect_matrix(projects, evaluated.yardstick, framework.id, case)
    gains = project_gains(effects, evaluated.yardstick)
    improved = effects.sum(axis=0) > 0
    unreported = np.flatnonzero(improved & np.isnan(evaluated.yardstick.current))
    return PlanInputs(
        unit=unit,
        framework=framework,
        evaluated=evaluated,
        projects=projects,
        domains=catalogue.domains,
        demand=demand,
        survey_year=survey_year,
        survey_problem=survey_problem,
        effects=effects,
        gains=gains,
        need_value=need_values(projects, demand, need_weight),
        ignored_effects=ignored,
        unreported=tuple(framework.indicator_codes[i] for i in unreported),
    )


def with_case(inputs: PlanInputs, case: Case) -> PlanInputs:
    """The same city's inputs under another effect case (nothing is read again)."""
    effects, ignored = effect_matrix(
        inputs.projects, inputs.evaluated.yardstick, inputs.framework.id, case
    )
    gains = project_gains(effects, inputs.evaluated.yardstick)
    return replace(inputs, effects=effects, gains=gains, ignored_effects=ignored)
