"""The whole loop end to end on SYNTHETIC data: evaluate → needs → plan → build and supervise →
evaluate again → assess outcomes → feed back → the next plan changes because of it.

``run_demo_loop`` drives the existing services on an empty database and returns one typed record
per step with the figures docs/demo-loop.md quotes and tests/services/test_demo_loop.py asserts.
"""

from __future__ import annotations

import secrets
from datetime import date

from pydantic import BaseModel, ConfigDict

from cityloop.accounts import Principal, Role
from cityloop.demo.generator import DEFAULT_YEARS, DEMO_SEED
from cityloop.demo.loop_panel import PlantedEffect
from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.services import plan as plans
from cityloop.services import runs, survey_demo, users
from cityloop.services.demo_loop_steps import OVERSPEND, simulate_progress, write_loop_panel
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.outcomes import assess_outcomes, feed_back
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.plan_diagnosis import diagnose
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.site import DEMO_PROVINCE, first_city
from cityloop.services.store import load_demo
from cityloop.services.supervision import supervision_dashboard, track_plan
from cityloop.services.survey_results import candidate_applications_for
from cityloop.store import Database
from cityloop.supervision import Verdict

ACTOR = "demo-loop"
MANAGER = "loop_manager"  # the project manager who reports progress (created by the loop)
PLAN_YEAR = max(DEFAULT_YEARS) + 1  # 2026: the plan starts the year after the evaluation
STATUS_DATE = date(PLAN_YEAR + 1, 12, 31)  # end of phase 1 (启动实施 2026–2027)
LOOP_YEARS = tuple(range(PLAN_YEAR, PLAN_YEAR + 4))  # 2026–2029: two years after delivery
ASSESSED_ON = date(LOOP_YEARS[-1] + 1, 3, 31)  # after the last synthetic year is in
BUILT = ("gov_extranet", "gov_cloud")  # the illustrative city's existing platforms
# The scenario (docs/demo-loop.md, "The scenario"): roles of the first plan's phase-1 projects.
LAGGARDS = ("cyber_situational", "iot_platform")
OVER_BUDGET = "data_platform"
EMPTY = "spatial_platform"  # delivered, but nothing moves
PILOTED = "mobile_gov_app"  # planned for a later phase; the province's other cities pilot it
SUBSTITUTE = "utility_payments"  # same indicator (L1P7-A1), cheaper: chosen instead
PILOT_BUILT = ("gov_extranet", "gov_cloud", "sharing_exchange", "one_network_gov")
NEXT_BUDGET = 3200.0  # 万元 a year for the mid-term revision (2028–2030)
GOOD = {Verdict.DELIVERED, Verdict.WITHIN_RANGE}
EMPTY_VERDICTS = {Verdict.NO_EFFECT, Verdict.BIG_PLAN_SMALL_RESULT}


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Baseline(_Step):
    """Step 1: the demo city's evaluation in the last demo year."""

    city: str
    year: int
    run_id: int
    score: float
    rank: int
    ranked: int
    stage: str


class Needs(_Step):
    """Step 2: the needs the synthetic surveys stated (top five of the candidates). The demo
    surveys need a city with districts: ``surveyed`` is the demo city when it has any, else
    the first city that has (``survey_demo.demo_city``)."""

    surveyed: str
    year: int
    surveys: int
    candidates: int
    top: list[tuple[str, float]]


class FirstPlan(_Step):
    """Step 3: the diagnosis' emphasis and the saved first plan."""

    primary_type: str
    plan_id: int
    status: str
    first_year: int
    chosen: int
    phase_one: list[str]
    within_budget: bool
    piloted_start: int | None


class Build(_Step):
    """Step 4: tracked projects, the simulated progress and each project's planted role."""

    tracked: int
    manager: str
    delivered: list[str]
    laggards: list[str]
    over_budget: str
    empty: str
    in_progress: list[str]
    pilots: list[str]


class Planted(_Step):
    """An improvement planted in one indicator of the synthetic data by the delivered
    ``projects`` (their catalogue likely effects added up) and how much of it reached the
    values (less where the value hit its ceiling), averaged over the years from ``first_year``."""

    unit: str
    projects: list[str]
    indicator: str
    first_year: int
    planted: float
    reached: float


