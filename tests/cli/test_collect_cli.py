"""``cityloop collect open|status|remind`` through the real Typer app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cityloop.store import Database, Settings
from tests.cli.test_users_cli import MINI, cli
from tests.store.databases import backend, new_database_url

__all__ = ["backend"]


@pytest.fixture
def url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with the demo (31 cities, the mini framework); the demo opens round 1."""
    for first in new_database_url(backend, tmp_path):
        assert cli(first, "db", "upgrade")[0] == 0
        code, out = cli(first, "db", "load-demo", "--framework", str(MINI), "--cities", "31")
        assert code == 0, out
        yield first


def test_open_status_remind(url: str) -> None:
    code, out = cli(
        url, "collect", "open", "--framework", "mini", "--year", "2027", "--deadline", "2027-03-31"
    )
    assert code == 0, out
    assert "已开启征集轮次 2" in out and "2027-03-31" in out
    code, out = cli(url, "collect", "status")
    assert code == 0, out
    assert "征集轮次 2" in out and "完成率 0.0%" in out
    assert "大数据管理局" in out and "生态环境局" in out
    code, out = cli(
        url,
        "--lang",
        "en",
        "collect",
        "remind",
        "--department",
        "data_bureau",
        "--round",
        "1",
        "--message",
        "月底前",
    )
    assert code == 0, out
    assert "Chased Big data" in out and "round 1" in out
    code, out = cli(url, "collect", "status", "--round", "1")
    assert "2026" in out and "UTC" not in out
    db = Database.open(Settings(database_url=url))
    try:
        sent = db.reminders(1)
        assert [(r.department, r.unit, r.message) for r in sent] == [
            ("data_bureau", None, "月底前")
        ]
        assert sent[0].sent_by.startswith("cli:")
    finally:
        db.dispose()


def test_refusals_are_one_line_and_change_nothing(url: str) -> None:
    db = Database.open(Settings(database_url=url))
    try:
        before = db.row_counts()
        for args, expected in (
            (
                ["open", "--framework", "mini", "--year", "2026", "--deadline", "2026-12-31"],
                "已有 2026 年",
            ),
            (
                ["open", "--framework", "mini", "--year", "2027", "--deadline", "2027-02-30"],
                "不是 YYYY-MM-DD",
            ),
            (["open", "--framework", "nope", "--year", "2027", "--deadline", "2027-01-31"], "nope"),
            (["remind", "--department", "transport"], "transport"),
            (["status", "--round", "9"], "9"),
        ):
            code, out = cli(url, "collect", *args)
            assert code == 2, (args, out)
            assert expected in out and "Traceback" not in out
        assert db.row_counts() == before
    finally:
        db.dispose()
