"""``cityloop db upgrade|load-demo``, ``backup`` and ``restore`` through the real Typer app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.store import Database, Settings, migrate
from tests.store.databases import backend, new_database_url

__all__ = ["backend"]  # the fixture, shared with tests/store

runner = CliRunner()
MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"


@pytest.fixture
def urls(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of the backend: where demo data goes, and where it is restored."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for first in new_database_url(backend, tmp_path / "a"):
        for second in new_database_url(backend, tmp_path / "b"):
            yield first, second


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_upgrade_load_backup_restore(urls: tuple[str, str], tmp_path: Path) -> None:
    first, second = urls
    code, out = cli(first, "db", "load-demo", "--framework", str(MINI))
    assert code == 2
    assert "cityloop db upgrade" in out
    assert cli(first, "db", "upgrade")[0] == 0
    code, out = cli(first, "--lang", "en", "db", "upgrade")
    newest = f"already at the newest schema revision {migrate.head_revision()}"
    assert (code, newest in out) == (0, True)

    code, out = cli(first, "db", "load-demo", "--framework", str(MINI), "--cities", "31")
    assert code == 0, out
    assert "mini" in out
    assert "合成演示数据" in out

    backup = tmp_path / "备份" / "cityloop.zip"
    code, out = cli(first, "backup", str(backup))
    assert code == 0, out
    assert backup.exists()

    code, out = cli(second, "restore", str(backup))
    assert code == 0, out
    assert "校验一致" in out
    dbs = [Database.open(Settings(database_url=url)) for url in urls]
    assert dbs[0].row_counts() == dbs[1].row_counts()

    code, out = cli(second, "restore", str(backup))  # not empty any more
    assert code == 2
    assert "--force" in out
    assert cli(second, "restore", "--force", str(backup))[0] == 0
    assert dbs[0].row_counts() == dbs[1].row_counts()
    for db in dbs:
        db.dispose()


def test_a_damaged_backup_is_one_clear_line(urls: tuple[str, str], tmp_path: Path) -> None:
    first, _ = urls
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    code, out = cli(first, "--lang", "en", "restore", str(damaged))
    assert code == 2
    assert "cannot be used; the database was not changed" in out
    assert "Traceback" not in out
