"""The supervision service on both backends: a saved plan becomes tracked projects by the rule,
progress reports are audited and refused whole (or for a foreign project manager), and the
dashboard agrees with the pure functions and warns on a planted late, overspent project."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from cityloop.accounts import AccessDenied, Principal, Role
from cityloop.errors import InputError
from cityloop.planning.project_catalogue import load_catalogue
from cityloop.services import plan as plan_service
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services import supervision as service
from cityloop.services.plan_catalogue import unit_catalogue
from cityloop.services.plan_settings import PlanSettings
from cityloop.store import Database, Settings
from cityloop.store.models import AuditEntry
from cityloop.store.tracking import TrackedProjectNotFoundError
from cityloop.supervision import (
    GateKind,
    WarningKind,
    early_warnings,
    earned_value,
    link_flags,
    spending_split,
)
from tests.store.databases import BACKENDS, new_database_url

FW = "gbt33356-2016"
SETTINGS = PlanSettings(budget=(20000.0,), staff=(100.0,))
OWNER = "data_bureau"
ADMIN = Principal("root", Role.ADMINISTRATOR)
MANAGER = Principal("mia", Role.PROJECT_MANAGER, department=OWNER)
FOREIGN = Principal("finn", Role.PROJECT_MANAGER, department="public_security")


@dataclass
class Tracked:
    db: Database
    unit: str
    plan: plan_service.SavedPlan
    added: list[str]


@pytest.fixture(scope="module", params=BACKENDS)
def tracked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracked]:
    folder = tmp_path_factory.mktemp(f"supervision-{request.param}")
    for url in new_database_url(str(request.param), folder):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        store_service.load_demo(db, [FW], n_cities=31, user="fixture")
        runs.evaluate_stored(db, FW, actor="fixture")
        units = db.units()
        assert units is not None
        unit = units.of_level("city")[0]
        view = plan_service.solve_plan(db, unit, SETTINGS)
        saved = plan_service.save_plan(db, view, SETTINGS, "2026—2030 规划", actor="planner")
        owners = {p.code: OWNER for p in view.chosen[::2]}
        added = service.track_plan(db, saved.id, actor="planner", owner_departments=owners)
        yield Tracked(db, unit, saved, added)
        db.dispose()


def audit_rows(db: Database) -> int:
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_a_saved_plan_becomes_tracked_projects_by_the_rule(tracked: Tracked) -> None:
    db, unit, chosen = tracked.db, tracked.unit, tracked.plan.view.chosen
    assert len(chosen) >= 3 and sorted(tracked.added) == sorted(p.code for p in chosen)
    projects = {p.record.code: p for p in service.tracked(db, unit)}
    catalogue = unit_catalogue(db, unit).projects
    for row in chosen:
        stored = projects[row.code]
        p = stored.record
        assert stored.plan_id == tracked.plan.id and stored.created_by == "planner"
        assert (p.phase, p.domain, p.plan_types) == (row.phase, row.domain, tuple(row.plan_types))
        assert p.start_date == date(row.start_year or 0, 1, 1)
        years = range(row.start_year or 0, (row.finish_year or 0) + 1)
        assert [(b.year, b.planned_cost) for b in p.budget] == list(
            zip(years, row.cost, strict=True)
        )
        assert [(m.name, m.planned_date, m.planned_value) for m in p.milestones] == [
            (f"第{k}年建设完成", date(y, 12, 31), c)
            for k, (y, c) in enumerate(zip(years, row.cost, strict=True), start=1)
        ]
        finish = row.finish_year or 0
        assert {g.kind: g.planned_date for g in p.gates} == {
            GateKind.DESIGN_REVIEW: date(p.start_date.year, 3, 1),
            GateKind.SECURITY_ASSESSMENT: date(finish, 10, 31),
            GateKind.ACCEPTANCE_TEST: date(finish, 11, 30),
            GateKind.TRIAL_OPERATION: date(finish + 1, 3, 31),
        }
        expected = catalogue[row.code]
        assert set(p.indicators) == {e.indicator for e in expected.effects}
        assert p.needs == expected.applications
    assert {projects[c].owner_department for c in (p.code for p in chosen[::2])} == {OWNER}
    assert projects[chosen[1].code].owner_department is None
    # Tracking the same plan again adds nothing, writes nothing, and says so.
    before = audit_rows(db)
    assert service.track_plan(db, tracked.plan.id, actor="planner") == []
    assert audit_rows(db) == before
    assert "未新增" in service.tracking_summary([])
    with pytest.raises(InputError, match="no_such"):
        service.track_plan(db, tracked.plan.id, actor="x", owner_departments={"no_such": OWNER})


def test_progress_is_audited_and_a_foreign_manager_changes_nothing(tracked: Tracked) -> None:
    db, unit = tracked.db, tracked.unit
    code = tracked.plan.view.chosen[0].code  # owned by OWNER
    start = db.tracking.project(unit, code).record.start_date
    report = date(start.year, 6, 30)
    update = {
        "report_date": report.isoformat(),
        "milestones": [{"position": 1, "percent_complete": 40}],
        "gates": [{"kind": "design_review", "passed_date": date(start.year, 3, 10).isoformat()}],
        "spend": [{"day": date(start.year, 2, 1).isoformat(), "amount": 50.5, "note": "预付款"}],
        "risks": [{"text": "供应商延期", "level": "high"}],
    }
    rows, audits = db.row_counts(), audit_rows(db)
    with pytest.raises(AccessDenied) as refused:
        service.update_progress(db, unit, code, update, actor=FOREIGN)
    assert "public_security" in refused.value.render() and code in refused.value.render()
    with pytest.raises(AccessDenied):
        service.update_progress(db, unit, code, update, actor=Principal("v", Role.VIEWER))
    assert (db.row_counts(), audit_rows(db)) == (rows, audits)

    after = service.update_progress(db, unit, code, update, actor=MANAGER)
    p = after.record
    assert p.milestones[0].percent_complete == 40 and p.last_update == report
    assert {g.kind: g.passed_date for g in p.gates}[GateKind.DESIGN_REVIEW].month == 3
    assert [(s.day.month, s.amount) for s in p.spend] == [(2, 50.5)]
    assert [(r.text, r.level) for r in p.risks] == [("供应商延期", "high")]
    with db.reader() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.id > 0)
                                 .order_by(AuditEntry.id.desc()).limit(4)))  # fmt: skip
    assert {e.action for e in entries} == {"progress", "gates", "spend", "risk"}
    assert all(e.actor == "mia" and e.entity_id == f"{unit}/{code}" for e in entries)
    progress = next(e for e in entries if e.action == "progress")
    assert progress.before and progress.after
    assert progress.before["milestones"][0]["percent_complete"] == 0
    assert progress.after["milestones"][0]["percent_complete"] == 40

    # A correction is a new, negative entry that counts on the corrected payment's day.
    (paid,) = db.tracking.payments(unit, code)
    fix = {"report_date": report.isoformat(),
           "spend": [{"day": report.isoformat(), "amount": -0.5, "corrects": paid.id}]}  # fmt: skip
    p = service.update_progress(db, unit, code, fix, actor=MANAGER).record
    assert [(s.day.month, s.amount) for s in p.spend] == [(2, 50.0)]
    assert [e.amount for e in db.tracking.payments(unit, code)] == [50.5, -0.5]

    # Bad reports are refused whole, naming each fault.
    rows, audits = db.row_counts(), audit_rows(db)
    bad = {"report_date": report.isoformat(), "percent_complete": 150,
           "spend": [{"day": "2027-13-01", "amount": 1}]}  # fmt: skip
    with pytest.raises(InputError) as wrong:
        service.update_progress(db, unit, code, bad, actor=MANAGER)
    assert {p.location.column for p in wrong.value.problems} == {"percent_complete",
                                                                 "spend.1.day"}  # fmt: skip
    unknown = {"report_date": report.isoformat(), "milestones": [{"position": 99}],
               "spend": [{"day": report.isoformat(), "amount": -5.0}, {"day": report.isoformat(),
                          "amount": -80.0, "corrects": paid.id}]}  # fmt: skip
    with pytest.raises(InputError) as wrong:
        service.update_progress(db, unit, code, unknown, actor=MANAGER)
    assert [p.key for p in wrong.value.problems] == [
        "supervision.store.unknown_milestone",
        "supervision.store.payment_not_positive",
        "supervision.store.correction_too_large",
    ]
    twice = {"report_date": report.isoformat(),
             "gates": [{"kind": "design_review"}, {"kind": "design_review"}]}  # fmt: skip
    with pytest.raises(InputError, match="两次"):
        service.update_progress(db, unit, code, twice, actor=MANAGER)
    with pytest.raises(TrackedProjectNotFoundError):
        service.update_progress(db, unit, "no_such", {"report_date": "2027-01-01"}, actor=ADMIN)
    assert (db.row_counts(), audit_rows(db)) == (rows, audits)


def test_a_manager_may_update_a_project_they_started_tracking(tracked: Tracked) -> None:
    db, unit = tracked.db, tracked.unit
    code = tracked.plan.view.chosen[1].code  # no owner department
    start = db.tracking.project(unit, code).record.start_date
    update = {"report_date": start.isoformat(), "percent_complete": 5}
    with pytest.raises(AccessDenied):
        service.update_progress(db, unit, code, update, actor=MANAGER)
    planner = Principal("planner", Role.PROJECT_MANAGER)
    assert (
        service.update_progress(db, unit, code, update, actor=planner).record.percent_complete == 5
    )


def test_the_dashboard_agrees_with_the_pure_functions_and_warns_on_the_planted_project(
    tracked: Tracked,
) -> None:
    db, unit = tracked.db, tracked.unit
    late = tracked.plan.view.chosen[2].code
    p = db.tracking.project(unit, late).record
    year, first = p.start_date.year, p.milestones[0]
    status = date(year + 1, 1, 31)  # a month after the first milestone was due
    # Planted: 20 % of the first milestone done, and 90 % of its value already paid.
    service.update_progress(db, unit, late, {
        "report_date": date(year, 12, 20).isoformat(),
        "milestones": [{"position": 1, "percent_complete": 20}],
        "spend": [{"day": date(year, 12, 1).isoformat(), "amount": 0.9 * first.planned_value}],
    }, actor=ADMIN)  # fmt: skip
    board = service.supervision_dashboard(db, unit, status)
    records = [s.record for s in service.tracked(db, unit, as_of=status)]
    assert [line.code for line in board.projects] == [r.code for r in records]
    figures = earned_value(records, [status])
    for name in ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "tcpi"):
        got = np.array([getattr(line.figures, name) for line in board.projects])
        want = figures.bac if name == "bac" else getattr(figures, name)[:, 0]
        np.testing.assert_allclose(got, want, equal_nan=True)
    assert board.total is not None
    assert board.total.pv == pytest.approx(float(figures.pv.sum()))
    assert sum(g.figures.ev for g in board.phases) == pytest.approx(float(figures.ev.sum()))
    assert {g.group for g in board.domains} == {r.domain for r in records}
    rules = service.supervision_rules()
    expected = early_warnings(records, status, rules.warnings)
    assert [(w.project, w.kind, w.key) for w in board.warnings] == [
        (w.project, w.kind.value, w.key) for w in expected
    ]
    planted = {w.kind for w in board.warnings if w.project == late}
    assert {WarningKind.DELAY, WarningKind.OVERSPEND} <= planted
    line = next(line for line in board.projects if line.code == late)
    assert line.light == "red" and line.figures.spi < 0.8 and line.figures.cpi < 0.8
    assert any(w.message and late in w.message for w in board.warnings)
    assert len(board.boundary) == len(link_flags(records, load_catalogue().domains.keys()))
    planned = spending_split(records, rules.boundary, basis="planned")
    assert board.spending[0].infrastructure == pytest.approx(planned.infrastructure)
    # A day before the report the project was not yet known to lag: the dashboard of then.
    before = service.supervision_dashboard(db, unit, date(year, 12, 19))
    then = next(line for line in before.projects if line.code == late)
    assert then.figures.ev == 0 and then.last_update == p.start_date
    empty = service.supervision_dashboard(db, "no_such_unit", status)
    assert empty.projects == [] and empty.total is None


def test_a_backup_of_the_tracked_programme_restores_to_the_same_dashboard(
    tracked: Tracked, tmp_path: Path
) -> None:
    db, unit = tracked.db, tracked.unit
    status = date(tracked.plan.view.first_year + 1, 6, 30)
    store_service.backup(db, tmp_path / "a.zip")
    for url in new_database_url(db.engine.dialect.name, tmp_path):
        other = Database.open(Settings(database_url=url))
        try:
            store_service.restore(other, tmp_path / "a.zip")
            assert other.row_counts() == db.row_counts()
            restored = service.supervision_dashboard(other, unit, status)
            # As JSON: NaN figures (e.g. EAC with no work earned) never equal themselves.
            assert restored.model_dump_json() == (
                service.supervision_dashboard(db, unit, status).model_dump_json()
            )
            assert [p.record for p in service.tracked(other, unit)] == [
                p.record for p in service.tracked(db, unit)
            ]
        finally:
            other.dispose()
