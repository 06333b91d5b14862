"""Which tables each committed transaction wrote, seen on every engine of the process, so a
test can check that a transaction changing governed data also wrote its audit row.

The statements are read as SQLAlchemy sends them (``INSERT INTO t``, ``UPDATE t``, ``DELETE
FROM t``): a write through the ORM, Core or text SQL is seen alike, whatever service made it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

AUDIT = "audit_log"
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)

# Tables written without an audit row, and why that is right.
NOT_AUDITED = {
    "survey_responses": "a citizen's anonymous answers: the receipt is their record; the "
    "survey's opening, closing and questionnaire are audited",
    "sensor_entities": "machine-written NGSI-LD entities; indicator values derived from them "
    "are written (and audited) as values",
    "observations": "machine-written sensor readings (the same)",
    "access_log": "itself a log: each use of a sharing key",
    "resource_checks": "the result of probing an endpoint, written by the checker",
}
# A transaction that sets the schema revision is a migration: it reshapes tables (and moves their
# rows with them); it is not a change of anyone's data.
MIGRATION = "alembic_version"


class TransactionLog:
    """The (verb, table) pairs of each committed transaction, in commit order."""

    def __init__(self) -> None:
        self.committed: list[frozenset[tuple[str, str]]] = []
        self._open: dict[int, set[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def statement(self, conn: Connection, statement: str, *_: Any) -> None:
        found = WRITE.match(statement)
        if found is not None:
            verb = found.group(1).split()[0].upper()
            with self._lock:
                self._open.setdefault(id(conn), set()).add((verb, found.group(2).lower()))

    def commit(self, conn: Connection) -> None:
        with self._lock:
            writes = self._open.pop(id(conn), set())
            if writes:
                self.committed.append(frozenset(writes))

    def rollback(self, conn: Connection) -> None:
        with self._lock:
            self._open.pop(id(conn), None)

    def unaudited(self) -> list[set[str]]:
        """The governed tables of each committed transaction that wrote no audit row."""
        found = []
        for writes in self.committed:
            if any(table == MIGRATION for _, table in writes):
                continue
            governed = {table for _, table in writes} - set(NOT_AUDITED) - {AUDIT}
            if governed and ("INSERT", AUDIT) not in writes:
                found.append(governed)
        return found

    def audit_changes(self) -> list[tuple[str, str]]:
        """Every UPDATE or DELETE of the audit log that was committed (must be none)."""
        return [w for ws in self.committed for w in ws if w[1] == AUDIT and w[0] != "INSERT"]


@contextmanager
def watched() -> Iterator[TransactionLog]:
    """A ``TransactionLog`` of every engine's transactions while the block runs."""
    log = TransactionLog()

    def before(conn: Connection, cursor: Any, statement: str, *rest: Any) -> None:
        log.statement(conn, statement)

    hooks = (("before_cursor_execute", before), ("commit", log.commit),
             ("rollback", log.rollback))  # fmt: skip
    for name, hook in hooks:
        event.listen(Engine, name, hook)
    try:
        yield log
    finally:
        for name, hook in hooks:
            event.remove(Engine, name, hook)
