"""Migration 0004 (collection rounds and reminders): a database at 0003 with rows in it
upgrades with every row kept, and the new tables work; a downgrade removes only them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect

from cityloop.collection import deadline_moment
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from tests.store.samples import Demo
from tests.store.test_migrations import _digests


def test_upgrade_from_0003_keeps_every_row_and_adds_the_tables(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0003")
    # Rows written through the store as it stood at 0003 (none of them touch the new tables).
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert "collection_rounds" not in inspect(conn).get_table_names()
    filled = ("regions", "framework_versions", "indicator_values", "value_history", "audit_log")
    assert all(before[name][0] > 0 for name in filled)

    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert after["collection_rounds"][0] == after["collection_reminders"][0] == 0

    round_id = empty_db.open_round(
        "mini", 2026, deadline_moment(date(2026, 6, 30)), actor="alice"
    ).id
    empty_db.add_reminder(round_id, "data_bureau", "110100", actor="bob")
    assert [r.department for r in empty_db.reminders(round_id)] == ["data_bureau"]

    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0003")
    with empty_db.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        assert not {"collection_rounds", "collection_reminders"} & names
        assert {name: _digests(conn)[name] for name in before if name != "audit_log"} == {
            name: value for name, value in before.items() if name != "audit_log"
        }
