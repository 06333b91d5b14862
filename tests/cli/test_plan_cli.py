"""``cityloop plan score|solve|list|show|export|scenarios`` through Typer's CliRunner on a real
SQLite file: the output names what was chosen, saved plans come back, bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import plan_solve
from cityloop.cli.common import language_option
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.store import Database, Settings

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
group = typer.Typer()
plan_solve.register_plan(group)
app.add_typer(group, name="plan")


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    result = runner.invoke(app, ["--lang", lang, "plan", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("plan-cli")
    address = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=31, user="fixture")
    runs.evaluate_stored(db, "gbt33356-2016", actor="fixture")
    units = db.units()
    assert units is not None
    db.dispose()
    return address, units.of_level("city")[0]


def test_score_solve_save_list_show_export(url: tuple[str, str], tmp_path: Path) -> None:
    address, city = url
    code, out = cli(address, "score", city)
    assert code == 0 and "gov_extranet" in out and "贴近度" in out
    code, out = cli(address, "solve", city, "--budget", "5000", "--staff", "30",
                    "--first-year", "2026", "--save", "示意规划")  # fmt: skip
    assert code == 0, out
    assert "最优" in out and "启动实施" in out and "已保存为规划 #1" in out
    code, out = cli(address, "solve", city, "--json", "--budget", "5000", lang="en")
    view = json.loads(out[out.index("{") :])
    assert code == 0 and view["status"] == "optimal" and view["first_year"] == 2026
    code, out = cli(address, "list", city)
    assert code == 0 and "示意规划" in out
    code, out = cli(address, "show", "1")
    assert code == 0 and "示意规划" in out and "启动实施" in out
    path = tmp_path / "plan.xlsx"
    code, out = cli(address, "export", "1", str(path))
    assert code == 0 and openpyxl.load_workbook(path).sheetnames[0] == "设置"


def test_scenarios_and_bad_input(url: tuple[str, str], tmp_path: Path) -> None:
    address, city = url
    code, out = cli(address, "scenarios", city, "--budget", "5000")
    assert code == 0 and "预算减少20%" in out and "规划期缩短一年" in out
    code, out = cli(address, "solve", city, "--budget", "lots")
    assert code == 2 and "budget" in out and "Traceback" not in out
    code, out = cli(address, "solve", city, "--min-share", "livelihood")
    assert code == 2 and "livelihood" in out
    code, out = cli(address, "solve", city, "--mandatory", "no_such")
    assert code == 2 and "no_such" in out
    code, out = cli(address, "show", "99")
    assert code == 2 and "99" in out
    code, out = cli(address, "export", "1", str(tmp_path / "plan.csv"))
    assert code == 2 and ".xlsx" in out


def test_ahp_judgments_weight_the_solve_and_bad_ones_exit_2(url: tuple[str, str]) -> None:
    address, city = url
    ahp = "1,1/2,3,3,3;2,1,5,5,5;1/3,1/5,1,1,1;1/3,1/5,1,1,1;1/3,1/5,1,1,1"
    code, out = cli(address, "solve", city, "--budget", "5000", "--ahp", ahp)
    assert code == 0 and "AHP 判断矩阵" in out and "一致性比率 CR = " in out
    code, out = cli(address, "solve", city, "--ahp", "1,x")
    assert code == 2 and "1,x" in out and "Traceback" not in out


def test_json_on_the_real_command_line_is_only_json(url: tuple[str, str]) -> None:
    # HiGHS prints a banner on C-level stdout when a process makes its first solver; the
    # `plan` group mutes it, which only a real process (not CliRunner) can show.
    address, city = url
    command = Path(sys.executable).with_name("cityloop")
    done = subprocess.run(
        [str(command), "plan", "solve", city, "--budget", "5000", "--json"],
        env={**os.environ, "CITYLOOP_DATABASE_URL": address},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "optimal"
