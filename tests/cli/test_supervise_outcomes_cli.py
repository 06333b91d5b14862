"""``cityloop supervise assess|outcomes|feedback`` through Typer's CliRunner on a real SQLite
file with a planted panel: the verdicts and skipped projects print, JSON parses, feedback
changes the ranges once, bad input exits 2 with a clear line."""

from __future__ import annotations

import json
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import supervise_outcomes
from cityloop.cli.common import language_option
from cityloop.services import store as store_service
from cityloop.store import Database, Settings
from tests.services.test_outcomes import deliver, delivered_project, plant_values

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
group = typer.Typer()
supervise_outcomes.register_supervise(group)
app.add_typer(group, name="supervise")


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    result = runner.invoke(app, ["--lang", lang, "supervise", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "240"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("outcomes-cli")
    address = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=31, user="fixture")
    units = db.units()
    assert units is not None
    city = units.of_level("city")[0]
    plant_values(db, city, units.of_level("city"))
    db.tracking.create(city, [
        delivered_project("e_license", "电子证照", 2023, date(2023, 11, 30)),
        delivered_project("gigabit_broadband", "千兆光网", 2021, date(2023, 11, 30)),
        delivered_project("credit_platform", "信用平台", 2025, date(2025, 11, 30)),
    ], actor="planner")  # fmt: skip
    deliver(db, city, "e_license", date(2023, 11, 30), 800.0)
    deliver(db, city, "gigabit_broadband", date(2023, 11, 30), 7500.0)
    deliver(db, city, "credit_platform", date(2025, 11, 30), 700.0)
    db.dispose()
    return address, city


def test_assess_outcomes_and_feedback(url: tuple[str, str]) -> None:
    address, city = url
    code, out = cli(address, "outcomes", city)
    assert code == 0 and "尚无成效评估报告" in out
    code, out = cli(address, "assess", city, "--as-of", "2026-06-30")
    assert code == 0, out
    assert "达到预期" in out and "规划大、成效小" in out and "交付后年份不足" in out
    code, out = cli(address, "assess", city, "--as-of", "2026-06-30", "--json", lang="en")
    assert code == 0, out
    report = json.loads(out[out.index("{") :])
    verdicts = {p["code"]: p["verdict"] for p in report["projects"]}
    assert verdicts == {"e_license": "delivered", "gigabit_broadband": "big_plan_small_result"}
    code, out = cli(address, "outcomes", city, "--report", str(report["id"] - 1), lang="en")
    assert code == 0 and f"Report #{report['id'] - 1}" in out and "Big plan, small result" in out
    code, out = cli(address, "outcomes", city, "--json")
    assert [r["id"] for r in json.loads(out)["reports"]] == [report["id"], report["id"] - 1]

    code, out = cli(address, "feedback", city, "--json")
    assert code == 0, out
    changes = {c["code"]: c for c in json.loads(out)}
    assert changes["gigabit_broadband"]["after"][1] < changes["gigabit_broadband"]["before"][1]
    code, out = cli(address, "feedback", city)
    assert code == 0 and "0 项预期成效已更新" in out


def test_bad_input_exits_2_with_a_clear_line(url: tuple[str, str]) -> None:
    address, city = url
    code, out = cli(address, "assess", city, "--as-of", "30/06/2026")
    assert code == 2 and "30/06/2026" in out and "Traceback" not in out
    code, out = cli(address, "outcomes", city, "--report", "999999", lang="en")
    assert code == 2 and "no outcome report 999999" in out
    code, out = cli(address, "assess", "999999")
    assert code == 2 and "999999" in out
