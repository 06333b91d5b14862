"""Backup and restore of a populated site keep every table exactly: SQLite to SQLite, SQLite to
PostgreSQL and PostgreSQL to PostgreSQL, checked by a checksum that is not the backup's own.

The site has every table filled (the storage tests' ``fill``), a second framework's demo values
and runs, and JSON whose key order is not sorted (a table resource's columns, a survey's
margins), which a restore must keep as the user wrote it. A live web session is left out of
the backup: the restored databases have none (``backup.NOT_BACKED_UP``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Integer, func, insert, select, text

from cityloop.accounts.sessions import token_digest
from cityloop.datahub.indicator_table import validate_values
from cityloop.datahub.units import build_units
from cityloop.demo.generator import generate_demo
from cityloop.frameworks import Framework, load_framework
from cityloop.services import runs
from cityloop.services.store import backup, restore
from cityloop.store import Database, Origin, OriginKind, Settings, sessions
from cityloop.store.backup import NOT_BACKED_UP
from cityloop.store.models import ResourceRow
from cityloop.store.surveys import NewResponse
from tests.durability.checks import checksums, integrity_problems, present_tables
from tests.store.databases import new_database_url
from tests.store.samples import YEARS, Demo, mini
from tests.store.test_backup import fill

__all__ = ["mini"]

FRAMEWORK = "gbt33356-2016"


@pytest.fixture(scope="module")
def source(mini: Framework, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A filled SQLite database: every table, two frameworks, JSON in the user's key order."""
    folder = tmp_path_factory.mktemp("source")
    db = Database.open(Settings(database_url=f"sqlite:///{folder / 'source.db'}"))
    db.upgrade()
    gbt = load_framework(FRAMEWORK)
    data = generate_demo([mini, gbt], n_cities=31, years=YEARS, seed=11)
    units = build_units(data.units)
    frame = data.values[mini.id]
    fill(db, mini, Demo(units, validate_values(frame, mini, units), frame))
    gbt_values = validate_values(data.values[gbt.id], gbt, units)
    db.upsert_values(gbt_values, gbt, "dora", Origin(OriginKind.DEMO, "seed 11"))
    runs.evaluate_stored(db, FRAMEWORK, actor="dora")
    with db.session() as s:  # a signed-in user: a backup must not carry the session
        sessions.start(s, token_digest("live"), "dora", datetime.now(UTC))
    with db.session() as s:  # a table resource whose columns are not in sorted order
        resource_id = s.scalar(select(func.max(ResourceRow.resource_id)))
        s.execute(
            insert(ResourceRow),
            [{"resource_id": resource_id, "row_no": 3, "data": {"站": "西城", "pm25": 12.0}}],
        )
    survey = db.surveys.create(
        unit=str(units.table.index[-1]), questionnaire_id="mine", questionnaire_version="1",
        questionnaire_yaml="id: mine\n", year=2026, districts=[],
        margins={"性别": {"男": 0.49, "女": 0.51}, "age": {"60+": 0.2, "18-29": 0.8}},
        actor="dora",
    )  # fmt: skip
    db.surveys.add_responses(survey.id, [NewResponse("z", {"性别": "男"}, {"q9": 1, "q1": 2})])
    yield db
    db.dispose()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[dict[str, Database]]:
    """Fresh databases: one SQLite, two PostgreSQL."""
    places = {"sqlite": "sqlite", "pg": "postgresql", "pg2": "postgresql"}
    urls = {}
    for name, backend in places.items():
        (tmp_path / name).mkdir()
        urls[name] = new_database_url(backend, tmp_path / name)
    dbs = {name: Database.open(Settings(database_url=next(gen))) for name, gen in urls.items()}
    yield dbs
    for name, db in dbs.items():
        db.dispose()
        urls[name].close()


def test_round_trips_keep_every_table_exactly(
    source: Database, empty: dict[str, Database], tmp_path: Path
) -> None:
    expected = checksums(source)
    assert all(rows > 0 for rows, _ in expected.values()), "every table holds rows"
    backup(source, tmp_path / "sqlite.zip")

    restore(empty["sqlite"], tmp_path / "sqlite.zip")  # SQLite → SQLite
    restore(empty["pg"], tmp_path / "sqlite.zip")  # SQLite → PostgreSQL
    backup(empty["pg"], tmp_path / "pg.zip")
    restore(empty["pg2"], tmp_path / "pg.zip")  # PostgreSQL → PostgreSQL
    for name, db in empty.items():
        found = checksums(db)
        kept = set(expected) - set(NOT_BACKED_UP)
        differ = sorted(t for t in kept if found.get(t) != expected[t])
        assert differ == [], f"{name}: the round trip changed {differ}"
        assert {t: found[t][0] for t in NOT_BACKED_UP} == dict.fromkeys(NOT_BACKED_UP, 0)
        assert integrity_problems(db) == []


def test_a_restored_postgresql_database_takes_new_rows_in_every_table(
    source: Database, empty: dict[str, Database], tmp_path: Path
) -> None:
    backup(source, tmp_path / "sqlite.zip")
    target = empty["pg"]
    restore(target, tmp_path / "sqlite.zip")
    with target.engine.connect() as conn:
        assert sequences_behind(conn) == []
    # The app's own writes after the restore: rows get ids past the restored ones.
    before = target.row_counts()
    run_id, _ = runs.evaluate_stored(target, FRAMEWORK, actor="erin")
    (survey,) = [s for s in target.surveys.list() if s.questionnaire_id == "mine"][-1:]
    target.surveys.add_responses(survey.id, [NewResponse("after", {}, {"q1": 1})])
    after = target.row_counts()
    assert run_id == max(r.id for r in target.runs())
    grown = {name for name in after if after[name] > before[name]}
    assert {"evaluation_runs", "run_scores", "survey_responses", "audit_log"} <= grown


def sequences_behind(conn: Connection) -> list[str]:
    """Tables whose serial key's sequence would hand out an id already taken."""
    behind = []
    for table in present_tables(conn):
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": keys[0].name},
        ).scalar_one()
        if sequence is None:
            continue
        last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        top = conn.execute(select(func.max(keys[0]))).scalar_one()
        if top is not None and (last + 1 if called else last) <= top:
            behind.append(f"{table.name}: next id {last + int(called)} ≤ {top}")
    return behind
