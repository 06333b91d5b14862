"""Migration 0007 (planning): a database at 0006 with rows upgrades with every row kept, and a
downgrade to 0006 removes only the two planning tables."""

from __future__ import annotations

from sqlalchemy import inspect

from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from tests.store.samples import Demo
from tests.store.test_migrations import _digests

NEW_TABLES = {"plan_projects", "plans"}


def test_upgrade_keeps_every_row_and_downgrade_removes_only_the_planning_tables(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0006")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert not NEW_TABLES & set(inspect(conn).get_table_names())

    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert {name: after[name][0] for name in NEW_TABLES} == dict.fromkeys(NEW_TABLES, 0)

    unit = str(mini_demo.units.table.index[0])
    empty_db.plan_projects.write(unit, {"city_brain": {"importance": 4}}, actor="alice")
    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0006")
    with empty_db.engine.connect() as conn:
        assert migrate.current_revision(conn) == "0006"
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        kept = _digests(conn)
    # The audit log gained the override's row; every other table is as it was before.
    assert {n: kept[n] for n in before if n != "audit_log"} == {
        n: before[n] for n in before if n != "audit_log"
    }
