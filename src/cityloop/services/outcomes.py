"""Outcome assessment (成效评估): did a unit's delivered projects move the indicators they
promised? A difference-in-differences against comparable units per project × indicator, the
verdicts, the stored reports, and (``outcomes_feedback``) the feedback into the catalogue.

The pages, the JSON API and the CLI call these; see docs/outcomes.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from cityloop.accounts import Action, Principal
from cityloop.errors import CityLoopError, InputError
from cityloop.frameworks.schema import Direction
from cityloop.i18n import t
from cityloop.planning.project_types import CatalogueProject, EffectRange
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.outcomes_feedback import EffectChange, acting_user, feed_back
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.store import Database
from cityloop.store.outcomes import MeasuredEffect, ReportRow
from cityloop.store.tracking import StoredProject
from cityloop.supervision.outcomes import did_effect
from cityloop.supervision.outcomes_verdict import Assessment, Verdict, assess_project
from cityloop.supervision.tracking import GateKind

OUTCOME_SEED = 20260801  # the placebo draws' seed unless one is given: reports reproduce
# The worst verdict first: a project's overall verdict is the worst of its indicators'.
VERDICT_ORDER = (
    Verdict.BIG_PLAN_SMALL_RESULT,
    Verdict.NO_EFFECT,
    Verdict.BELOW_RANGE,
    Verdict.INCONCLUSIVE,
    Verdict.WITHIN_RANGE,
    Verdict.DELIVERED,
)
# did_effect's default windows: the delivery year and the two before it, the two after it.
PRE_YEARS, POST_YEARS = 3, 2


class OutcomeReportNotFoundError(CityLoopError):
    """No stored outcome report with this id (or not of this unit)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorOutcome(_Model):
    """One promised indicator of a delivered project: the promise, the measurement, the verdict.

    ``low``/``likely``/``high`` are the promised improvement (catalogue range); ``estimate``
    and ``ci_low``–``ci_high`` the measured one at ``confidence``, positive = improvement.
    ``cost_per_unit`` is spend (万元) per unit of improvement, None when nothing improved;
    ``pre_trend_ok`` False when the pre-delivery trends of the unit and its controls differ.
    """

    indicator: str
    low: float
    likely: float
    high: float
    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    confidence: float
    method: str
    n_treated: int
    n_controls: int
    dropped_controls: list[str]
    verdict: Verdict
    cost_per_unit: float | None
    pre_trend_ok: bool | None
    pre_trend_p: float | None


class ProjectOutcome(_Model):
    """A delivered project: delivery (acceptance test passed), spend and its overall verdict,
    the worst of its indicators' in the order of ``VERDICT_ORDER``."""

    code: str
    name_zh: str
    name_en: str
    delivered: date
    spend: float
    high_spend: bool
    verdict: Verdict
    indicators: list[IndicatorOutcome]


class SkippedProject(_Model):
    """A project (or one indicator of it, ``indicator`` set) the report could not assess."""

    code: str
    reason_key: str
    params: dict[str, Any]
    message: str
    indicator: str | None = None


class OutcomeReport(_Model):
    """A stored assessment of ``unit``'s projects delivered on or before ``as_of``."""

    id: int
    unit: str
    framework_id: str
    as_of: date
    confidence: float
    seed: int
    created_by: str
    created_at: datetime
    projects: list[ProjectOutcome]
    skipped: list[SkippedProject]


class OutcomeReportSummary(_Model):
    """A stored report in a list: when, by whom, and how many projects got which verdict."""

    id: int
    unit: str
    framework_id: str
    as_of: date
    created_by: str
    created_at: datetime
    projects: int
    skipped: int
    verdicts: dict[str, int]


@dataclass(frozen=True)
class _Panel:
    """What every project's assessment shares: the values, the framework, the candidate
    controls (units of the unit's level), the units tracking each code, the spends."""

    values: pd.DataFrame
    framework_id: str
    directions: Mapping[str, Direction]
    peers: list[str]
    tracking: Mapping[str, set[str]]
    programme_spend: list[float]
    last_year: int


def _skip(code: str, key: str, about: str | None = None, **params: Any) -> SkippedProject:
    """A skipped project (or, ``about`` an indicator, one indicator of it) with its reason."""
    return SkippedProject(code=code, reason_key=key, params=params, message=t(key, **params),
                          indicator=about)  # fmt: skip


def _delivered(project: StoredProject) -> date | None:
    """The day the acceptance test (验收测试) was passed: the project's delivery."""
    return next(
        (g.passed_date for g in project.record.gates if g.kind is GateKind.ACCEPTANCE_TEST),
        None,
    )