class SecondEvaluation(_Step):
    """Step 5: the synthetic years written and the city's evaluation in the last of them."""

    years: list[int]
    rows: int
    planted: list[Planted]
    run_id: int
    year: int
    score: float
    rank: int
    stage: str


class Supervision(_Step):
    """Step 6: the dashboard at the end of phase 1 — which projects warn, and of what."""

    status_date: date
    warnings: dict[str, list[str]]
    delayed: list[str]
    overspent: list[str]
    quiet: list[str]


class Verdicts(_Step):
    """Step 7: the outcome assessment of the city (and the pilots' of the piloted project)."""

    report_id: int
    verdicts: dict[str, str]
    estimates: dict[str, list[tuple[str, float, float, float]]]
    skipped: list[str]
    pilot_verdicts: dict[str, str]


class NextPlan(_Step):
    """Step 8: feedback into the catalogue and the next plan with and without it."""

    changes: int
    piloted_before: tuple[float, float, float]
    piloted_after: tuple[float, float, float]
    without_feedback: list[str]
    with_feedback: list[str]
    dropped: list[str]
    added: list[str]
    gain_without: float
    gain_with: float


class LoopResult(_Step):
    """Every step of the loop, in order; all figures SYNTHETIC."""

    seed: int
    cities: int
    baseline: Baseline
    needs: Needs
    plan: FirstPlan
    build: Build
    second: SecondEvaluation
    supervision: Supervision
    assessment: Verdicts
    next_plan: NextPlan


def _scores(db: Database, run_id: int, city: str) -> tuple[int, float, int, int, str]:
    """(year, score, rank, units ranked, stage) of ``city``'s overall score in the run's last
    year."""
    table = db.run_scores(run_id, max_level=0)
    table = table[(table["node"] == TOTAL) & table["score"].notna()]
    year = int(table["year"].max())
    mine = table[(table["unit"] == city) & (table["year"] == year)].iloc[0]
    ranked = int(table[table["year"] == year]["ranked"].max())
    return year, float(mine["score"]), int(mine["rank"]), ranked, str(mine["stage"])


def _need(condition: bool, what: str) -> None:
    """Stop the loop with a clear message when the synthetic scenario did not come out."""
    if not condition:
        raise CityLoopError("demoloop.scenario_broken", what=what)


def _plan_first(db: Database, city: str) -> tuple[FirstPlan, plans.SavedPlan]:
    report = diagnose(db, city)
    settings = PlanSettings(built=BUILT)
    view = plans.solve_plan(db, city, settings)
    saved = plans.save_plan(db, view, settings, f"{PLAN_YEAR}—{PLAN_YEAR + 4} 演示规划（合成）",
                            actor=ACTOR)  # fmt: skip
    first = view.phase_names[0]
    piloted = next((p.start_year for p in view.chosen if p.code == PILOTED), None)
    return FirstPlan(
        primary_type=report.primary, plan_id=saved.id, status=view.status,
        first_year=view.first_year, chosen=len(view.chosen),
        phase_one=[p.code for p in view.chosen if p.phase == first],
        within_budget=all(y.budget_used <= y.budget_available + 1e-6 for y in view.years),
        piloted_start=piloted,
    ), saved  # fmt: skip


def _pilot(db: Database, unit: str, manager: Principal) -> None:
    """A pilot city runs the piloted project alone, on time, in the plan's first years."""
    cost = unit_catalogue(db, unit).projects[PILOTED].cost
    settings = PlanSettings(first_year=PLAN_YEAR, phase_years=(len(cost),), budget=tuple(cost),
                            built=PILOT_BUILT, mandatory=(PILOTED,))  # fmt: skip
    view = plans.solve_plan(db, unit, settings)
    _need([p.code for p in view.chosen] == [PILOTED], f"pilot plan of {unit}")
    saved = plans.save_plan(db, view, settings, "试点（合成） pilot (synthetic)", actor=ACTOR)
    track_plan(db, saved.id, actor=manager.username)
    simulate_progress(db, db.tracking.project(unit, PILOTED), manager, STATUS_DATE)


