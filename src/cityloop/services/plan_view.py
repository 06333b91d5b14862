"""A solved plan as plain data: the projects with their scores and schedule, the yearly use
of budget and staff, binding limits, conflicts and the expected trajectory.

One pydantic model serves the pages, the JSON API, the Excel export and the saved plan's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from cityloop.errors import InputError
from cityloop.evaluation.config import STAGES
from cityloop.i18n import t
from cityloop.planning.plan_gains import factor_table, trajectory
from cityloop.planning.portfolio_types import PortfolioResult, ScheduledProject
from cityloop.planning.scoring import ProjectScores, score_projects
from cityloop.services.plan_inputs import PlanInputs
from cityloop.services.plan_settings import PlanSettings

PHASE_KEYS = 3  # planweb.phase.p1-p3: 启动实施, 持续推进, 应用拓展


class _Plain(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectRow(_Plain):
    """One candidate project: what it is, what it is worth, its TOPSIS score and its place."""

    code: str
    name: dict[str, str]
    domain: str
    domain_name: dict[str, str]
    plan_types: list[str]
    cost: list[float]  # 万元 per construction year
    staff: list[float]
    total_cost: float
    total_staff: float
    foundation: float
    importance: float
    need_value: float
    score_gain: float  # uncapped sum over indicators, overall-score points
    closeness: float | None
    rank: int | None
    mandatory: bool
    excluded: bool
    built: bool
    chosen: bool
    start_year: int | None = None  # calendar years
    finish_year: int | None = None
    phase: str | None = None

    @property
    def cycle(self) -> int:
        return len(self.cost)


class YearUse(_Plain):
    """Budget (万元) and staff (FTE) used and available in one calendar year."""

    year: int
    phase: str
    budget_used: float
    budget_available: float
    staff_used: float
    staff_available: float


class LimitRow(_Plain):
    """A limit the plan uses up: the resource, its calendar year (or phase) and amounts."""

    resource: str
    year: int
    used: float
    available: float
    phase: str | None = None


class ConflictRow(_Plain):
    """Why the settings are impossible, as a translation key and its parameters."""

    key: str
    params: dict[str, Any]
    message: str

    def render(self) -> str:
        return t(self.key, **self.params) if self.key else self.message


class TrajectoryPoint(_Plain):
    """The expected overall score and stage in one calendar year."""

    year: int
    total: float
    stage: int


class IndicatorPath(_Plain):
    """An indicator the plan improves: its value now, its target and its expected values."""

    code: str
    name: dict[str, str]
    current: float | None
    target: float | None
    cap_points: float
    values: list[float | None]


class PlanView(_Plain):
    """Everything the pages, the API and the export show about one solve."""

    unit: str
    framework_id: str
    run_id: int
    evaluation_year: int
    baseline_total: float
    baseline_stage: int
    thresholds: list[float]
    scale: float
    first_year: int
    phase_names: list[str]
    phase_years: list[int]
    case: str
    need_weight: float
    survey_year: int | None
    method: str
    status: str
    objective: float | None
    best_bound: float | None
    relative_gap: float | None
    need_total: float
    gain_total: float
    factor_weights: dict[str, float]
    weight_source: str
    consistency_ratio: float | None
    projects: list[ProjectRow]
    years: list[YearUse]
    binding: list[LimitRow]
    conflicts: list[ConflictRow]
    trajectory: list[TrajectoryPoint]
    indicators: list[IndicatorPath]
    notes: list[ConflictRow]

    @property
    def chosen(self) -> list[ProjectRow]:
        return sorted(
            (p for p in self.projects if p.chosen), key=lambda p: (p.start_year or 0, p.code)
        )

    @property
    def left_out(self) -> list[ProjectRow]:
        return [p for p in self.projects if not p.chosen]

    @property
    def solved(self) -> bool:
        return self.status in ("optimal", "time_limit", "heuristic") and bool(self.chosen)

    def stage_name(self, stage: int, lang: str | None = None) -> str:
        """The stage's name (数字化 … 智慧化); a dash for a missing score."""
        return t(f"stage.{STAGES[stage]}", lang) if 0 <= stage < len(STAGES) else "—"

    def phase_label(self, phase: str | None, lang: str | None = None) -> str:
        """A phase in the reader's language: the three standard phases are translated."""
        if phase is None:
            return "—"
        k = self.phase_names.index(phase) if phase in self.phase_names else -1
        return t(f"planweb.phase.p{k + 1}", lang) if 0 <= k < PHASE_KEYS else phase


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def project_scores(inputs: PlanInputs, settings: PlanSettings) -> ProjectScores | None:
    """TOPSIS on the five factors; None when no weighted factor separates the projects."""
    table = factor_table(inputs.projects)
    try:
        if settings.judgments is not None:
            return score_projects(table, judgments=np.array(settings.judgments))
        return score_projects(table, weights=settings.factor_weights)
    except InputError as exc:
        if exc.key == "plan.scoring.nothing_to_rank":
            return None
        raise


