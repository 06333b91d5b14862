"""``cityloop catalogue …``: every command once through Typer's CliRunner on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import catalogue
from cityloop.cli.common import language_option
from cityloop.services import store as store_service
from cityloop.services.catalogue import load_demo_catalogue
from cityloop.store import Database, Settings

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
catalogue.register(app)


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["catalogue", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("catalogue-cli")
    address = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=40, user="fixture")
    units = db.units()
    assert units is not None
    city = units.of_level("city")[0]
    load_demo_catalogue(db, city, actor="fixture")
    db.dispose()
    return address, city


def test_every_command(url: tuple[str, str], tmp_path: Path) -> None:
    address, city = url
    code, out = cli(address, "list", "--unit", city)
    assert code == 0 and "201001-000001" in out
    code, out = cli(address, "show", "1")
    assert code == 0 and "201001-000001" in out and "AirQualityObserved" in out
    for name in ("c.xlsx", "c.jsonld", "c.ttl"):
        code, out = cli(address, "export", str(tmp_path / name), "--unit", city)
        assert code == 0 and (tmp_path / name).stat().st_size > 0, out
        code, out = cli(address, "import", str(tmp_path / name), "--unit", city)
        assert code == 0 and "0" in out, out
    code, out = cli(address, "publish", "5", "--withdraw")
    assert code == 0 and "202005-000005" in out
    rows = tmp_path / "rows.csv"
    rows.write_text("period,item,value\n2025-01-01,合成,1.5\n", encoding="utf-8")
    stats = next(line for line in cli(address, "list")[1].splitlines() if "国民经济" in line)
    code, out = cli(address, "upload-rows", stats.split()[1], str(rows))
    assert code == 0 and "1" in out, out


def test_user_errors_are_one_clear_line(url: tuple[str, str], tmp_path: Path) -> None:
    address, city = url
    code, out = cli(address, "import", str(tmp_path / "missing.xlsx"), "--unit", city)
    assert code == 2 and "missing.xlsx" in out
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix x: <y> .", encoding="utf-8")
    code, out = cli(address, "import", str(bad), "--unit", city)
    assert code == 2 and "dcat:Dataset" in out and "Traceback" not in out
    code, out = cli(address, "show", "9999")
    assert code == 2