def _paid(project: StoredProject, as_of: date) -> float:
    """Money paid on the project up to ``as_of`` (corrections netted in)."""
    return round(sum(s.amount for s in project.record.spend if s.day <= as_of), 6)


def _indicator(
    unit: str,
    code: str,
    promised: EffectRange,
    delivered: date,
    spend: float,
    panel: _Panel,
    settings: tuple[float, int],
) -> Assessment | SkippedProject:
    """One promised effect measured and judged, or why it could not be."""
    name = promised.indicator
    direction = panel.directions.get(name)
    if direction is None:
        return _skip(code, "outcome.service.skip.not_in_framework", name, indicator=name)
    if direction == Direction.BAND:
        return _skip(code, "outcome.service.skip.band", name, indicator=name)
    controls = [u for u in panel.peers if u not in panel.tracking.get(code, set())]
    confidence, seed = settings
    try:
        measured = did_effect(panel.values, [unit], controls, name, delivered.year,
                              pre_years=PRE_YEARS, post_years=POST_YEARS, confidence=confidence,
                              direction=direction, seed=seed)  # fmt: skip
    except InputError as exc:
        first = exc.problems[0] if exc.problems else None
        reason = first.key if first else exc.key
        params = dict(first.params) if first else dict(exc.params)
        return SkippedProject(code=code, reason_key=reason, params=params,
                              message=t(reason, **params), indicator=name)  # fmt: skip
    return assess_project(promised, measured, spend, programme_spend=panel.programme_spend)


def _outcome(judged: Assessment) -> IndicatorOutcome:
    promised, measured = judged.promised, judged.measured
    return IndicatorOutcome(
        indicator=promised.indicator, low=promised.low, likely=promised.likely,
        high=promised.high, estimate=measured.estimate, ci_low=measured.ci_low,
        ci_high=measured.ci_high, std_error=measured.std_error, confidence=measured.confidence,
        method=measured.method.value, n_treated=measured.n_treated,
        n_controls=measured.n_controls, dropped_controls=list(measured.dropped_controls),
        verdict=judged.verdict, cost_per_unit=judged.cost_per_unit.per_unit,
        pre_trend_ok=not measured.pretrend.violated, pre_trend_p=measured.pretrend.p_value,
    )  # fmt: skip


def _project(
    unit: str,
    stored: StoredProject,
    promised: CatalogueProject | None,
    as_of: date,
    panel: _Panel,
    settings: tuple[float, int],
) -> tuple[ProjectOutcome | None, list[SkippedProject]]:
    """A project's outcome (None when nothing of it could be measured) and what was skipped."""
    code = stored.record.code
    delivered = _delivered(stored)
    if delivered is None or delivered > as_of:
        return None, [_skip(code, "outcome.service.skip.not_delivered", day=as_of.isoformat())]
    effects = [] if promised is None else [
        e for e in promised.effects if e.framework == panel.framework_id
    ]  # fmt: skip
    if not effects:
        return None, [_skip(code, "outcome.service.skip.no_effects", framework=panel.framework_id)]
    if delivered.year + POST_YEARS > panel.last_year:
        return None, [_skip(code, "outcome.service.skip.too_recent", year=delivered.year,
                            needed=delivered.year + POST_YEARS, last=panel.last_year)]  # fmt: skip
    spend = _paid(stored, as_of)
    found = [_indicator(unit, code, e, delivered, spend, panel, settings) for e in effects]
    judged = [f for f in found if isinstance(f, Assessment)]
    skipped = [f for f in found if isinstance(f, SkippedProject)]
    if not judged:
        return None, skipped
    return ProjectOutcome(
        code=code, name_zh=stored.record.name, name_en=stored.name_en, delivered=delivered,
        spend=spend, high_spend=judged[0].high_spend,  # one spend: the same for every indicator
        verdict=min((j.verdict for j in judged), key=VERDICT_ORDER.index),
        indicators=[_outcome(j) for j in judged],
    ), skipped  # fmt: skip


def _panel(
    db: Database, unit: str, framework_id: str, as_of: date, projects: list[StoredProject]
) -> _Panel:
    """The shared inputs: values, directions, peers of the unit's level, who tracks what."""
    units = db.units()
    assert units is not None  # acting_user has checked the unit exists
    level = units.table.at[unit, "level"]
    framework = db.framework(framework_id)
    values = db.values_frame(framework_id)
    return _Panel(
        values=values,
        framework_id=framework_id,
        directions={i.code: Direction(i.direction) for i in framework.indicators},
        peers=[u for u in units.of_level(str(level)) if u != unit],
        tracking=db.outcomes.units_tracking([p.record.code for p in projects]),
        programme_spend=[_paid(p, as_of) for p in projects],
        last_year=int(values["year"].max()) if not values.empty else 0,
    )


