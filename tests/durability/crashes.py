"""Kill cycles: start a writer, SIGKILL it at a chosen moment, then compare what it had
acknowledged with what the database holds. The CI test and benchmarks/crash_writes.py share it.

Writers are forked from a forkserver that has imported CityLoop once, so a cycle costs a fork
and a database connection, not a Python start-up.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from pathlib import Path

from sqlalchemy import func, select

from cityloop.store import Database, Settings
from cityloop.store.models import EvaluationRun, IndicatorValue, RunScore, ValueHistory
from tests.durability import writer
from tests.durability.writer import CELLS_PER_WRITE, READY, Job, Prepared

READY_TIMEOUT_S = 120.0  # a loaded CI machine may take long to connect and read the round


def forkserver() -> ForkServerContext:
    """The context writers start in; its server imports the writer (and CityLoop) once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.durability.writer"])
    return context


@dataclass
class Tally:
    """What the kill cycles of one workload showed, summed over cycles."""

    cycles: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, yet not (all) stored
    partial: list[str] = field(default_factory=list)  # stored in part: atomicity broken


def kill_cycle(
    context: ForkServerContext,
    job: Job,
    delay_s: float,
    before_kill: Callable[[], None] | None = None,
) -> list[str]:
    """Run ``job``'s writer, SIGKILL it ``delay_s`` after it is ready (``before_kill`` first:
    a database server's crash); return its acknowledgements."""
    process = context.Process(target=writer.run, args=(job,), daemon=True)
    process.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _acks(job.acks):
        if not process.is_alive():
            raise RuntimeError(f"writer {job.tag} exited with {process.exitcode} before writing")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"writer {job.tag} not ready after {READY_TIMEOUT_S} s")
        time.sleep(0.01)
    time.sleep(delay_s)
    if before_kill is not None:
        before_kill()
    process.kill()
    process.join()
    return [line for line in _acks(job.acks) if line != READY]


def clean_run(context: ForkServerContext, job: Job) -> list[str]:
    """Run ``job`` (with a ``limit``) to its end: the writer must exit cleanly."""
    process = context.Process(target=writer.run, args=(job,))
    process.start()
    process.join(READY_TIMEOUT_S)
    if process.exitcode != 0:
        process.kill()
        raise RuntimeError(f"writer {job.tag} ended with {process.exitcode}")
    return [line for line in _acks(job.acks) if line != READY]


def _acks(path: Path) -> list[str]:
    # A line the kill cut short has no newline yet: it was never acknowledged.
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.split("\n")[:-1]


def verify(db: Database, prepared: Prepared, workload: str, acks: list[str], tag: str) -> Tally:
    """One cycle's tally: every acknowledged write of ``tag`` stored whole, nothing half."""
    keys = [line.split(" ", 1)[1] for line in acks]
    tally = Tally(cycles=1, acknowledged=len(keys))
    if workload == "values":
        with db.reader() as s:
            notes = Counter(
                dict(
                    s.execute(
                        select(ValueHistory.note, func.count())
                        .where(ValueHistory.note.like(f"{tag}-%"))
                        .group_by(ValueHistory.note)
                    ).all()
                )
            )
        tally.lost = [k for k in keys if notes[k] != CELLS_PER_WRITE]
        tally.partial = [k for k, n in notes.items() if n != CELLS_PER_WRITE]
    elif workload == "surveys":
        stored = db.surveys.receipts(prepared.survey_id)
        tally.lost = [k for k in keys if k not in stored]
    else:
        with db.reader() as s:
            scores = dict(
                s.execute(
                    select(EvaluationRun.id, func.count(RunScore.run_id))
                    .outerjoin(RunScore, RunScore.run_id == EvaluationRun.id)
                    .group_by(EvaluationRun.id)
                ).all()
            )
        full = scores[prepared.run_id]
        tally.lost = [k for k in keys if scores.get(int(k)) != full]
        tally.partial = [str(r) for r, n in scores.items() if n != full]
    return tally


def current_values_disagree(db: Database) -> list[str]:
    """Cells whose current value is not the value of their newest history row."""
    cell = (ValueHistory.framework_id, ValueHistory.region_code, ValueHistory.year)
    newest = select(func.max(ValueHistory.id)).group_by(*cell, ValueHistory.indicator)
    with db.reader() as s:
        history = {
            tuple(row[:4]): row[4]
            for row in s.execute(
                select(*cell, ValueHistory.indicator, ValueHistory.value).where(
                    ValueHistory.id.in_(newest)
                )
            )
        }
        current = {
            tuple(row[:4]): row[4]
            for row in s.execute(
                select(
                    IndicatorValue.framework_id,
                    IndicatorValue.region_code,
                    IndicatorValue.year,
                    IndicatorValue.indicator,
                    IndicatorValue.value,
                )
            )
        }
    return sorted(
        "/".join(map(str, k))
        for k in current.keys() | history.keys()
        if current.get(k) != history.get(k)
    )


def open_database(url: str) -> Database:
    return Database.open(Settings(database_url=url))
