"""Set-based writes: many rows per statement, in batches, never one ORM object per row.

Inserts go to the driver directly (executemany on SQLite, one array per column unnested on
PostgreSQL): per-row statement handling in SQLAlchemy or the driver cost more than the insert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Column, Connection, Dialect, Executable, Table
from sqlalchemy.orm import Session

CHUNK = 20_000  # rows handed to the driver at once: bounded memory, few round trips


@dataclass(frozen=True)
class WriteCounts:
    """What a write did: rows new to the database, rows changed, rows already so."""

    inserted: int
    updated: int
    unchanged: int


def as_list(series: pd.Series) -> list[Any]:
    """A column as plain Python values, with None for every kind of missing (NaN, NA, NaT)."""
    missing = series.isna().tolist()
    return [None if m else v for v, m in zip(series.astype(object).tolist(), missing, strict=True)]


def execute_chunked(
    session: Session,
    statement: Executable,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Run ``statement`` (an UPDATE with bind parameters) once per row of ``columns``."""
    names = list(columns)
    total = len(next(iter(columns.values()), []))
    for start in range(0, total, CHUNK):
        parts = [values[start : start + CHUNK] for values in columns.values()]
        rows = [
            {**(constants or {}), **dict(zip(names, row, strict=True))}
            for row in zip(*parts, strict=True)
        ]
        session.execute(statement, rows)
    return total


def insert_rows(
    target: Session | Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """INSERT every row of ``columns`` (equal-length lists) plus ``constants`` into ``table``.

    Values pass through their column type's bind processing (dates, enums, JSON, booleans),
    as SQLAlchemy would do; a constant is processed once. Returns the number of rows.
    """
    conn = target.connection() if isinstance(target, Session) else target
    fixed = dict(constants or {})
    total = len(next(iter(columns.values()), []))
    if total == 0:
        return 0
    dialect = conn.dialect
    names = [*columns, *fixed]
    processors = [_processor(table.c[name], dialect) for name in columns]
    tail = tuple(_process(table.c[name], dialect, value) for name, value in fixed.items())
    prep = dialect.identifier_preparer
    into = f"INSERT INTO {prep.format_table(table)} ({', '.join(map(prep.quote, names))}) "
    if dialect.name == "sqlite":  # in-process: executemany is as fast as it gets
        sql = into + f"VALUES ({', '.join('?' * len(names))})"
    else:  # PostgreSQL: each column travels as one array, each constant once
        kinds = [table.c[name].type.compile(dialect=dialect) for name in names]
        arrays = ", ".join(f"%b::{kind}[]" for kind in kinds[: len(columns)])
        scalars = "".join(f", %s::{kind}" for kind in kinds[len(columns) :])
        sql = into + f"SELECT *{scalars} FROM unnest({arrays})"
    for start in range(0, total, CHUNK):
        parts = [
            values[start : start + CHUNK]
            if proc is None
            else [proc(v) for v in values[start : start + CHUNK]]
            for values, proc in zip(columns.values(), processors, strict=True)
        ]
        if dialect.name == "sqlite":
            conn.exec_driver_sql(sql, [(*row, *tail) for row in zip(*parts, strict=True)])
        else:
            conn.exec_driver_sql(sql, (*tail, *parts))  # the constants come first in the SQL
    return total


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _process(column: Column[Any], dialect: Dialect, value: Any) -> Any:
    proc = _processor(column, dialect)
    return value if proc is None else proc(value)