def run_demo_loop(
    db: Database, *, seed: int = DEMO_SEED, n_cities: int = 62, password: str | None = None
) -> LoopResult:
    """Run the loop on the empty database ``db`` and return each step's figures.

    ``password`` is the created project manager's (a random one when None).

    Raises
    ------
    CityLoopError
        ``demoloop.not_empty`` when ``db`` holds regions already; ``demoloop.scenario_broken``
        when the synthetic scenario does not come out as designed (another seed or size).
    """
    db.upgrade()
    if db.units() is not None:
        raise CityLoopError("demoloop.not_empty", url=db.url)
    load_demo(db, [DEFAULT_FRAMEWORK], n_cities=n_cities, seed=seed, user=ACTOR)
    run_id, _ = runs.evaluate_stored(db, DEFAULT_FRAMEWORK, actor=ACTOR)
    city = first_city(db)
    year, score, rank, ranked, stage = _scores(db, run_id, city)
    baseline = Baseline(city=city, year=year, run_id=run_id, score=score, rank=rank,
                        ranked=ranked, stage=stage)  # fmt: skip

    surveys = survey_demo.load_demo_surveys(db, year, actor=ACTOR, unit=city, seed=seed)
    candidates = candidate_applications_for(db, surveys.unit, year).candidates
    needs = Needs(surveyed=surveys.unit, year=year, surveys=len(surveys.surveys),
                  candidates=len(candidates),
                  top=[(c.code, round(float(c.demand), 2)) for c in candidates[:5]])  # fmt: skip

    first, saved = _plan_first(db, city)
    phase_one = saved.view.chosen
    finish = {p.code: p.finish_year for p in phase_one}
    for code in (*LAGGARDS, OVER_BUDGET, EMPTY):
        _need(code in first.phase_one and finish[code] == STATUS_DATE.year, f"{code} in phase 1")
    _need(first.piloted_start is not None and first.piloted_start > STATUS_DATE.year,
          f"{PILOTED} planned for a later phase")  # fmt: skip

    secret = password or f"Loop-{secrets.token_hex(8)}"
    users.add_user(db, MANAGER, secret, Role.PROJECT_MANAGER, DEMO_PROVINCE, actor=ACTOR)
    manager = Principal(MANAGER, Role.PROJECT_MANAGER, scope=DEMO_PROVINCE)
    tracked = track_plan(db, saved.id, actor=MANAGER)
    started = [p for p in db.tracking.projects(city) if p.record.start_date <= STATUS_DATE]
    for project in started:
        code = project.record.code
        simulate_progress(db, project, manager, STATUS_DATE, late=code in LAGGARDS,
                          spend_factor=OVERSPEND if code == OVER_BUDGET else 1.0)  # fmt: skip
    delivered = sorted(p.code for p in phase_one
                       if p.finish_year == STATUS_DATE.year and p.code not in LAGGARDS)  # fmt: skip
    in_progress = sorted(c for c in (p.record.code for p in started)
                         if c not in delivered and c not in LAGGARDS)  # fmt: skip
    units = db.units()
    assert units is not None
    pilots = [c for c in units.of_level("city") if c != city
              and units.table.at[c, "parent"] == DEMO_PROVINCE]  # fmt: skip
    for pilot in pilots:
        _pilot(db, pilot, manager)
    build = Build(tracked=len(tracked), manager=MANAGER, delivered=delivered,
                  laggards=list(LAGGARDS), over_budget=OVER_BUDGET, empty=EMPTY,
                  in_progress=in_progress, pilots=pilots)  # fmt: skip

    catalogue = unit_catalogue(db, city).projects
    promised: dict[str, float] = {}
    for code in delivered:
        for e in catalogue[code].effects:
            if code != EMPTY and e.framework == DEFAULT_FRAMEWORK:
                promised[e.indicator] = promised.get(e.indicator, 0.0) + e.likely
    planted = [PlantedEffect(city, i, STATUS_DATE.year + 1, v) for i, v in promised.items()]
    owners: dict[str, list[str]] = {}
    for code in delivered:
        for e in catalogue[code].effects:
            if code != EMPTY:
                owners.setdefault(e.indicator, []).append(code)
    written = write_loop_panel(db, DEFAULT_FRAMEWORK, LOOP_YEARS, planted, seed=seed, actor=ACTOR)
    run_2, _ = runs.evaluate_stored(db, DEFAULT_FRAMEWORK, actor=ACTOR)
    year_2, score_2, rank_2, _, stage_2 = _scores(db, run_2, city)
    second = SecondEvaluation(
        years=list(written.years), rows=written.rows, run_id=run_2, year=year_2, score=score_2,
        rank=rank_2, stage=stage_2,
        planted=[Planted(unit=e.unit, projects=owners[e.indicator], indicator=e.indicator,
                         first_year=e.first_year, planted=e.improvement, reached=round(r, 4))
                 for e, r in written.planted],
    )  # fmt: skip

    board = supervision_dashboard(db, city, STATUS_DATE)
    warned: dict[str, list[str]] = {}
    for w in board.warnings:
        warned.setdefault(w.project, []).append(w.kind)
    supervision = Supervision(
        status_date=STATUS_DATE, warnings={k: sorted(set(v)) for k, v in warned.items()},
        delayed=sorted(k for k, v in warned.items() if "delay" in v),
        overspent=sorted(k for k, v in warned.items() if "overspend" in v),
        quiet=sorted(p.code for p in board.projects if p.code not in warned),
    )  # fmt: skip

    report = assess_outcomes(db, city, actor=ACTOR, as_of=ASSESSED_ON, seed=seed)
    pilot_verdicts: dict[str, str] = {}
    for pilot in pilots:
        done = assess_outcomes(db, pilot, actor=ACTOR, as_of=ASSESSED_ON, seed=seed)
        pilot_verdicts.update((pilot, o.verdict.value) for o in done.projects if o.code == PILOTED)
    assessment = Verdicts(
        report_id=report.id,
        verdicts={o.code: o.verdict.value for o in report.projects},
        estimates={o.code: [(i.indicator, round(i.estimate, 3), round(i.ci_low, 3),
                             round(i.ci_high, 3)) for i in o.indicators]
                   for o in report.projects},
        skipped=sorted({s.code for s in report.skipped}), pilot_verdicts=pilot_verdicts,
    )  # fmt: skip
    return LoopResult(seed=seed, cities=n_cities, baseline=baseline, needs=needs, plan=first,
                      build=build, second=second, supervision=supervision,
                      assessment=assessment, next_plan=_next_plan(db, city, delivered))  # fmt: skip


