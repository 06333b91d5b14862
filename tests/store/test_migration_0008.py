"""Migration 0008 (supervision): a database at 0007 with rows upgrades with every row kept, and
a downgrade to 0007 removes only the six supervision tables."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from cityloop.store.tracking import NewTrackedProject, Payment, ProgressChange
from cityloop.supervision import BudgetYear
from tests.store.samples import Demo
from tests.store.test_migrations import _digests

NEW_TABLES = {
    "tracked_projects",
    "project_milestones",
    "project_gates",
    "project_spend",
    "project_risks",
    "progress_updates",
}


def test_upgrade_keeps_every_row_and_downgrade_removes_only_the_supervision_tables(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0007")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    unit = str(mini_demo.units.table.index[0])
    empty_db.plan_projects.write(unit, {"city_brain": {"importance": 4}}, actor="alice")
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert not NEW_TABLES & set(inspect(conn).get_table_names())

    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert {name: after[name][0] for name in NEW_TABLES} == dict.fromkeys(NEW_TABLES, 0)

    project = NewTrackedProject(
        code="p1", name_zh="项目", name_en="", domain="egov", phase="启动实施",
        owner_department=None, start_date=date(2027, 1, 1), budget=(BudgetYear(2027, 100.0),),
    )  # fmt: skip
    empty_db.tracking.create(unit, [project], actor="alice")
    change = ProgressChange(date(2027, 2, 1), 10.0, payments=[Payment(date(2027, 2, 1), 5.0)])
    empty_db.tracking.record(unit, "p1", change, actor="alice")
    # Payments and progress reports are append-only, in the database itself.
    for table in ("project_spend", "progress_updates"):
        for statement in (f"UPDATE {table} SET note = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), empty_db.transaction() as conn:
                conn.execute(text(statement))

    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0007")
    with empty_db.engine.connect() as conn:
        assert migrate.current_revision(conn) == "0007"
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        kept = _digests(conn)
    # The audit log gained the tracking rows; every other table is as it was before.
    assert {n: kept[n] for n in before if n != "audit_log"} == {
        n: before[n] for n in before if n != "audit_log"
    }
