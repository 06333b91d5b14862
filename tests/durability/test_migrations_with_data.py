"""Every earlier schema upgrades to head with its data: for each revision 0001–0008, a database
at that revision with rows in every table it has reaches head with every row intact, the
schema of a fresh database (constraints, indexes, append-only triggers), and the app reading
and writing it. Both backends.

The rows are the storage tests' ``fill`` of a head database, frozen once per module and
inserted with SQL into the tables and columns each revision has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Integer, insert, select, text, update
from sqlalchemy.exc import DBAPIError

import cityloop
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, Settings, migrate
from cityloop.store.backup import reflect
from cityloop.store.models import AuditEntry, Base
from tests.durability.checks import integrity_problems, present_tables, table_checksum
from tests.store.databases import BACKENDS, new_database_url
from tests.store.samples import Demo, mini, mini_demo
from tests.store.test_backup import fill

__all__ = ["mini", "mini_demo"]

EARLIER = migrate.known_revisions()[:-1]
# PostgreSQL's migrations rarely differ from SQLite's (no table rebuilds), so it starts from
# fewer revisions to keep the suite short: the first, the one before 0006 swaps a CHECK, the last.
CASES = [("sqlite", r) for r in EARLIER] + [
    ("postgresql", r) for r in ("0001", "0005", EARLIER[-1])
]
Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def filled(
    mini: Framework, mini_demo: Demo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A head SQLite database with rows in every table: the source of the frozen rows."""
    folder = tmp_path_factory.mktemp("filled")
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'filled.db'}"))
    db.upgrade()
    fill(db, mini, mini_demo)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def frozen(filled: Database) -> Rows:
    """Every row of ``filled`` as plain values, by table."""
    with filled.engine.connect() as conn:
        return {
            t.name: [dict(row._mapping) for row in conn.execute(select(t))]
            for t in present_tables(conn)
        }


@pytest.fixture(scope="module")
def fresh_schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, ...]]]:
    """What a database made at head has beside its tables, per backend."""
    found = {}
    for backend in BACKENDS:
        for url in new_database_url(backend, tmp_path_factory.mktemp(backend)):
            db = Database.open(Settings(database_url=url))
            db.upgrade()
            with db.engine.connect() as conn:
                found[backend] = schema_objects(conn)
            db.dispose()
    return found


@pytest.mark.parametrize(("backend", "revision"), CASES)
def test_a_database_at_an_earlier_revision_upgrades_with_every_row(
    backend: str,
    revision: str,
    filled: Database,
    frozen: Rows,
    fresh_schemas: dict[str, set[tuple[str, ...]]],
    mini: Framework,
    mini_demo: Demo,
    tmp_path: Path,
) -> None:
    for url in new_database_url(backend, tmp_path):
        db = Database.open(Settings(database_url=url))
        try:
            with db.transaction() as conn:
                migrate.upgrade(conn, revision)
                kept = insert_frozen(conn, frozen)
            assert kept, "the revision has tables"

            assert db.upgrade() == migrate.head_revision()
            with db.engine.connect() as conn, filled.engine.connect() as source:
                for name, columns in kept.items():
                    table = Base.metadata.tables[name]
                    expected = table_checksum(source, table, columns)
                    assert table_checksum(conn, table, columns) == expected, name
                counts = db.row_counts()
                assert {n for n, rows in counts.items() if rows and n not in kept} == set()
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, Base.metadata) == []
                assert schema_objects(conn) == fresh_schemas[backend]
            assert integrity_problems(db) == []
            use_the_upgraded_database(db, filled, mini, mini_demo)
        finally:
            db.dispose()


def insert_frozen(conn: Connection, frozen: Rows) -> dict[str, list[str]]:
    """Insert the frozen rows into the tables the revision has, with the columns each has;
    returns those columns by table. PostgreSQL's sequences then continue after the rows, as
    they would after the application's own inserts."""
    kept = {}
    for table in reflect(conn):
        columns = list(table.c.keys())
        rows = [{c: row[c] for c in columns} for row in frozen[table.name]]
        conn.execute(insert(table), rows)
        kept[table.name] = columns
        keys = list(table.primary_key.columns)
        if (
            conn.dialect.name == "postgresql"
            and len(keys) == 1
            and isinstance(keys[0].type, Integer)
        ):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{keys[0].name}'), "
                    f"(SELECT max({keys[0].name}) FROM {table.name}))"
                )
            )
    return kept


def schema_objects(conn: Connection) -> set[tuple[str, ...]]:
    """Indexes, triggers and constraints, by name and definition (what ``compare_metadata``
    does not look at)."""
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        )
    else:
        query = (
            "SELECT 'trigger', tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) "
            "FROM pg_trigger WHERE NOT tgisinternal UNION ALL "
            "SELECT 'constraint', conname, conrelid::regclass::text, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace UNION ALL "
            "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public'"
        )
    return {tuple(str(v) for v in row) for row in conn.execute(text(query))}


def use_the_upgraded_database(
    db: Database, filled: Database, mini: Framework, mini_demo: Demo
) -> None:
    """The store reads the old rows as it reads its own, writes on, and keeps the audit log
    append-only."""
    units = db.units()
    assert units is not None
    assert units.table.equals(filled.units().table)  # type: ignore[union-attr]
    assert db.values_frame("mini").equals(filled.values_frame("mini"))
    runs = db.runs("mini")
    assert [r.id for r in runs] == [r.id for r in filled.runs("mini")]
    assert db.run_scores(runs[0].id).equals(filled.run_scores(runs[0].id))

    counts = db.upsert_values(mini_demo.values, mini, "erin", Origin(OriginKind.API, "again"))
    assert counts.inserted == 0
    run_id = db.record_run(cityloop.evaluate(mini_demo.values, mini, units=units), "erin")
    assert run_id > runs[0].id
    with pytest.raises(DBAPIError), db.transaction() as conn:
        conn.execute(update(AuditEntry.__table__).values(actor="mallory"))
