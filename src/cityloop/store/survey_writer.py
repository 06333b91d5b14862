"""Group commit for survey submissions: many requests' responses written in one transaction.

A submission is acknowledged only after the transaction holding it has committed (SQLite with
``synchronous=FULL`` has synced its WAL; PostgreSQL has committed), so "received" means stored.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, bindparam, select, text, tuple_

from cityloop.store.models import Survey, SurveyResponse, SurveyStatus, table_of
from cityloop.store.settings import WRITE_OPTION
from cityloop.store.surveys import NewResponse

DEFAULT_WINDOW_S = 0.005  # how long the first submission of a batch waits for company
DEFAULT_MAX_BATCH = 256  # rows of one INSERT: well inside SQLite's bound-parameter limit
RESPONSES = table_of(SurveyResponse)
SURVEYS = table_of(Survey)


class Outcome(StrEnum):
    """What became of one submission."""

    STORED = "stored"
    DUPLICATE_RECEIPT = "duplicate_receipt"  # this one-time token was used already
    DUPLICATE_DEVICE = "duplicate_device"  # this device has answered already
    NOT_OPEN = "not_open"  # the survey is unknown, not open yet, or closed


@dataclass
class _Pending:
    survey_id: int
    response: NewResponse
    future: asyncio.Future[Outcome]


class SurveyWriter:
    """Group commit on the event loop: the submissions made within ``window_s`` of the first
    (at most ``max_batch``) are written in one transaction, from the loop itself.

    Not from a thread: under load a writer thread fought the event loop for the GIL at every
    database call, so a batch that takes ≈ 1.5 ms took 12–13 ms and p99 latency went to
    hundreds of ms (benchmarks/survey_load.py, docs/benchmarks.md). The loop is blocked for the
    write instead; new requests wait in the socket meanwhile. Use one writer per event loop.

    Each web worker process has one. Across processes, SQLite serialises the batches (each
    transaction is ``BEGIN IMMEDIATE``); the writers of one SQLite file also queue on a lock
    file, because SQLite's own busy wait sleeps up to 100 ms between tries, while a blocked
    ``flock`` wakes the moment the other writer commits. PostgreSQL needs no lock for them:
    inserts of different batches never wait on each other except on the same unique key,
    and ``ON CONFLICT DO NOTHING`` settles that key for whichever commits second. The global
    advisory write lock of other writes is therefore not taken: a survey batch neither waits
    for an import nor holds one up.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._engine = engine.execution_options(**{WRITE_OPTION: True})
        url = engine.url
        on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        self._lock_file = f"{url.database}.survey-writer.lock" if on_file else None
        self.window_s = window_s
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._timer: asyncio.TimerHandle | None = None
        self.batches = 0  # committed batches, for tests and benchmarks

    def submit(self, survey_id: int, response: NewResponse) -> asyncio.Future[Outcome]:
        """Queue one response; the future resolves once its batch committed (or failed).
        Call it on the running event loop."""
        loop = asyncio.get_running_loop()
        pending = _Pending(survey_id, response, loop.create_future())
        self._pending.append(pending)
        if len(self._pending) >= self.max_batch:
            self._cancel_timer()
            loop.call_soon(self.flush)  # after the caller has its future
        elif self._timer is None:
            self._timer = loop.call_later(self.window_s, self.flush)
        return pending.future

    def flush(self) -> None:
        """Write what is queued in one transaction; the futures learn their outcome after the
        commit. Any failure of the transaction fails every submission in it: none was stored."""
        self._cancel_timer()
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with self._turn(), self._engine.begin() as conn:
                outcomes = write_batch(conn, [(p.survey_id, p.response) for p in batch])
        except Exception as exc:  # every request of the batch must hear of it, whatever it is
            for p in batch:
                if not p.future.done():  # a request whose client left is cancelled
                    p.future.set_exception(exc)
            return
        self.batches += 1
        for p, outcome in zip(batch, outcomes, strict=True):
            if not p.future.done():
                p.future.set_result(outcome)

    def close(self) -> None:
        """Write what is queued now."""
        self.flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """This process's turn to write the SQLite file (nothing to wait for elsewhere)."""
        if self._lock_file is None:
            yield
            return
        with open(self._lock_file, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def write_batch(conn: Connection, batch: Sequence[tuple[int, NewResponse]]) -> list[Outcome]:
    """Insert the batch's responses in the caller's transaction; one outcome per submission.

    A receipt or device already stored, or repeated within the batch, fails only that
    submission: the in-batch repeats are found here, the stored ones by the database's unique
    keys (``ON CONFLICT DO NOTHING ... RETURNING`` says which rows went in).
    """
    surveys = sorted({s for s, _ in batch})
    open_ids = set(conn.execute(OPEN_SURVEYS, {"ids": surveys}).scalars())
    outcomes: list[Outcome | None] = [None] * len(batch)
    receipts: set[tuple[int, str]] = set()
    devices: set[tuple[int, str]] = set()
    rows: list[dict[str, Any]] = []
    for i, (survey_id, r) in enumerate(batch):
        if survey_id not in open_ids:
            outcomes[i] = Outcome.NOT_OPEN
        elif (survey_id, r.receipt) in receipts:
            outcomes[i] = Outcome.DUPLICATE_RECEIPT
        elif r.device_hash is not None and (survey_id, r.device_hash) in devices:
            outcomes[i] = Outcome.DUPLICATE_DEVICE
        else:
            receipts.add((survey_id, r.receipt))
            if r.device_hash is not None:
                devices.add((survey_id, r.device_hash))
            rows.append(r.row(survey_id))
    stored = _insert_new(conn, rows)
    refused = receipts - stored
    taken = _stored_receipts(conn, refused) if refused else set()
    for i, (survey_id, r) in enumerate(batch):
        if outcomes[i] is not None:
            continue
        key = (survey_id, r.receipt)
        if key in stored:
            outcomes[i] = Outcome.STORED
        else:
            outcomes[i] = Outcome.DUPLICATE_RECEIPT if key in taken else Outcome.DUPLICATE_DEVICE
    return [o for o in outcomes if o is not None]


# The statements are built once. The dialects' ``INSERT … ON CONFLICT`` constructs are not
# cacheable in SQLAlchemy, and compiling one per batch cost more CPU than the rows' own work
# (measured with benchmarks/survey_load.py), so the insert is a typed ``text()`` statement
# per batch size: compiled once, its JSON and timestamp values still converted by their types.
OPEN_SURVEYS = select(SURVEYS.c.id).where(
    SURVEYS.c.id.in_(bindparam("ids", expanding=True)), SURVEYS.c.status == SurveyStatus.OPEN
)
COLUMNS = ("survey_id", "receipt", "device_hash", "source", "submitted_at", "attributes", "answers")


@lru_cache(maxsize=DEFAULT_MAX_BATCH)
def _insert_rows(count: int) -> TextClause:
    """``INSERT`` of ``count`` rows that skips taken keys and returns the ones that went in."""
    groups = ", ".join("(" + ", ".join(f":{c}_{i}" for c in COLUMNS) + ")" for i in range(count))
    statement = text(
        f"INSERT INTO {RESPONSES.name} ({', '.join(COLUMNS)}) VALUES {groups} "
        "ON CONFLICT DO NOTHING RETURNING survey_id, receipt"
    )
    types = {c: RESPONSES.c[c].type for c in COLUMNS}
    return statement.bindparams(
        *(bindparam(f"{c}_{i}", type_=types[c]) for i in range(count) for c in COLUMNS)
    )


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert the rows whose keys are free; (survey, receipt) of those that went in."""
    if not rows:
        return set()
    params = {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in COLUMNS}
    return {(int(s), str(r)) for s, r in conn.execute(_insert_rows(len(rows)), params)}


def _stored_receipts(conn: Connection, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    r = RESPONSES.c
    query = select(r.survey_id, r.receipt).where(tuple_(r.survey_id, r.receipt).in_(list(keys)))
    return {(int(s), str(x)) for s, x in conn.execute(query)}