def assess_outcomes(
    db: Database,
    unit: str,
    *,
    actor: Principal | str,
    framework_id: str = DEFAULT_FRAMEWORK,
    as_of: date | None = None,
    confidence: float = 0.9,
    seed: int = OUTCOME_SEED,
) -> OutcomeReport:
    """Assess ``unit``'s projects delivered on or before ``as_of`` (default today) and keep
    the report (audited).

    A project is delivered on the day its acceptance test (验收测试) was passed; its effects
    start the year after. For each effect the unit's catalogue promises on ``framework_id``,
    ``did_effect`` compares the unit (alone: did *our* project work?) with the units of its
    level that track no project of the same code in any status, over the delivery year and
    the two before it against the two after it, and ``assess_project`` judges the estimate
    against the promised range given the project's paid spend (net of corrections, up to
    ``as_of``) among all the unit's tracked projects' spends.

    Projects not delivered yet, without promised effects, or whose two post years are not all
    in the data yet are skipped with the reason; so is an indicator with a target band, absent
    from the data or without enough comparable units (the reason of ``did_effect``).
    The same inputs and ``seed`` give the same report.

    Raises
    ------
    AccessDenied
        A principal without PLAN_PROGRAMME on ``unit``.
    InputError
        Unknown unit, framework or a confidence outside (0, 1).
    """
    username = acting_user(db, unit, actor, Action.PLAN_PROGRAMME)
    if not 0.0 < confidence < 1.0:
        raise InputError("outcome.did.bad_confidence", confidence=confidence)
    day = as_of or date.today()
    projects = db.tracking.projects(unit, as_of=day)
    catalogue = unit_catalogue(db, unit).projects
    panel = _panel(db, unit, framework_id, day, projects)
    outcomes: list[ProjectOutcome] = []
    skipped: list[SkippedProject] = []
    for stored in projects:  # one DiD per project × indicator: each has its own window
        outcome, passed_over = _project(unit, stored, catalogue.get(stored.record.code), day,
                                        panel, (confidence, seed))  # fmt: skip
        outcomes += [outcome] if outcome is not None else []
        skipped += passed_over
    result = {"projects": [o.model_dump(mode="json") for o in outcomes],
              "skipped": [s.model_dump(mode="json") for s in skipped]}  # fmt: skip
    effects = [
        MeasuredEffect(o.code, i.indicator, i.estimate, i.std_error, i.verdict.value)
        for o in outcomes
        for i in o.indicators
    ]
    settings = {"framework_id": framework_id, "as_of": day, "confidence": confidence,
                "seed": seed}  # fmt: skip
    return _report(db.outcomes.save(unit, settings, result, effects, actor=username))


def _report(row: ReportRow) -> OutcomeReport:
    """A stored report; skip messages in the current language."""
    skipped = [
        SkippedProject.model_validate(s | {"message": t(s["reason_key"], **s["params"])})
        for s in row.result.get("skipped", [])
    ]
    return OutcomeReport(
        id=row.id, unit=row.unit, framework_id=row.framework_id, as_of=row.as_of,
        confidence=row.confidence, seed=row.seed, created_by=row.created_by,
        created_at=row.created_at,
        projects=[ProjectOutcome.model_validate(p) for p in row.result.get("projects", [])],
        skipped=skipped,
    )  # fmt: skip


def outcome_reports(db: Database, unit: str) -> list[OutcomeReportSummary]:
    """``unit``'s stored reports, newest first."""
    return [
        OutcomeReportSummary(
            id=r.id,
            unit=r.unit,
            framework_id=r.framework_id,
            as_of=r.as_of,
            created_by=r.created_by,
            created_at=r.created_at,
            projects=len(r.result.get("projects", [])),
            skipped=len(r.result.get("skipped", [])),
            verdicts=dict(Counter(p["verdict"] for p in r.result.get("projects", []))),
        )
        for r in db.outcomes.reports(unit)
    ]


def outcome_report(db: Database, report_id: int, unit: str | None = None) -> OutcomeReport:
    """A stored report (of ``unit`` when given).

    Raises
    ------
    OutcomeReportNotFoundError
        No report ``report_id`` (of ``unit``).
    """
    row = db.outcomes.report(report_id)
    if row is None or (unit is not None and row.unit != unit):
        raise OutcomeReportNotFoundError("outcome.service.not_found", report=report_id,
                                         unit=unit or "—")  # fmt: skip
    return _report(row)


__all__ = [
    "EffectChange",
    "IndicatorOutcome",
    "OutcomeReport",
    "OutcomeReportNotFoundError",
    "OutcomeReportSummary",
    "ProjectOutcome",
    "SkippedProject",
    "assess_outcomes",
    "feed_back",
    "outcome_report",
    "outcome_reports",
]
