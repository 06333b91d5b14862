"""Where the database lives: settings read from the environment, and the engine built from them.

Nothing connects at import time; ``make_engine(settings)`` is called by whoever needs a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url

from cityloop.errors import InputError

DB_FILE = "cityloop.db"
# Lets SQLite transactions that write say so up front (``BEGIN IMMEDIATE``); see make_engine.
WRITE_OPTION = "cityloop_write"
LARGEST_ID = 2**31 - 1  # PostgreSQL ``integer``, the type of the ids and counts
NUMERIC_VALUE_OUT_OF_RANGE = "22003"  # SQLSTATE
# SQLSTATEs of text PostgreSQL cannot hold: a NUL byte or an invalid character in text, and
# ``\u0000`` inside JSON.
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


class Settings(BaseSettings):
    """CityLoop's settings, each from ``CITYLOOP_<NAME>``: the database is ``database_url`` (any
    SQLAlchemy URL) or, by default, an SQLite file in ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", extra="ignore")

    data_dir: Path = Path("cityloop-data")
    database_url: str | None = None
    busy_timeout_s: float = 30.0  # how long an SQLite writer waits for another to finish
    hsts: bool = False  # the web app sends Strict-Transport-Security (only behind HTTPS)
    secure_cookies: bool = False  # session cookie only over HTTPS (set it behind HTTPS)
    secret_key: str | None = None  # signs session cookies; default: a key kept in data_dir

    @property
    def url(self) -> URL:
        if self.database_url:
            url = make_url(self.database_url)
            # "postgresql://" means the psycopg 3 driver we ship, not the absent psycopg2.
            return (
                url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
            )
        return URL.create("sqlite", database=str(self.data_dir / DB_FILE))


def make_engine(settings: Settings) -> Engine:
    """The engine for ``settings.url``; SQLite files get the pragmas that keep writes durable."""
    url = settings.url
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "handle_error", refuse_unstorable)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": settings.busy_timeout_s})
    event.listen(engine, "handle_error", refuse_unstorable)
    busy_ms = int(settings.busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is switched off so that SQLAlchemy's BEGIN
        # (below) starts every transaction: DDL in migrations is then transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers work while one writer commits. synchronous=FULL syncs the WAL on
        # every commit: with NORMAL a power cut may lose the last commits, and a write the
        # user was told succeeded must stay written (DESIGN: durable writes).
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={busy_ms}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the write lock at BEGIN and waits its turn (busy_timeout); a deferred
        # transaction that reads first and writes later fails at once when another writer
        # committed in between. Readers stay deferred so that they never block each other.
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def refuse_unstorable(context: ExceptionContext) -> InputError | None:
    """Input the database cannot hold is refused, not a server error (both found by fuzzing
    the API): an integer past its range (an id of 2**40 on PostgreSQL, 2**64 on SQLite), and
    on PostgreSQL text with a NUL character (psycopg refuses it before sending, without a
    SQLSTATE) or one PostgreSQL rejects."""
    error = context.original_exception
    state = getattr(error, "sqlstate", None)
    if isinstance(error, OverflowError) or state == NUMERIC_VALUE_OUT_OF_RANGE:
        return InputError("store.number_out_of_range", limit=LARGEST_ID)
    if state in UNSTORABLE_TEXT or (state is None and "NUL (0x00)" in str(error)):
        return InputError("store.text_unstorable")
    return None


def display_url(url: URL) -> str:
    """The URL with its password hidden, for messages."""
    return url.render_as_string(hide_password=True)
