"""Settings from the environment and the engine they build; SQLite's durability pragmas."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cityloop.store import Settings, make_engine
from cityloop.store.settings import display_url


def test_default_is_an_sqlite_file_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CITYLOOP_DATABASE_URL", raising=False)
    monkeypatch.setenv("CITYLOOP_DATA_DIR", str(tmp_path / "data"))
    url = Settings().url
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "data" / "cityloop.db")
    assert not (tmp_path / "data").exists()  # nothing is created until an engine is made


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", "postgresql://u:secret@db.example/city")
    url = Settings().url
    assert url.drivername == "postgresql+psycopg"  # the driver CityLoop ships
    assert "secret" not in display_url(url)
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", "postgresql+psycopg://u@h/c")
    assert Settings().url.drivername == "postgresql+psycopg"


def test_sqlite_engine_keeps_acknowledged_writes(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path / "new", busy_timeout_s=7))
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
        conn.execute(text("SELECT 1"))
    engine.dispose()
    # synchronous 2 = FULL: WAL is synced on every commit.
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 7000,
    }
    assert (tmp_path / "new" / "cityloop.db").exists()
