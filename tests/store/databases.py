"""Database fixtures: every storage test runs on a real SQLite file and a real PostgreSQL.

PostgreSQL comes from ``CITYLOOP_TEST_POSTGRES_URL`` (``scripts/test`` starts a server and sets
it). Without it the PostgreSQL cases are skipped, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cityloop.store import Database, Settings

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ENV = "CITYLOOP_TEST_POSTGRES_URL"


def postgres_server() -> str:
    """The test server's URL; skip (or fail in CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must run the tests on PostgreSQL too")
        pytest.skip(f"{POSTGRES_ENV} is not set (scripts/test starts a server and sets it)")
    return url


def new_database_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database of ``backend``, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'cityloop.db'}"
        return
    server = make_url(postgres_server())
    name = f"cityloop_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database (no tables) on each backend."""
    yield from new_database_url(backend, tmp_path)


@pytest.fixture
def empty_db(db_url: str) -> Iterator[Database]:
    """A ``Database`` on a fresh database without any table."""
    db = Database.open(Settings(database_url=db_url))
    yield db
    db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    """A ``Database`` migrated to the newest revision, without rows."""
    empty_db.upgrade()
    return empty_db
