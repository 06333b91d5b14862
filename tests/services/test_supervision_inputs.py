"""Baseline changes and the Excel progress workbook on both backends: a change is audited with
its reason, refused whole (reason missing, completed milestone, foreign manager); a filled
workbook round-trips into stored figures, and any bad row or formula writes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cityloop.accounts import AccessDenied, Principal, Role
from cityloop.errors import InputError
from cityloop.services import plan as plan_service
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services import supervision as service
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.supervision_baseline import change_baseline
from cityloop.services.supervision_excel import progress_template, upload_progress
from cityloop.services.supervision_view import project_detail
from cityloop.store import Database, Settings
from cityloop.store.models import AuditEntry, ProgressReport, ProjectSpend
from tests.store.databases import BACKENDS, new_database_url

FW = "gbt33356-2016"
SETTINGS = PlanSettings(budget=(20000.0,), staff=(100.0,))
OWNER = "data_bureau"
ADMIN = Principal("root", Role.ADMINISTRATOR)
MANAGER = Principal("mia", Role.PROJECT_MANAGER, department=OWNER)
FOREIGN = Principal("finn", Role.PROJECT_MANAGER, department="public_security")
TODAY = date(2027, 6, 30)


@dataclass
class Programme:
    db: Database
    unit: str
    owned: list[str]  # owned by OWNER
    others: list[str]


@pytest.fixture(scope="module", params=BACKENDS)
def programme(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Programme]:
    folder = tmp_path_factory.mktemp(f"supervision-inputs-{request.param}")
    for url in new_database_url(str(request.param), folder):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        store_service.load_demo(db, [FW], n_cities=31, user="fixture")
        runs.evaluate_stored(db, FW, actor="fixture")
        units = db.units()
        assert units is not None
        unit = units.of_level("city")[0]
        view = plan_service.solve_plan(db, unit, SETTINGS)
        saved = plan_service.save_plan(db, view, SETTINGS, "规划", actor="planner")
        owned = [p.code for p in view.chosen[::2]]
        service.track_plan(
            db, saved.id, actor="planner", owner_departments=dict.fromkeys(owned, OWNER)
        )
        others = [p.code for p in view.chosen[1::2]]
        yield Programme(db, unit, owned, others)
        db.dispose()


def count(db: Database, model: type) -> int:
    with db.reader() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_baseline_change_is_applied_and_audited_with_its_reason(programme: Programme) -> None:
    db, unit, code = programme.db, programme.unit, programme.owned[0]
    before = db.tracking.project(unit, code)
    first = before.record.milestones[0]
    result = change_baseline(db, unit, code, {
        "reason": "  需求变更，延期两个月 ",
        "milestones": [
            {"position": before.milestone_positions[0], "name": "一期上线",
             "due": first.planned_date.replace(month=2, day=28).isoformat()},
            {"name": "二期验收", "due": first.planned_date.isoformat(), "value": 12.5},
        ],
        "budget": [{"year": before.record.budget[0].year, "planned_cost": 777.0}],
        "risks": [{"text": "供应商交付延迟", "level": "high"}],
    }, actor=MANAGER)  # fmt: skip
    assert result.changed == ["budget", "milestones", "risks"]
    after = result.project
    assert after.record.milestones[0].name == "一期上线"
    assert after.record.milestones[-1].planned_value == 12.5
    assert after.milestone_positions[-1] == max(before.milestone_positions) + 1
    assert after.record.budget[0].planned_cost == 777.0
    assert [(r.text, r.level.value) for r in after.record.risks] == [("供应商交付延迟", "high")]
    with db.reader() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "baseline")
                          .order_by(AuditEntry.id.desc())).first()  # fmt: skip
    assert audit is not None and audit.entity_id == f"{unit}/{code}"
    assert audit.after["reason"] == "需求变更，延期两个月"
    assert audit.before["budget"][0][1] == before.record.budget[0].planned_cost
    assert audit.after["budget"][0][1] == 777.0
    # Close the risk, re-level nothing else: only the register changes.
    risk = after.risk_ids[0]
    closed = change_baseline(db, unit, code, {"reason": "风险已消除",
                                              "risks": [{"id": risk, "close": True}]},
                             actor=ADMIN)  # fmt: skip
    assert closed.changed == ["risks"] and closed.project.record.risks == ()
    # Off the register, kept on record: the closed risk, the day and who closed it.
    (kept,) = closed.project.closed_risks
    assert (kept.text, kept.level.value, kept.closed_on) == ("供应商交付延迟", "high", date.today())
    assert kept.closed_by == ADMIN.username
    detail = project_detail(db, unit, code, date.today())
    assert [(c.text, c.closed_by) for c in detail.closed_risks] == [
        ("供应商交付延迟", ADMIN.username)
    ]
    assert detail.risks == []
    with pytest.raises(InputError) as twice:  # a closed risk is no longer on the register
        change_baseline(db, unit, code, {"reason": "再关", "risks": [{"id": risk, "close": True}]},
                        actor=ADMIN)  # fmt: skip
    assert [p.key for p in twice.value.problems] == ["supervision.baseline.unknown_risk"]
    same = change_baseline(db, unit, code, {"reason": "无变化"}, actor=ADMIN)
    assert same.changed == []


def test_a_change_without_reason_or_removing_a_completed_milestone_writes_nothing(
    programme: Programme,
) -> None:
    db, unit, code = programme.db, programme.unit, programme.owned[1]
    p = db.tracking.project(unit, code)
    position = p.milestone_positions[0]
    service.update_progress(db, unit, code, {
        "report_date": p.record.start_date.isoformat(),
        "milestones": [{"position": position, "percent_complete": 100,
                        "completed_date": p.record.start_date.isoformat()}],
    }, actor=MANAGER)  # fmt: skip
    audits = count(db, AuditEntry)
    with pytest.raises(InputError) as no_reason:
        change_baseline(db, unit, code, {"reason": "  ", "owner_department": ""}, actor=ADMIN)
    assert any(p.location.column == "reason" for p in no_reason.value.problems)
    with pytest.raises(InputError) as done:
        change_baseline(db, unit, code, {"reason": "取消", "owner_department": "",
                                         "milestones": [{"position": position, "remove": True}]},
                        actor=ADMIN)  # fmt: skip
    assert [p.key for p in done.value.problems] == ["supervision.baseline.completed_milestone"]
    with pytest.raises(InputError) as early:
        change_baseline(
            db,
            unit,
            code,
            {
                "reason": "负数",
                "budget": [{"year": p.record.budget[0].year, "planned_cost": 1.0}],
                "milestones": [{"name": "太早", "due": "1999-01-01", "value": 1}],
            },
            actor=ADMIN,
        )
    assert early.value.key == "supervision.input.invalid"
    assert count(db, AuditEntry) == audits
    assert db.tracking.project(unit, code).record.budget == p.record.budget


def test_a_foreign_manager_cannot_change_a_baseline(programme: Programme) -> None:
    db, unit, code = programme.db, programme.unit, programme.owned[0]
    with pytest.raises(AccessDenied):
        change_baseline(db, unit, code, {"reason": "x", "owner_department": ""}, actor=FOREIGN)
    assert db.tracking.project(unit, code).owner_department == OWNER


def fill(workbook: bytes, edits: dict[str, list[tuple[int, str, object]]]) -> bytes:
    """Set cells (row, column letter, value) on sheets named by title."""
    book = load_workbook(io.BytesIO(workbook))
    for title, cells in edits.items():
        for row, column, value in cells:
            book[title][f"{column}{row}"] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_workbook_round_trips_into_stored_progress_and_earned_value(
    programme: Programme,
) -> None:
    db, unit = programme.db, programme.unit
    template = progress_template(db, unit, actor=MANAGER, today=TODAY)
    book = load_workbook(io.BytesIO(template), read_only=True)
    assert book.sheetnames == ["进度", "里程碑", "质量关口", "支出", "风险"]
    codes = [r[0] for r in book["进度"].iter_rows(min_row=2, values_only=True)]
    assert sorted(codes) == sorted(programme.owned)  # a manager sees only their own
    english = load_workbook(
        io.BytesIO(progress_template(db, unit, actor=ADMIN, lang="en", today=TODAY)), read_only=True
    )
    assert english.sheetnames[0] == "progress" and english["progress"].max_row > len(codes)
    # Unchanged: uploading the template as it is records nothing.
    reports = count(db, ProgressReport)
    untouched = upload_progress(db, unit, template, "p.xlsx", actor=MANAGER)
    assert untouched.applied == [] and sorted(untouched.unchanged) == sorted(programme.owned)
    assert count(db, ProgressReport) == reports
    code = codes[-1]
    row = codes.index(code) + 2
    filled = fill(template, {"进度": [(row, "D", 40)],
                             "支出": [(2, "A", code), (2, "B", "2027-05-01"), (2, "C", 321.5),
                                      (2, "D", "首付款")]})  # fmt: skip
    done = upload_progress(db, unit, filled, "p.xlsx", actor=MANAGER)
    assert done.applied == [code]
    p = db.tracking.project(unit, code)
    assert p.record.percent_complete == 40
    assert [(e.day, e.amount) for e in db.tracking.payments(unit, code)] == [
        (date(2027, 5, 1), 321.5)
    ]
    board = service.supervision_dashboard(db, unit, TODAY)
    (line,) = [x for x in board.projects if x.code == code]
    assert line.figures.ac == pytest.approx(321.5)
    # The same workbook again: the payment is already stored, nothing is written twice.
    again = upload_progress(db, unit, filled, "p.xlsx", actor=MANAGER)
    assert again.applied == [] and count(db, ProjectSpend) == 1


def test_a_formula_or_a_bad_row_anywhere_writes_nothing(programme: Programme) -> None:
    db, unit = programme.db, programme.unit
    template = progress_template(db, unit, actor=ADMIN, today=TODAY)
    before = (count(db, ProgressReport), count(db, ProjectSpend), count(db, AuditEntry))
    formula = fill(template, {"进度": [(2, "D", 50)], "支出": [(2, "A", programme.owned[0]),
                              (2, "B", "2027-05-01"), (2, "C", "=1+2")]})  # fmt: skip
    with pytest.raises(InputError) as exc:
        upload_progress(db, unit, formula, "f.xlsx", actor=ADMIN)
    (problem,) = exc.value.problems
    assert (problem.key, problem.location.sheet, problem.location.row, problem.location.column) == (
        "supervision.sheet.formula",
        "支出",
        2,
        "amount",
    )
    bad = fill(template, {"进度": [(2, "D", 50), (3, "D", "很多")]})
    with pytest.raises(InputError) as exc:
        upload_progress(db, unit, bad, "b.xlsx", actor=ADMIN)
    assert [(p.location.row, p.location.column) for p in exc.value.problems] == [
        (3, "percent_complete")
    ]
    over = fill(template, {"进度": [(2, "D", 50), (3, "D", 140)]})
    with pytest.raises(InputError):
        upload_progress(db, unit, over, "o.xlsx", actor=ADMIN)
    with pytest.raises(InputError) as csv:
        upload_progress(db, unit, "项目编码,完成百分比\n".encode("gbk"), "p.csv", actor=ADMIN)
    assert csv.value.key == "supervision.sheet.unreadable"
    with pytest.raises(InputError) as big:
        upload_progress(db, unit, b"x" * (10 * 1024 * 1024 + 1), "big.xlsx", actor=ADMIN)
    assert big.value.key == "supervision.upload.too_large"
    assert (count(db, ProgressReport), count(db, ProjectSpend), count(db, AuditEntry)) == before


def test_a_manager_uploading_a_foreign_project_is_refused_naming_the_row(
    programme: Programme,
) -> None:
    db, unit = programme.db, programme.unit
    template = progress_template(db, unit, actor=MANAGER, today=TODAY)
    foreign = programme.others[0]
    filled = fill(
        template,
        {"进度": [(2, "D", 10)], "风险": [(2, "A", foreign), (2, "B", "不属于我"), (2, "C", "高")]},
    )
    reports = count(db, ProgressReport)
    with pytest.raises(AccessDenied) as exc:
        upload_progress(db, unit, filled, "m.xlsx", actor=MANAGER)
    assert exc.value.params["sheet"] == "风险" and exc.value.params["row"] == 2
    assert count(db, ProgressReport) == reports


def test_after_a_removal_views_and_reports_address_milestones_by_stored_position(
    programme: Programme,
) -> None:
    db, unit = programme.db, programme.unit

    def untouched(code: str) -> bool:  # the module's other tests report on some projects
        milestones = db.tracking.project(unit, code).record.milestones
        return len(milestones) > 1 and all(m.percent_complete == 0 for m in milestones)

    code = next(c for c in programme.owned if untouched(c))
    first, second = db.tracking.project(unit, code).milestone_positions[:2]
    change_baseline(db, unit, code, {"reason": "一期取消",
                                     "milestones": [{"position": first, "remove": True}]},
                    actor=ADMIN)  # fmt: skip
    shown = project_detail(db, unit, code, TODAY).milestones
    assert shown[0].position == second  # a gap, not a renumbering
    service.update_progress(db, unit, code, {
        "report_date": TODAY.isoformat(),
        "milestones": [{"position": second, "percent_complete": 40}],
    }, actor=MANAGER)  # fmt: skip
    after = project_detail(db, unit, code, TODAY).milestones
    assert [(m.position, m.percent_complete) for m in after][:1] == [(second, 40.0)]
    assert all(m.percent_complete == 0 for m in after[1:])
