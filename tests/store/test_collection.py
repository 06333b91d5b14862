"""Collection rounds and reminders in the store, on SQLite and PostgreSQL: audited writes,
refusals that change nothing, and a backup that carries both tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cityloop.collection import deadline_moment
from cityloop.errors import InputError
from cityloop.frameworks import Framework
from cityloop.services.store import backup, restore
from cityloop.store import Database, Origin, OriginKind, Settings
from cityloop.store.models import AuditEntry
from tests.store.databases import new_database_url
from tests.store.samples import Demo

DUE = deadline_moment(date(2026, 3, 31))


@pytest.fixture
def filled(db: Database, mini: Framework, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.DEMO))
    return db


def audit(db: Database, entity: str) -> list[tuple[str, str, dict[str, object] | None]]:
    with db.reader() as s:
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.after)
            .where(AuditEntry.entity == entity)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_open_list_and_audit_a_round(filled: Database) -> None:
    opened = filled.open_round("mini", 2026, DUE, note="一季度", actor="admin")
    assert opened.deadline == datetime(2026, 3, 30, 16, tzinfo=UTC)
    later = filled.open_round("mini", 2027, DUE, actor="admin")
    assert [r.year for r in filled.rounds()] == [2027, 2026]
    assert filled.round(opened.id) == filled.rounds("mini")[1]
    assert filled.round(opened.id).deadline == DUE  # type: ignore[union-attr]
    assert filled.round(later.id + 1) is None
    assert audit(filled, "collection_rounds")[0] == (
        "admin",
        "open",
        {"framework": "mini", "year": 2026, "deadline": DUE.isoformat(), "note": "一季度"},
    )


def test_a_second_round_of_the_same_year_or_an_unknown_framework_changes_nothing(
    filled: Database,
) -> None:
    filled.open_round("mini", 2026, DUE, actor="admin")
    before = filled.row_counts()
    with pytest.raises(InputError) as err:
        filled.open_round("mini", 2026, DUE, actor="admin")
    assert err.value.key == "collect.round_exists"
    with pytest.raises(InputError) as err:
        filled.open_round("nope", 2026, DUE, actor="admin")
    assert err.value.key == "store.unknown_framework"
    assert filled.row_counts() == before


def test_reminders_newest_first_with_audit(filled: Database) -> None:
    round_id = filled.open_round("mini", 2026, DUE, actor="admin").id
    first = filled.add_reminder(round_id, "data_bureau", None, actor="eva")
    second = filled.add_reminder(round_id, "data_bureau", "110100", message="请尽快", actor="eva")
    filled.add_reminder(round_id, "ecology_environment", None, actor="eva")
    assert [r.id for r in filled.reminders(round_id, "data_bureau")] == [second.id, first.id]
    assert len(filled.reminders(round_id)) == 3
    assert (second.unit, second.message, second.sent_by) == ("110100", "请尽快", "eva")
    assert audit(filled, "collection_reminders")[1][2] == {
        "round": round_id,
        "department": "data_bureau",
        "unit": "110100",
        "message": "请尽快",
    }
    before = filled.row_counts()
    for bad in (
        lambda: filled.add_reminder(round_id + 9, "data_bureau", None, actor="eva"),
        lambda: filled.add_reminder(round_id, "no_such_dept", None, actor="eva"),
        lambda: filled.add_reminder(round_id, "data_bureau", "999999", actor="eva"),
    ):
        with pytest.raises(InputError):
            bad()
    assert filled.row_counts() == before


def test_round_cells_carry_who_entered_them(filled: Database, mini_demo: Demo) -> None:
    cells = filled.round_cells("mini", 2025, ["110100"])
    expected = mini_demo.values.frame
    expected = expected[(expected["unit"] == "110100") & (expected["year"] == 2025)]
    assert sorted(cells["indicator"]) == sorted(expected["indicator"])
    assert set(cells["entered_by"]) == {"alice"}
    assert set(cells["origin_kind"]) == {OriginKind.DEMO}
    assert len(filled.round_cells("mini", 2026)) == 0


def test_backup_and_restore_carry_rounds_and_reminders(
    filled: Database, backend: str, tmp_path: Path
) -> None:
    round_id = filled.open_round("mini", 2026, DUE, note="第一轮", actor="admin").id
    filled.add_reminder(round_id, "data_bureau", "110100", message="催报 ✓", actor="eva")
    manifest = backup(filled, tmp_path / "a.zip")
    rows = {t.name: t.rows for t in manifest.tables}
    assert rows["collection_rounds"] == rows["collection_reminders"] == 1
    folder = tmp_path / "other"
    folder.mkdir()
    for url in new_database_url(backend, folder):
        other = Database.open(Settings(database_url=url))
        try:
            restore(other, tmp_path / "a.zip")
            assert other.rounds() == filled.rounds()
            assert other.reminders(round_id) == filled.reminders(round_id)
            # Keys continue after the restored ones.
            assert other.open_round("mini", 2027, DUE, actor="admin").id == round_id + 1
        finally:
            other.dispose()
