"""Fixtures of the importer fuzz tests: the hypothesis profiles, one populated SQLite world per
test process, and the ``Guard`` that checks every refusal (clear, translated, file named) and
that a refused import changed nothing.

Profiles: ``fuzz-ci`` (default; bounded and derandomised, so CI is repeatable) and
``fuzz-long`` (``CITYLOOP_FUZZ=fuzz-long``: many more random examples, for a local hunt).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

from cityloop.errors import CityLoopError, InputError
from cityloop.i18n import catalogue
from cityloop.store import Database
from tests.durability.checks import changed_tables, checksums
from tests.fuzz.world import World, build_world

settings.register_profile(
    "fuzz-ci",
    max_examples=20,
    deadline=None,
    derandomize=True,
    print_blob=True,
    # One world per process is shared on purpose: examples are independent because every
    # check compares the database with itself just before the example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz-long",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Applied per test (``@FUZZ``) rather than loaded, so the rest of the suite keeps its profile.
FUZZ = settings.get_profile(os.environ.get("CITYLOOP_FUZZ", "fuzz-ci"))

Result = TypeVar("Result")
LANGUAGES = ("zh-CN", "en")


class Guard:
    """Runs one import and checks how it ended: done, or refused with a clear message and the
    database exactly as it was.

    ``full``: compare the checksum of every table (``tests.durability.checks``) before and
    after. Otherwise (SQLite only) compare SQLite's ``PRAGMA data_version`` seen from a
    connection of its own: it changes whenever another connection commits a change, so it
    proves the same "nothing written" in microseconds instead of a second per example.
    """

    def __init__(self, db: Database, *, full: bool = False) -> None:
        self.db = db
        self.full = full or db.engine.dialect.name != "sqlite"
        self.watcher: sqlite3.Connection | None = None
        if not self.full:
            self.watcher = sqlite3.connect(str(db.engine.url.database))

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def state(self) -> object:
        """Every table's checksum, or (SQLite) the commit counter as another connection sees
        it."""
        if self.watcher is None:
            return checksums(self.db)
        return self.watcher.execute("PRAGMA data_version").fetchone()[0]

    def attempt(self, call: Callable[[], Result], *, file: str | None = None) -> Result | None:
        """``call()``'s result, or None when it refused with a ``CityLoopError`` (any other
        exception fails the test: a crash). ``file``: the name the message must show."""
        before = self.state()
        try:
            return call()
        except CityLoopError as caught:
            refusal = caught
        check_message(refusal, file)
        after = self.state()
        if isinstance(before, dict) and isinstance(after, dict):
            assert changed_tables(before, after) == [], f"refused, yet wrote: {refusal}"
        assert after == before, f"refused, yet committed a write: {refusal}"
        return None


def check_message(refusal: CityLoopError, file: str | None) -> None:
    """The refusal speaks both languages from the catalogue, names ``file`` and holds no
    traceback."""
    keys = [refusal.key, *(p.key for p in getattr(refusal, "problems", []))]
    for lang in LANGUAGES:
        missing = [k for k in keys if k not in catalogue(lang)]
        assert not missing, f"untranslated keys {missing} ({lang})"
        text = refusal.render(lang)
        assert text.strip() and "Traceback" not in text and 'File "' not in text, text
        if file is not None and isinstance(refusal, InputError):
            assert file in text, f"the message does not name {file}: {text}"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The populated SQLite world of this test process."""
    folder: Path = tmp_path_factory.mktemp("fuzz-world")
    built = build_world(f"sqlite:///{folder / 'cityloop.db'}")
    yield built
    built.db.dispose()


@pytest.fixture
def guard(world: World) -> Iterator[Guard]:
    """A guard of the world for property tests (the fast SQLite check)."""
    watching = Guard(world.db)
    yield watching
    watching.close()


@pytest.fixture
def full_guard(world: World) -> Guard:
    """A guard of the world that compares the checksum of every table (fixed cases)."""
    return Guard(world.db, full=True)
