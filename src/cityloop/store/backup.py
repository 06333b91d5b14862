"""Backups any CityLoop database can restore: a zip of one JSON-lines file per table.

The manifest names the Alembic revision and each table's columns, row count and SHA-256; a
restore checks the whole file before it changes anything, and the restored tables against it.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, BadZipFile, ZipFile

from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    select,
    text,
)

from cityloop._version import __version__
from cityloop.errors import CityLoopError, InputError, Location, Problem
from cityloop.store import migrate
from cityloop.store.bulk import CHUNK, insert_rows
from cityloop.store.database import Database, cityloop_tables, row_counts

FORMAT = "cityloop-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 5_000  # rows fetched at a time when reading a table
# Tables a backup leaves out, and why: a restore must not bring a signed-in session back.
NOT_BACKED_UP = {"web_sessions": "sign-ins of the running site; a restored one starts with none"}


class TableEntry(BaseModel):
    name: str
    columns: list[str]
    rows: int
    sha256: str


class Manifest(BaseModel):
    """What a backup holds; ``tables`` are in an order that inserts parents before children."""

    format: str
    format_version: int
    revision: str
    created_at: str
    cityloop_version: str
    source: str
    tables: list[TableEntry]

    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)


def write_backup(db: Database, path: Path) -> Manifest:
    """Write every CityLoop table of ``db`` as it is at one moment to the zip file ``path``."""
    with db.snapshot() as conn, ZipFile(path, "w", ZIP_DEFLATED) as zf:
        revision = migrate.current_revision(conn)
        if revision is None:
            raise CityLoopError("store.backup_no_schema", url=db.url)
        entries = []
        for table in reflect(conn):
            digest, rows = hashlib.sha256(), 0
            with zf.open(_entry(table.name), "w", force_zip64=True) as out:
                for count, chunk in table_chunks(conn, table):
                    out.write(chunk)
                    digest.update(chunk)
                    rows += count
            entries.append(
                TableEntry(
                    name=table.name,
                    columns=list(table.c.keys()),
                    rows=rows,
                    sha256=digest.hexdigest(),
                )
            )
        manifest = Manifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            revision=revision,
            created_at=datetime.now(UTC).isoformat(),
            cityloop_version=__version__,
            source=conn.dialect.name,
            tables=entries,
        )
        zf.writestr(MANIFEST, manifest.model_dump_json(indent=2))
    return manifest


def read_backup(path: Path) -> Manifest:
    """The manifest of a backup whose every table matches its checksum and row count.

    Raises ``InputError`` naming what is wrong with a damaged, foreign or unknown file.
    """

    def refuse(key: str, **params: Any) -> InputError:
        return InputError(
            "store.backup_damaged", [Problem(key, params, Location(file=str(path)))], file=str(path)
        )

    if not path.is_file():
        raise refuse("store.backup_missing")
    try:
        with ZipFile(path) as zf:
            manifest = Manifest.model_validate_json(zf.read(MANIFEST))
            if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
                raise refuse(
                    "store.backup_format",
                    found=f"{manifest.format} {manifest.format_version}",
                    expected=f"{FORMAT} {FORMAT_VERSION}",
                )
            known = migrate.known_revisions()
            if manifest.revision not in known:
                raise refuse(
                    "store.backup_revision", revision=manifest.revision, known=", ".join(known)
                )
            for entry in manifest.tables:
                digest, rows = hashlib.sha256(), 0
                with zf.open(_entry(entry.name)) as stream:
                    while chunk := list(islice(stream, BATCH)):
                        digest.update(b"".join(chunk))
                        bad = _first_bad_line(chunk, len(entry.columns))
                        if bad is not None:
                            line = rows + bad + 1
                            raise refuse("store.backup_bad_line", table=entry.name, line=line)
                        rows += len(chunk)
                if rows != entry.rows:
                    raise refuse(
                        "store.backup_rows", table=entry.name, expected=entry.rows, found=rows
                    )
                if digest.hexdigest() != entry.sha256:
                    raise refuse("store.backup_checksum", table=entry.name)
    except (
        BadZipFile,
        KeyError,
        OSError,
        EOFError,
        zlib.error,
        ValueError,
        ValidationError,
    ) as exc:
        # ValueError covers broken JSON; a manifest that breaks the schema is a ValidationError.
        raise refuse(
            "store.backup_unreadable",
            detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from None
    return manifest


def restore_backup(db: Database, path: Path, *, force: bool = False) -> Manifest:
    """Restore ``path`` into ``db`` in one transaction: all of it, verified, or nothing.

    The database must hold no rows unless ``force``, which replaces everything in it (the
    audit log too). Its schema is set to the backup's revision first.
    """
    manifest = read_backup(path)
    with db.transaction(changes_schema=True) as conn:
        filled = {name: n for name, n in row_counts(conn).items() if n}
        if filled and not force:
            raise InputError(
                "store.restore_not_empty",
                tables=", ".join(f"{k} ({v})" for k, v in filled.items()),
                url=db.url,
            )
        revision = migrate.current_revision(conn)
        migrate.require_known(revision, db.url)
        if filled or revision != manifest.revision:
            if revision is not None:
                migrate.downgrade(conn, "base")
            migrate.upgrade(conn, manifest.revision)
        tables = {t.name: t for t in reflect(conn)}
        if [(t.name, t.columns) for t in manifest.tables] != [
            (n, list(t.c.keys())) for n, t in tables.items()
        ]:
            raise CityLoopError("store.restore_schema", file=str(path), revision=manifest.revision)
        with ZipFile(path) as zf:
            for entry in manifest.tables:
                _restore_table(conn, tables[entry.name], zf, entry)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, tables.values())
        for entry in manifest.tables:
            digest = hashlib.sha256()
            for _, chunk in table_chunks(conn, tables[entry.name]):
                digest.update(chunk)
            if digest.hexdigest() != entry.sha256:
                raise CityLoopError("store.restore_mismatch", table=entry.name)
    return manifest


def _parse(lines: list[bytes]) -> list[Any]:
    """JSON lines parsed with one call: a JSON array of them."""
    parsed = json.loads(b"[" + b",".join(lines) + b"]")
    if not isinstance(parsed, list) or len(parsed) != len(lines):
        raise ValueError("lines do not hold one value each")
    return parsed


def _first_bad_line(lines: list[bytes], columns: int) -> int | None:
    """Index of the first line that is not a JSON array of ``columns`` values, or None."""
    try:
        if all(isinstance(r, list) and len(r) == columns for r in _parse(lines)):
            return None
    except ValueError:
        pass  # find the line at fault below
    return next((i for i, line in enumerate(lines) if not _is_row(line, columns)), None)


def _is_row(line: bytes, columns: int) -> bool:
    try:
        row = _parse([line])[0]
    except ValueError:
        return False
    return isinstance(row, list) and len(row) == columns


# -- tables as canonical lines ---------------------------------------------------------------------


def reflect(conn: Connection) -> list[Table]:
    """The database's CityLoop tables as they are (at any revision), parents first, but for
    those ``NOT_BACKED_UP``."""
    meta = MetaData()
    meta.reflect(conn, only=[t for t in cityloop_tables(conn) if t not in NOT_BACKED_UP])
    tables = list(meta.sorted_tables)
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, JSON):
                column.type = JSON(none_as_null=True)  # None is SQL NULL, not the JSON text null
    return tables


def table_chunks(conn: Connection, table: Table) -> Iterator[tuple[int, bytes]]:
    """Every row as one canonical JSON line, in primary-key order, as (rows, bytes) chunks.

    The same rows give the same bytes on SQLite and PostgreSQL: text keys are ordered by
    code point (PostgreSQL's "C" collation), times are UTC ISO 8601 and days ISO dates. JSON
    keeps its keys in the stored order (both backends store JSON as text): the order is the
    user's (a table resource's columns, a survey's categories) and a restore must keep it.
    """
    postgres = conn.dialect.name == "postgresql"
    order = [
        c.collate("C") if postgres and isinstance(c.type, String) else c
        for c in table.primary_key.columns
    ]
    times = [i for i, c in enumerate(table.columns) if isinstance(c.type, DateTime)]
    days = [i for i, c in enumerate(table.columns) if isinstance(c.type, Date)]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    result = conn.execute(select(table).order_by(*order).execution_options(yield_per=BATCH))
    for part in result.partitions():
        lines = []
        for row in part:
            values = list(row)
            for i in times:
                values[i] = _utc_text(values[i])
            for i in days:
                values[i] = None if values[i] is None else values[i].isoformat()
            lines.append(dumps(values))
        yield len(lines), ("\n".join(lines) + "\n").encode("utf-8")


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _entry(table: str) -> str:
    return f"tables/{table}.jsonl"


# -- restoring -----------------------------------------------------------------------------------


def _restore_table(conn: Connection, table: Table, zf: ZipFile, entry: TableEntry) -> None:
    """Insert a table's rows in chunks; a table that refers to itself gets parents first."""
    times = [i for i, name in enumerate(entry.columns) if isinstance(table.c[name].type, DateTime)]
    days = [i for i, name in enumerate(entry.columns) if isinstance(table.c[name].type, Date)]
    rows: Iterator[list[Any]] = (_with_times(row, times, days) for row in _parsed_rows(zf, entry))
    self_refs = [fk for fk in table.foreign_keys if fk.column.table is table]
    if self_refs:
        child, parent = (
            entry.columns.index(c.name) for c in (self_refs[0].parent, self_refs[0].column)
        )
        rows = iter(_parents_first(list(rows), child, parent))
    while chunk := list(islice(rows, CHUNK)):
        insert_rows(
            conn, table, {name: [r[i] for r in chunk] for i, name in enumerate(entry.columns)}
        )


def _parsed_rows(zf: ZipFile, entry: TableEntry) -> Iterator[list[Any]]:
    with zf.open(_entry(entry.name)) as stream:
        while chunk := list(islice(stream, BATCH)):
            yield from _parse(chunk)


def _with_times(row: list[Any], times: list[int], days: list[int]) -> list[Any]:
    """``row`` with its ISO 8601 texts at ``times`` read back as datetimes, at ``days`` as
    dates."""
    for i in times:
        if row[i] is not None:
            row[i] = datetime.fromisoformat(row[i])
    for i in days:
        if row[i] is not None:
            row[i] = date.fromisoformat(row[i])
    return row


def _parents_first(rows: list[list[Any]], child: int, key: int) -> list[list[Any]]:
    """Rows ordered so that each row's parent (``row[child]``, a ``row[key]``) comes first."""
    done: set[Any] = set()
    out: list[list[Any]] = []
    while rows:
        ready = [r for r in rows if r[child] is None or r[child] in done or r[child] == r[key]]
        if not ready:  # a cycle: insert the rest and let the database refuse it
            return out + rows
        done.update(r[key] for r in ready)
        out += ready
        rows = [r for r in rows if r[key] not in done]
    return out


def _reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """Point each serial key's sequence past the restored ids (PostgreSQL)."""
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer):
            column = quote(keys[0].name)
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f"COALESCE(MAX({column}), 0) + 1, false) FROM {quote(table.name)}"
                ),
                {"table": table.name, "column": keys[0].name},
            )
