"""``cityloop plan catalogue …``: every command once through Typer's CliRunner on a real SQLite
file, and a refused import that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import plan_catalogue
from cityloop.cli.common import language_option
from cityloop.store import Database, Settings
from tests.store.samples import mini, mini_demo

__all__ = ["mini", "mini_demo"]  # the fixtures the database fixture uses

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
plan_app = typer.Typer()
plan_catalogue.register_plan(plan_app)
app.add_typer(plan_app, name="plan")


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    result = runner.invoke(app, ["--lang", lang, "plan", "catalogue", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture
def url(tmp_path: Path, mini_demo: object) -> tuple[str, str]:
    address = f"sqlite:///{tmp_path / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    db.load_units(mini_demo.units, "fixture")  # type: ignore[attr-defined]
    city = str(mini_demo.units.table.index[1])  # type: ignore[attr-defined]
    db.plan_projects.write(city, {"xueliang": {"importance": 1}}, actor="fixture")
    db.dispose()
    return address, city


def test_every_command(url: tuple[str, str], tmp_path: Path) -> None:
    address, city = url
    code, out = cli(address, "list")
    assert code == 0 and "city_brain" in out and "7000" in out and "示意性" in out
    code, out = cli(address, "list", "--unit", city, "--domain", "security", lang="en")
    assert code == 0 and "xueliang" in out and "changed locally" in out and "city_brain" not in out
    code, out = cli(address, "show", "city_brain")
    assert code == 0 and "data_platform" in out and "城市运行管理中心" in out
    code, out = cli(address, "show", "nope", "--unit", city)
    assert code == 2 and "nope" in out
    book = tmp_path / "p.xlsx"
    code, out = cli(address, "export", str(book), "--unit", city)
    assert code == 0 and book.stat().st_size > 0
    code, out = cli(address, "import", str(book), "--unit", city)
    assert code == 0 and "1" in out
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    code, out = cli(address, "import", str(broken), "--unit", city)
    assert code == 2 and "broken.xlsx" in out
    code, out = cli(address, "reset", "xueliang", "--unit", city)
    assert code == 0 and "xueliang" in out
    code, out = cli(address, "reset", "xueliang", "--unit", city)
    assert code == 0 and "未作更改" in out
    code, out = cli(address, "list", "--unit", "no-such-unit")
    assert code == 2 and "no-such-unit" in out