def _bounds(db: Database, city: str) -> tuple[float, float, float]:
    effect = unit_catalogue(db, city).projects[PILOTED].effects[0]
    return (effect.low, effect.likely, effect.high)


def _next_plan(db: Database, city: str, delivered: list[str]) -> NextPlan:
    """The mid-term revision (2028–2030) solved before and after feeding the outcomes back:
    delivered projects count as built, the laggards and unfinished projects must be finished."""
    unfinished = tuple(
        p.record.code for p in db.tracking.projects(city)
        if p.record.start_date <= STATUS_DATE and p.record.code not in delivered
    )  # fmt: skip
    settings = PlanSettings(first_year=STATUS_DATE.year + 1, phase_years=(2, 1),
                            budget=(NEXT_BUDGET,), built=(*BUILT, *delivered),
                            mandatory=unfinished)  # fmt: skip
    before = _bounds(db, city)
    without = plans.solve_plan(db, city, settings)
    changes = feed_back(db, city, actor=ACTOR)
    after = _bounds(db, city)
    revised = plans.solve_plan(db, city, settings)
    a, b = {p.code for p in without.chosen}, {p.code for p in revised.chosen}
    return NextPlan(
        changes=len(changes), piloted_before=before, piloted_after=after,
        without_feedback=sorted(a), with_feedback=sorted(b), dropped=sorted(a - b),
        added=sorted(b - a), gain_without=without.gain_total, gain_with=revised.gain_total,
    )  # fmt: skip


__all__ = ["LoopResult", "run_demo_loop"]
