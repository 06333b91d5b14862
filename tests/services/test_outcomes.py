"""The outcome-assessment service on both backends, on a planted panel of 31 synthetic cities:
a project with a planted effect is delivered (its CI covers the effect), an expensive one with
none is "big plan, small result", a recent one is skipped, a city running the same project is
never a control; feedback moves the catalogue ranges towards the measured effects, once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from cityloop.accounts import AccessDenied, Principal, Role
from cityloop.datahub.indicator_table import validate_values
from cityloop.errors import InputError
from cityloop.services import plan as plan_service
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services.outcomes import (
    OutcomeReportNotFoundError,
    assess_outcomes,
    feed_back,
    outcome_report,
    outcome_reports,
)
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.store import Database, Origin, OriginKind, Settings
from cityloop.store.models import AuditEntry
from cityloop.store.tracking import NewTrackedProject, Payment, ProgressChange
from cityloop.supervision import BudgetYear, GateKind, QualityGate
from cityloop.supervision.outcomes_verdict import Verdict
from tests.store.databases import BACKENDS, new_database_url

FW = "gbt33356-2016"
AS_OF = date(2026, 6, 30)
PLANTED = 22.0  # e_license promises 10–20–30 on L1P1-A1
INDICATORS = ("L1P1-A1", "L4P1-X")  # e_license's and gigabit_broadband's promised indicators
ANALYST = Principal("ann", Role.EVALUATOR)


@dataclass
class Scenario:
    db: Database
    unit: str
    rival: str  # another city that also runs gigabit_broadband: never its control
    cities: list[str]


def plant_values(db: Database, unit: str, cities: list[str]) -> None:
    """Both indicators for every city 2021–2025: a city level, a common trend and small noise;
    ``unit``'s L1P1-A1 raised by ``PLANTED`` in 2024–2025 (e_license delivered in 2023)."""
    rng = np.random.default_rng(8)
    years = np.arange(2021, 2026)
    grid = pd.MultiIndex.from_product([cities, years, INDICATORS], names=["unit", "year", "i"])
    frame = grid.to_frame(index=False).rename(columns={"i": "indicator"})
    level = pd.Series(rng.uniform(30, 50, len(cities)), index=cities)
    frame["value"] = (
        frame["unit"].map(level) + 2.0 * (frame["year"] - 2021) + rng.normal(0.0, 0.5, len(frame))
    )
    treated = (frame["unit"] == unit) & (frame["indicator"] == "L1P1-A1") & (frame["year"] > 2023)
    frame.loc[treated, "value"] += PLANTED
    frame["value"] = frame["value"].round(3)
    fw = db.framework(FW)
    table = validate_values(frame, fw, db.units(), source="planted.xlsx")
    db.upsert_values(table, fw, "fixture", Origin(OriginKind.FILE, "planted.xlsx"))


def delivered_project(code: str, name: str, start: int, delivered: date) -> NewTrackedProject:
    return NewTrackedProject(
        code=code, name_zh=name, name_en=code, domain="egov", phase="启动实施",
        owner_department=None, start_date=date(start, 1, 1),
        budget=(BudgetYear(start, 100.0),),
        gates=(QualityGate(GateKind.ACCEPTANCE_TEST, delivered),),
    )  # fmt: skip


def deliver(db: Database, unit: str, code: str, day: date, paid: float) -> None:
    change = ProgressChange(
        report_date=day,
        gates={GateKind.ACCEPTANCE_TEST: (day, False)},
        payments=[Payment(day, paid), Payment(day, 1.0)],
    )
    db.tracking.record(unit, code, change, actor="pm")
    (_, extra) = db.tracking.payments(unit, code)
    correction = ProgressChange(day, payments=[Payment(day, -1.0, corrects=extra.id)])
    db.tracking.record(unit, code, correction, actor="pm")  # net paid: ``paid``


@pytest.fixture(scope="module", params=BACKENDS)
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp(f"outcomes-{request.param}")
    for url in new_database_url(str(request.param), folder):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        store_service.load_demo(db, [FW], n_cities=31, user="fixture")
        units = db.units()
        assert units is not None
        cities = units.of_level("city")
        unit, rival = cities[0], cities[1]
        plant_values(db, unit, cities)
        runs.evaluate_stored(db, FW, actor="fixture")
        db.tracking.create(unit, [
            delivered_project("e_license", "电子证照", 2023, date(2023, 11, 30)),
            delivered_project("gigabit_broadband", "千兆光网", 2021, date(2023, 11, 30)),
            delivered_project("credit_platform", "信用平台", 2025, date(2025, 11, 30)),
            delivered_project("gov_cloud", "政务云", 2026, date(2026, 11, 30)),
        ], actor="planner")  # fmt: skip
        deliver(db, unit, "e_license", date(2023, 11, 30), 800.0)
        deliver(db, unit, "gigabit_broadband", date(2023, 11, 30), 7500.0)
        deliver(db, unit, "credit_platform", date(2025, 11, 30), 700.0)
        db.tracking.create(
            rival,
            [delivered_project("gigabit_broadband", "千兆光网", 2022, date(2024, 11, 30))],
            actor="planner",
        )
        yield Scenario(db, unit, rival, cities)
        db.dispose()


def audit_count(db: Database, entity: str) -> int:
    with db.reader() as s:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == entity)
        return int(s.scalar(query) or 0)


