"""The writer the crash tests kill: acknowledged writes through the real code paths, in a loop,
each acknowledgement appended to a side file only after its commit has returned.

Three workloads: data entry (``services.collection.save_cells``), public survey submissions
(``services.survey_collect.Collector``, group commit) and evaluation runs
(``services.runs.evaluate_stored``). ``prepare`` builds the database they write to.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cityloop.accounts import Principal, Role
from cityloop.frameworks.schema import ValueType
from cityloop.services import collection, runs, survey_collect
from cityloop.services import store as store_service
from cityloop.services.survey_collect import Collector, SurveySettings
from cityloop.store import Database, OriginKind, Settings
from cityloop.store.survey_writer import Outcome
from tests.services.test_survey_collect import CITIZEN, payload

FRAMEWORK = "gbt33356-2016"
N_CITIES = 31  # the smallest demo the generator makes
YEARS = (2025,)  # one year keeps a run short, so kills land in and between runs
DISTRICTS = ({"code": "d1", "name_zh": "一区", "name_en": "District 1"},)
SECRET = "durability-" * 4
CELLS_PER_WRITE = 4  # cells of one data-entry transaction: all of them are stored, or none
SUBMISSIONS_PER_BATCH = 8  # survey submissions sent at once, to fill group-commit batches
WORKLOADS = ("values", "surveys", "runs")
READY = "ready"
# Kinds of value any number from 10 to 60 is valid for (shares, scores and booleans are not).
FREE_TYPES = (ValueType.PERCENTAGE, ValueType.AMOUNT, ValueType.RATE, ValueType.INDEX)
ADMIN = Principal("durability", Role.ADMINISTRATOR)


@dataclass(frozen=True)
class Job:
    """One writer process: its database, workload, side file and tag (unique per process)."""

    url: str
    workload: str
    acks: Path
    tag: str
    limit: int | None = None  # acknowledged writes before a clean exit; None: until killed


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` stored: the survey's slug and the run whose score count all share."""

    slug: str
    survey_id: int
    run_id: int


def prepare(url: str) -> Prepared:
    """Upgrade a fresh database and store the demo (31 cities), one run and an open survey."""
    db = Database.open(Settings(database_url=url))
    try:
        db.upgrade()
        store_service.load_demo(db, [FRAMEWORK], n_cities=N_CITIES, user="prepare")
        run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="prepare", years=YEARS)
        units = db.units()
        assert units is not None
        city = str(units.table.index[units.table["level"] == "city"][0])
        survey = survey_collect.open_survey(
            db, city, CITIZEN, year=2026, actor="prepare", districts=DISTRICTS
        )
        return Prepared(survey.slug, survey.id, run_id)
    finally:
        db.dispose()


def run(job: Job) -> None:
    """Write ``job.workload`` until killed (or ``job.limit`` writes); the process's entry."""
    db = Database.open(Settings(database_url=job.url))
    fd = os.open(job.acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def acknowledge(line: str) -> None:
        # One write(2) per line: the kernel keeps it whatever happens to this process next.
        os.write(fd, f"{line}\n".encode())

    WRITERS[job.workload](db, job, acknowledge)
    os.close(fd)
    db.dispose()


def _values(db: Database, job: Job, acknowledge: Callable[[str], None]) -> None:
    """Data entry: each write sets ``CELLS_PER_WRITE`` cells, all noted with the write's key."""
    round_ = collection.choose_round(db, None)
    assert round_ is not None, "the demo opens a collection round"
    scope = collection.scope_of(db, ADMIN, round_, datetime.now(UTC))
    typed = [i for i in scope.framework.indicators if i.value_type in FREE_TYPES and not i.derived]
    indicators = [i.code for i in typed[:CELLS_PER_WRITE]]
    unit = scope.collected[0]
    acknowledge(READY)
    count = 0
    while job.limit is None or count < job.limit:
        key = f"{job.tag}-{count}"
        cells = [
            collection.CellInput(unit, indicator, f"{10 + count % 50 + k / 4}", "durability", key)
            for k, indicator in enumerate(indicators)
        ]
        collection.save_cells(db, ADMIN, scope, cells, OriginKind.FORM)
        acknowledge(f"values {key}")
        count += 1


def _surveys(db: Database, job: Job, acknowledge: Callable[[str], None]) -> None:
    """Public submissions, ``SUBMISSIONS_PER_BATCH`` at a time through the group commit."""
    collector = Collector(db, SECRET, SurveySettings())
    (survey_slug,) = [s.slug for s in db.surveys.list() if s.status == "open"]
    survey = collector.survey(survey_slug)
    answers = payload(district=DISTRICTS[0]["code"])

    async def submit_all() -> None:
        acknowledge(READY)
        count = 0
        while job.limit is None or count < job.limit:
            tokens = [collector.issue_token(survey) for _ in range(SUBMISSIONS_PER_BATCH)]
            done = await asyncio.gather(*(collector.submit(survey, t, answers) for t in tokens))
            for receipt, outcome in done:
                assert outcome == Outcome.STORED, outcome
                acknowledge(f"surveys {receipt}")
            count += 1

    asyncio.run(submit_all())


def _runs(db: Database, job: Job, acknowledge: Callable[[str], None]) -> None:
    """Evaluation runs of the stored values; a run is acknowledged by its id."""
    acknowledge(READY)
    count = 0
    while job.limit is None or count < job.limit:
        run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor=job.tag, years=YEARS)
        acknowledge(f"runs {run_id}")
        count += 1


WRITERS: dict[str, Callable[[Database, Job, Callable[[str], None]], None]] = {
    "values": _values,
    "surveys": _surveys,
    "runs": _runs,
}
