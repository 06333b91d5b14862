"""The audit log and the value history are append-only, enforced by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind
from tests.store.samples import Demo

STATEMENTS = {
    "update": "UPDATE {table} SET {column} = {column}",
    "delete": "DELETE FROM {table}",
    "delete one": "DELETE FROM {table} WHERE id = (SELECT MIN(id) FROM {table})",
}


@pytest.fixture
def filled(db: Database, mini: Framework, mini_demo: Demo) -> Database:
    db.load_units(mini_demo.units, "alice")
    db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "v.csv"))
    return db


@pytest.mark.parametrize(("table", "column"), [("audit_log", "actor"), ("value_history", "value")])
@pytest.mark.parametrize("statement", list(STATEMENTS))
def test_rows_cannot_be_changed_or_removed(
    filled: Database, table: str, column: str, statement: str
) -> None:
    before = filled.row_counts()[table]
    assert before > 0
    with pytest.raises(DBAPIError, match="append-only"), filled.transaction() as conn:
        conn.execute(text(STATEMENTS[statement].format(table=table, column=column)))
    assert filled.row_counts()[table] == before


def test_the_whole_table_shortcut_is_refused_too(filled: Database) -> None:
    # PostgreSQL's TRUNCATE skips row triggers; SQLite's DELETE without WHERE is its truncate.
    postgres = filled.engine.dialect.name == "postgresql"
    statement = "TRUNCATE audit_log" if postgres else "DELETE FROM audit_log"
    with pytest.raises(DBAPIError, match="append-only"), filled.transaction() as conn:
        conn.execute(text(statement))


def test_every_write_through_the_store_is_logged(filled: Database) -> None:
    with filled.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, entity FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("alice", "load", "regions"),
        ("alice", "register", "framework_versions"),
        ("alice", "upsert", "indicator_values"),
    ]
