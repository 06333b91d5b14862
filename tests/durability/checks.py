"""What "the database is sound" and "the tables are equal" mean for the durability and fuzz
tests: an integrity check per backend, and a checksum of every table independent of our code.

The checksum reads rows through the models' own column types and normalises each value
(floats exactly as ``float.hex``, times in UTC, JSON as stored, key order kept), so any loss
on the way through a backup or a migration changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, select, text

from cityloop.store import Database
from cityloop.store.database import cityloop_tables
from cityloop.store.models import Base


def integrity_problems(db: Database) -> list[str]:
    """What is wrong with ``db``'s storage; empty when it is sound.

    SQLite: ``PRAGMA integrity_check`` and ``foreign_key_check``. Both backends: every row of
    every table reads back through the models' types, every foreign key finds its row, and
    (PostgreSQL) each table's heap and primary-key index hold the same number of rows.
    """
    problems: list[str] = []
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            verdict = conn.execute(text("PRAGMA integrity_check")).scalars().all()
            if verdict != ["ok"]:
                problems.append(f"integrity_check: {verdict[:5]}")
            orphans = conn.execute(text("PRAGMA foreign_key_check")).all()
            if orphans:
                problems.append(f"foreign_key_check: {orphans[:5]}")
        for table in present_tables(conn):
            rows = sum(1 for _ in conn.execute(select(table)))  # every value decodes
            problems += _orphans(conn, table)
            if conn.dialect.name == "postgresql" and table.primary_key.columns:
                indexed = _count_by_index(conn, table)
                if indexed != rows:
                    problems.append(f"{table.name}: heap {rows} rows, primary key {indexed}")
    return problems


def present_tables(conn: Connection) -> list[Table]:
    """The models' tables the database has (all of them at the head revision)."""
    return [Base.metadata.tables[name] for name in cityloop_tables(conn)]


def _orphans(conn: Connection, table: Table) -> list[str]:
    """Rows whose foreign key names no row of the table it refers to."""
    found = []
    for fk in table.foreign_key_constraints:
        parent = fk.referred_table.alias()  # an alias: a table may refer to itself
        pairs = list(zip(fk.columns, fk.elements, strict=True))
        match = and_(*(parent.c[element.column.name] == child for child, element in pairs))
        query = (
            select(func.count())
            .select_from(table)
            .where(
                *(child.is_not(None) for child, _ in pairs), ~select(parent).where(match).exists()
            )
        )
        missing = int(conn.execute(query).scalar_one())
        if missing:
            found.append(
                f"{table.name}: {missing} rows refer to a missing {fk.referred_table.name}"
            )
    return found


def _count_by_index(conn: Connection, table: Table) -> int:
    """Rows counted through the primary key's index only (PostgreSQL planner switches)."""
    first = next(iter(table.primary_key.columns))
    with conn.begin_nested():
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(first.is_not(None))
            ).scalar_one()
        )


# -- checksums ------------------------------------------------------------------------------------


def checksums(db: Database) -> dict[str, tuple[int, str]]:
    """(rows, SHA-256) of every table: rows in primary-key order, values normalised."""
    with db.engine.connect() as conn:
        return {table.name: table_checksum(conn, table) for table in present_tables(conn)}


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    """The tables whose count or checksum differs (or that appeared or disappeared)."""
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def table_checksum(
    conn: Connection, table: Table, columns: Sequence[str] | None = None
) -> tuple[int, str]:
    """(rows, SHA-256) of one table's canonical lines (of ``columns``, default all), sorted
    by the primary key in Python (so that the database's collation plays no part)."""
    names = list(columns or table.c.keys())
    keys = [names.index(c.name) for c in table.primary_key.columns]
    lines = sorted(
        ([canonical(row[i]) for i in keys], json.dumps([canonical(v) for v in row]))
        for row in conn.execute(select(*(table.c[n] for n in names)))
    )
    digest = hashlib.sha256()
    for _, line in lines:
        digest.update(line.encode() + b"\n")
    return len(lines), digest.hexdigest()


def canonical(value: Any) -> Any:
    """A value as comparable text: floats exact, times in UTC, JSON with its key order."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "the models read every time back timezone-aware"
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(_floats_exact(value), ensure_ascii=False)  # key order as stored
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _floats_exact(value: Any) -> Any:
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, dict):
        return {k: _floats_exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_exact(v) for v in value]
    return value
