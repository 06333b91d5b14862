"""``cityloop derive …``: run (once and repeated with --every/--runs) and show, through Typer's
CliRunner on a real SQLite file; a bad framework is one clear line and exit status 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import derived as derived_cli
from cityloop.cli.common import language_option
from cityloop.services import derived
from cityloop.store import Database, Settings
from tests.store.observations import add_readings
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["mini", "mini_demo"]  # the storage fixtures this module uses
runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
derived_cli.register(app)
FRAMEWORK = "cityloop-operations-2026"


def cli(url: str, *args: str, lang: str = "en") -> tuple[int, str]:
    argv = ["--lang", lang, "derive", *args]
    result = runner.invoke(app, argv, env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mini_demo: Demo) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("derive-cli")
    url = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    db.load_units(mini_demo.units, "fixture")
    city = str(mini_demo.units.table.index[mini_demo.units.table["level"] == "city"][0])
    start = derived.year_window(2025, "Asia/Shanghai").start
    lights = pd.DataFrame(
        {"entity_id": ["l1", "l2"], "attribute": "status", "observed_at": start + np.arange(2),
         "text": ["ok", "columnIssue"]}
    )  # fmt: skip
    add_readings(db, city, "Streetlight", lights)
    db.dispose()
    return url, city


def test_run_writes_and_a_second_run_changes_nothing(site: tuple[str, str]) -> None:
    url, city = site
    code, out = cli(url, "run", FRAMEWORK, "--unit", city, "--year", "2025")
    assert code == 0, out
    assert "OPS-LIGHT-OK" in out and "50" in out and "skipped" in out
    code, out = cli(
        url, "run", FRAMEWORK, "--unit", city, "--year", "2025", "--every", "1", "--runs", "2"
    )
    assert code == 0 and out.count("0 new, 0 updated") == 2


def test_show_gives_the_formula_and_the_provenance(site: tuple[str, str]) -> None:
    url, city = site
    cli(url, "run", FRAMEWORK, "--unit", city, "--year", "2025")
    code, out = cli(url, "show", FRAMEWORK, city, "2025", "OPS-LIGHT-OK", lang="zh-CN")
    assert code == 0, out
    assert 'share(Streetlight.status == "ok")' in out and "观测数: 2" in out and "l2" in out


def test_a_framework_without_formulas_is_one_clear_line(site: tuple[str, str]) -> None:
    url, city = site
    code, out = cli(url, "run", "gbt33356-2016", "--unit", city, "--year", "2025")
    assert code == 2 and "no derived-indicator formulas" in out and "Traceback" not in out