def test_the_report_judges_each_delivered_project_and_skips_the_rest(scenario: Scenario) -> None:
    db, unit = scenario.db, scenario.unit
    report = assess_outcomes(db, unit, actor=ANALYST, as_of=AS_OF)
    assert (report.unit, report.framework_id, report.as_of, report.created_by) == (
        unit, FW, AS_OF, "ann"
    )  # fmt: skip
    projects = {p.code: p for p in report.projects}
    assert set(projects) == {"e_license", "gigabit_broadband"}

    delivered = projects["e_license"]
    (effect,) = delivered.indicators
    assert delivered.verdict is effect.verdict is Verdict.DELIVERED
    assert effect.ci_low <= PLANTED <= effect.ci_high and effect.ci_high >= effect.likely
    assert (effect.low, effect.likely, effect.high) == (10.0, 20.0, 30.0)
    assert (delivered.spend, delivered.high_spend) == (800.0, False)
    assert effect.cost_per_unit == pytest.approx(800.0 / effect.estimate)
    # The unit against every other city: 30 controls, none dropped, placebo inference.
    assert (effect.n_treated, effect.n_controls, effect.method) == (1, 30, "placebo")

    empty = projects["gigabit_broadband"]
    (flat,) = empty.indicators
    assert empty.verdict is Verdict.BIG_PLAN_SMALL_RESULT and empty.high_spend
    assert empty.spend == 7500.0 and flat.ci_low <= 0.0 <= flat.ci_high
    # The rival city runs the same project: it is never a control.
    assert flat.n_controls == 29 and scenario.rival not in flat.dropped_controls

    skipped = {s.code: s for s in report.skipped}
    assert skipped["credit_platform"].reason_key == "outcome.service.skip.too_recent"
    assert "2027" in skipped["credit_platform"].message
    assert skipped["gov_cloud"].reason_key == "outcome.service.skip.not_delivered"


def test_reports_are_stored_audited_and_reproducible(scenario: Scenario) -> None:
    db, unit = scenario.db, scenario.unit
    before = audit_count(db, "outcome_reports")
    first = assess_outcomes(db, unit, actor="cli-user", as_of=AS_OF)
    again = assess_outcomes(db, unit, actor="cli-user", as_of=AS_OF)
    assert audit_count(db, "outcome_reports") == before + 2
    assert first.projects == again.projects and first.skipped == again.skipped
    listed = outcome_reports(db, unit)
    assert [r.id for r in listed[:2]] == [again.id, first.id]
    assert listed[0].verdicts == {"delivered": 1, "big_plan_small_result": 1}
    assert outcome_report(db, first.id) == first
    with pytest.raises(OutcomeReportNotFoundError):
        outcome_report(db, first.id, unit=scenario.rival)
    # An earlier status day: nothing was delivered yet.
    early = assess_outcomes(db, unit, actor="cli-user", as_of=date(2023, 1, 1))
    assert early.projects == [] and {s.reason_key for s in early.skipped} == {
        "outcome.service.skip.not_delivered"
    }


def test_who_may_assess_and_what_is_refused(scenario: Scenario) -> None:
    db, unit = scenario.db, scenario.unit
    with pytest.raises(AccessDenied):
        assess_outcomes(db, unit, actor=Principal("pm", Role.PROJECT_MANAGER), as_of=AS_OF)
    with pytest.raises(AccessDenied):
        feed_back(db, unit, actor=Principal("far", Role.EVALUATOR, scope=scenario.rival))
    with pytest.raises(InputError, match=r"1\.5"):
        assess_outcomes(db, unit, actor=ANALYST, as_of=AS_OF, confidence=1.5)
    with pytest.raises(InputError):
        assess_outcomes(db, "999999", actor=ANALYST, as_of=AS_OF)


def test_feedback_moves_the_ranges_once_and_the_next_plan_reads_them(scenario: Scenario) -> None:
    db, unit = scenario.db, scenario.unit
    assess_outcomes(db, unit, actor=ANALYST, as_of=AS_OF)
    gains_before = {r.code: r.score_gain for r in plan_service.score_plan(db, unit)}

    changes = {c.code: c for c in feed_back(db, unit, actor=ANALYST)}
    assert set(changes) == {"e_license", "gigabit_broadband"}
    grown, shrunk = changes["e_license"], changes["gigabit_broadband"]
    assert grown.before == (10.0, 20.0, 30.0) and grown.after[1] > 20.0
    assert abs(grown.after[1] - PLANTED) < abs(grown.before[1] - PLANTED)
    assert shrunk.before == (5.0, 10.0, 15.0) and shrunk.after[1] < 2.0
    assert grown.evidence == shrunk.evidence == 1
    catalogue = unit_catalogue(db, unit).projects
    (broadband,) = catalogue["gigabit_broadband"].effects
    assert (broadband.low, broadband.likely, broadband.high) == pytest.approx(shrunk.after)
    assert db.plan_projects.overrides(unit)["gigabit_broadband"]["effects"][0]["likely"] == (
        pytest.approx(shrunk.after[1])
    )
    audited = audit_count(db, "effect_feedback")
    assert audited == 2

    # Again with no new report: nothing changes, nothing is written.
    assert feed_back(db, unit, actor=ANALYST) == []
    assert audit_count(db, "effect_feedback") == audited
    # Another unit pools the same evidence from its own (shipped) prior.
    other = scenario.cities[5]
    (mirrored,) = [c for c in feed_back(db, other, actor="cli-user") if c.code == "e_license"]
    assert mirrored.after == pytest.approx(grown.after)

    # The next plan reads the updated catalogue: the empty project is worth less.
    gains_after = {r.code: r.score_gain for r in plan_service.score_plan(db, unit)}
    assert gains_after["gigabit_broadband"] < gains_before["gigabit_broadband"]
    assert gains_after["e_license"] >= gains_before["e_license"]
