"""Collection use-cases on a small stored demo: rounds, scope, completeness after writes,
reminders that reach the right officers, the template, and uploads named safely."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from cityloop.accounts import AccessDenied, Principal, Role
from cityloop.collection import CellsRefusedError
from cityloop.datahub.indicator_table import DATA_SHEET
from cityloop.errors import InputError
from cityloop.frameworks import Framework
from cityloop.services import collection as service
from cityloop.store import Database, Origin, OriginKind
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["backend", "db", "db_url", "empty_db", "mini", "mini_demo"]  # the storage fixtures

NOW = datetime(2026, 12, 1, 4, tzinfo=UTC)
ROOT = Principal("root", Role.ADMINISTRATOR)


@pytest.fixture
def stored(db: Database, mini: Framework, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.DEMO))
    return db


def city_of(db: Database) -> tuple[str, str]:
    units = db.units()
    assert units is not None
    cities = units.of_level("city")
    return cities[0], str(units.table.at[cities[0], "parent"])


def test_round_scope_and_completeness_after_a_write(stored: Database) -> None:
    opened = service.open_round(stored, ROOT, "mini", 2026, date(2026, 12, 31))
    assert service.choose_round(stored, None) == opened
    with pytest.raises(InputError):
        service.choose_round(stored, opened.id + 1)
    with pytest.raises(InputError):
        service.open_round(stored, ROOT, "mini", 1800, date(2026, 12, 31))
    city, province = city_of(stored)
    officer = Principal("li", Role.DATA_OFFICER, city, "data_bureau")
    scope = service.scope_of(stored, officer, opened, NOW)
    assert (scope.collected, scope.department, scope.deadline.days_left) == (
        [city],
        "data_bureau",
        30,
    )
    assert service.progress(stored, scope).owed == 2  # I1 and I2 of data_bureau
    counts = service.save_cells(
        stored, officer, scope, [service.CellInput(city, "I1", "85.5", "政务网")], OriginKind.FORM
    )
    assert (counts.inserted, counts.updated) == (1, 0)
    table = service.owed_table(stored, scope)
    assert table["shown"].tolist() == ["85.5", ""]
    assert table["entered_by"].tolist() == ["li", ""]
    assert service.progress(stored, scope).share == 0.5
    evaluator = Principal("eva", Role.EVALUATOR, province)
    wide = service.scope_of(stored, evaluator, opened, NOW)
    assert wide.department is None and city in wide.collected
    shares = {
        s.code: s
        for s in service.by_department(stored, evaluator, wide, service.progress(stored, wide))
    }
    assert shares["data_bureau"].present == 1


def test_viewers_see_nothing_and_evaluators_write_nothing(stored: Database) -> None:
    opened = service.open_round(stored, ROOT, "mini", 2026, date(2026, 12, 31))
    city, province = city_of(stored)
    with pytest.raises(AccessDenied):
        service.scope_of(stored, Principal("v", Role.VIEWER, city), opened, NOW)
    evaluator = Principal("eva", Role.EVALUATOR, province)
    scope = service.scope_of(stored, evaluator, opened, NOW)
    before = stored.row_counts()
    with pytest.raises(AccessDenied):
        service.open_round(stored, evaluator, "mini", 2027, date(2027, 12, 31))
    with pytest.raises(AccessDenied):
        service.save_cells(
            stored, evaluator, scope, [service.CellInput(city, "I1", "1")], OriginKind.API
        )
    with pytest.raises(AccessDenied):
        service.send_reminder(
            stored,
            Principal("li", Role.DATA_OFFICER, city, "data_bureau"),
            opened.id,
            "data_bureau",
        )
    assert stored.row_counts() == before


def test_reminders_reach_the_officers_of_the_region(stored: Database) -> None:
    opened = service.open_round(stored, ROOT, "mini", 2026, date(2026, 12, 31))
    units = stored.units()
    assert units is not None
    table = units.table
    city, province = city_of(stored)
    elsewhere = next(c for c in units.of_level("city") if table.at[c, "parent"] != province)
    evaluator = Principal("eva", Role.EVALUATOR, province)
    sent = service.send_reminder(stored, evaluator, opened.id, "data_bureau", message=" 请尽快 ")
    assert (sent.unit, sent.message) == (province, "请尽快")
    with pytest.raises(AccessDenied):
        service.send_reminder(stored, evaluator, opened.id, "data_bureau", unit=elsewhere)
    with pytest.raises(InputError):
        service.send_reminder(stored, evaluator, opened.id, "statistics")  # owes nothing here
    mine = Principal("li", Role.DATA_OFFICER, city, "data_bureau")
    theirs = Principal("wu", Role.DATA_OFFICER, elsewhere, "data_bureau")
    other_dept = Principal("he", Role.DATA_OFFICER, city, "ecology_environment")
    seen = {
        p.username: service.reminders_for(stored, p, service.scope_of(stored, p, opened, NOW))
        for p in (mine, theirs, other_dept)
    }
    assert [r.id for r in seen["li"]] == [sent.id]
    assert seen["wu"] == [] and seen["he"] == []


def test_template_and_upload_of_the_officers_cells(stored: Database) -> None:
    opened = service.open_round(stored, ROOT, "mini", 2026, date(2026, 12, 31))
    city, _ = city_of(stored)
    officer = Principal("li", Role.DATA_OFFICER, city, "ecology_environment")
    scope = service.scope_of(stored, officer, opened, NOW)
    name, content = service.template_bytes(scope, "zh-CN")
    assert name == "mini-2026-ecology_environment.xlsx"
    book = load_workbook(io.BytesIO(content))
    sheet = book[DATA_SHEET]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[3]) for r in rows] == [(city, 2026, "I3"), (city, 2026, "I5")]
    sheet["G2"], sheet["G3"] = 91, 2.5  # I5 counts stations: 2.5 is no count
    out = io.BytesIO()
    book.save(out)
    before = stored.row_counts()
    with pytest.raises(CellsRefusedError) as err:
        service.save_upload(stored, officer, scope, out.getvalue(), "/etc/../空气.xlsx")
    problem = err.value.problems[0]
    assert (problem.location.file, problem.location.row, problem.key) == (
        "空气.xlsx",
        3,
        "values.count_not_integer",
    )
    assert stored.row_counts() == before
    sheet["G3"] = 3
    out = io.BytesIO()
    book.save(out)
    counts = service.save_upload(stored, officer, scope, out.getvalue(), "空气.xlsx")
    assert counts.inserted == 2
    assert service.progress(stored, scope).share == 1.0


def test_upload_names_are_only_text() -> None:
    assert service.upload_name("C:\\data\\..\\表.xlsx") == "表.xlsx"
    assert service.upload_name("../../etc/passwd") == "passwd"
    assert service.upload_name("a\x00b\n.csv") == "ab.csv"
    assert service.upload_name(None) == "upload"
    assert (
        service.shown_number(3.0) == "3"
        and service.shown_number(0.1 + 0.2) == "0.30000000000000004"
    )
