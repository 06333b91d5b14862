"""A fingerprint of every CityLoop table (row count and a checksum of its rows), to prove that a
refused import or an interrupted write left the database exactly as it was.

Usage: ``before = fingerprint(db.engine)``; refuse something; ``assert fingerprint(db.engine) ==
before`` (``changed_tables(before, after)`` names the tables that differ, for the message).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, inspect

from cityloop.store.models import Base


@dataclass(frozen=True)
class TablePrint:
    """One table's row count and a SHA-256 of its rows, taken in primary-key order."""

    rows: int
    digest: str


def fingerprint(engine: Engine) -> dict[str, TablePrint]:
    """Row count and checksum of every table of the models that the database has.

    Rows are read through the driver in primary-key order (every column when a table has no
    key): raw driver values, so a fingerprint of the whole demo takes a fraction of a second.
    """
    prints: dict[str, TablePrint] = {}
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for name, table in Base.metadata.tables.items():
            if name not in present:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            keys = ", ".join(quote(c.name) for c in order)
            rows = conn.exec_driver_sql(f"SELECT * FROM {quote(name)} ORDER BY {keys}").fetchall()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode("utf-8", "replace"))
            prints[name] = TablePrint(len(rows), digest.hexdigest())
    return prints


def changed_tables(before: dict[str, TablePrint], after: dict[str, TablePrint]) -> list[str]:
    """The tables whose count or checksum differs (or that appeared or disappeared)."""
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
