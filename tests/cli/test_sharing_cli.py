"""``cityloop sharing …``: every command once through Typer's CliRunner on a real SQLite file,
and a refusal as one clear line with exit status 2."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import sharing
from cityloop.cli.common import language_option
from cityloop.store import Database, Settings
from tests.store.sharing_rows import Seeded, seed_sharing

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
sharing.register(app)
PURPOSE = "用于交通拥堵治理分析研究"


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--lang", "en", "sharing", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Seeded]:
    address = f"sqlite:///{tmp_path_factory.mktemp('sharing-cli') / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    seeded = seed_sharing(db, "990100")
    db.dispose()
    return address, seeded


def test_every_command(seeded: tuple[str, Seeded]) -> None:
    url, ids = seeded
    code, out = cli(url, "request", str(ids.conditional), "--department", "transport",
                    "--purpose", PURPOSE)  # fmt: skip
    assert code == 0 and "#1: Pending" in out and "clk_" not in out
    code, out = cli(url, "decide", "1", "--approve")
    assert code == 0 and "#1: Approved" in out
    key = re.search(r"clk_[A-Za-z0-9_-]+", out)
    assert key is not None
    code, out = cli(url, "list", "--department", "transport")
    assert code == 0 and PURPOSE in out
    code, out = cli(url, "keys")
    assert code == 0 and key.group(0)[:12] in out and "Live" in out
    code, out = cli(url, "revoke", "1")
    assert code == 0 and "revoked" in out
    code, out = cli(url, "revoke", "1")
    assert code == 2 and "revoked already" in out
    code, out = cli(url, "request", str(ids.not_shareable), "--department", "transport",
                    "--purpose", PURPOSE)  # fmt: skip
    assert code == 2 and "not shareable" in out and "Traceback" not in out
    code, out = cli(url, "log")
    assert code == 0 and "0 of 0" in out