def _notes(inputs: PlanInputs) -> list[ConflictRow]:
    notes = []
    if inputs.survey_problem is not None:
        problem = {"problem": inputs.survey_problem}
        notes.append(ConflictRow(key="planweb.note.survey_refused", params=problem, message=""))
    elif inputs.survey_year is None:
        notes.append(ConflictRow(key="planweb.note.no_survey", params={}, message=""))
    if inputs.unreported:
        codes = ", ".join(inputs.unreported)
        notes.append(ConflictRow(key="planweb.note.unreported", params={"codes": codes},
                                 message=""))  # fmt: skip
    if inputs.ignored_effects:
        pairs = ", ".join(f"{p}→{i}" for p, i in inputs.ignored_effects)
        notes.append(ConflictRow(key="planweb.note.ignored", params={"pairs": pairs}, message=""))
    return notes


def project_rows(
    inputs: PlanInputs,
    settings: PlanSettings,
    scores: ProjectScores | None,
    placed: Mapping[str, ScheduledProject],
    first_year: int,
) -> list[ProjectRow]:
    """Every candidate with its factors, need value, score gain, TOPSIS score and place."""
    rows = []
    for p, project in enumerate(inputs.projects):
        s = placed.get(project.code)
        score = scores.table.loc[project.code] if scores is not None else None
        zh, en = inputs.domains.get(project.domain, (project.domain, project.domain))
        rows.append(
            ProjectRow(
                code=project.code, name={"zh": project.name_zh, "en": project.name_en},
                domain=project.domain, domain_name={"zh": zh, "en": en},
                plan_types=[str(pt) for pt in project.plan_types], cost=list(project.cost),
                staff=list(project.staff), total_cost=project.total_cost,
                total_staff=float(sum(project.staff)), foundation=project.foundation,
                importance=project.importance, need_value=float(inputs.need_value[p]),
                score_gain=float(inputs.gains[p].sum()),
                closeness=None if score is None else float(score["closeness"]),
                rank=None if score is None else int(score["rank"]),
                mandatory=project.code in settings.mandatory,
                excluded=project.code in settings.excluded, built=project.code in settings.built,
                chosen=s is not None,
                start_year=None if s is None else first_year + s.start_year,
                finish_year=None if s is None else first_year + s.finish_year,
                phase=None if s is None else s.phase,
            )
        )  # fmt: skip
    return rows


def plan_view(
    inputs: PlanInputs,
    settings: PlanSettings,
    result: PortfolioResult,
    first_year: int,
    phase_names: Sequence[str],
) -> PlanView:
    """Package a solve (or a failed one) with its inputs for every reader."""
    scores = project_scores(inputs, settings)
    placed = {s.code: s for s in result.scheduled}
    finish = np.array([placed[c].finish_year if c in placed else -1 for c in inputs.codes])
    y = inputs.evaluated.yardstick
    path = trajectory(
        inputs.effects, finish.astype(np.int64), y,
        baseline_total=inputs.evaluated.total, first_year=first_year,
        horizon=settings.horizon, thresholds=inputs.evaluated.thresholds,
    )  # fmt: skip
    phase_of_year = np.repeat(np.array(list(phase_names)), settings.phase_years)
    rows = project_rows(inputs, settings, scores, placed, first_year)
    touched = inputs.touched
    return PlanView(
        unit=inputs.unit, framework_id=inputs.framework.id, run_id=inputs.evaluated.run_id,
        evaluation_year=inputs.evaluated.year, baseline_total=inputs.evaluated.total,
        baseline_stage=int(path.stage[0]) if path.stage.size else -1,
        thresholds=list(inputs.evaluated.thresholds), scale=y.scale, first_year=first_year,
        phase_names=list(phase_names), phase_years=list(settings.phase_years),
        case=settings.case, need_weight=settings.need_weight, survey_year=inputs.survey_year,
        method=result.method, status=result.status, objective=_finite(result.objective),
        best_bound=_finite(result.best_bound), relative_gap=_finite(result.relative_gap),
        need_total=float(sum(r.need_value for r in rows if r.chosen)),
        gain_total=float(path.total[-1] - inputs.evaluated.total),
        factor_weights={} if scores is None else {k: float(v) for k, v in scores.weights.items()},
        weight_source="user" if scores is None else scores.weight_source,
        consistency_ratio=None if scores is None else scores.consistency_ratio,
        projects=rows,
        years=[
            YearUse(year=first_year + k, phase=str(phase_of_year[k]),
                    budget_used=float(np.nan_to_num(result.budget_used[k])),
                    budget_available=float(result.budget_available[k]),
                    staff_used=float(np.nan_to_num(result.staff_used[k])),
                    staff_available=float(result.staff_available[k]))
            for k in range(settings.horizon)
        ],
        binding=[
            LimitRow(resource=b.resource, year=first_year + b.year, used=b.used,
                     available=b.available, phase=getattr(b, "phase", None))
            for b in result.binding
        ],
        conflicts=[ConflictRow(key=c.key, params=dict(c.params), message=c.message)
                   for c in result.conflicts],
        trajectory=[
            TrajectoryPoint(year=int(yr), total=float(tot), stage=int(st))
            for yr, tot, st in zip(path.years, path.total, path.stage, strict=True)
        ],
        indicators=[
            IndicatorPath(
                code=y.codes[i],
                name={"zh": inputs.framework.name(y.codes[i], "zh-CN"),
                      "en": inputs.framework.name(y.codes[i], "en")},
                current=_finite(y.current[i]), target=_finite(y.target[i]),
                cap_points=float(np.nan_to_num(y.cap[i])),
                values=[_finite(v) for v in path.values[:, i]],
            )
            for i in touched
        ],
        notes=_notes(inputs),
    )  # fmt: skip
