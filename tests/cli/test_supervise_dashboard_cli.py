"""``cityloop supervise track|list|dashboard|show|progress`` through Typer's CliRunner on a real
SQLite file: a saved plan becomes tracked, the dashboard names lights and warnings, a progress
report is recorded as the stored user, a foreign project manager and bad options exit 2."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from cityloop.accounts import HashParameters, Role
from cityloop.cli import supervise_dashboard
from cityloop.cli.common import language_option
from cityloop.i18n import t
from cityloop.services import runs, users
from cityloop.services import store as store_service
from cityloop.services.plan_demo import save_demo_plan
from cityloop.store import Database, Settings

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
group = typer.Typer()
supervise_dashboard.register_supervise(group)
app.add_typer(group, name="supervise")
CHEAP = HashParameters(time_cost=1, memory_cost=8)


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    result = runner.invoke(app, ["--lang", lang, "supervise", *args],
                           env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})  # fmt: skip
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, int]:
    folder = tmp_path_factory.mktemp("supervise-cli")
    address = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=31, user="fixture")
    runs.evaluate_stored(db, "gbt33356-2016", actor="fixture")
    units = db.units()
    assert units is not None
    city = units.of_level("city")[0]
    plan_id = save_demo_plan(db, city, actor="fixture")
    assert plan_id is not None
    for name, department in (("pm_data", "data_bureau"), ("pm_police", "public_security")):
        users.add_user(db, name, "Zhihui-Chengshi-2026", Role.PROJECT_MANAGER, None, department,
                       actor="fixture", params=CHEAP)  # fmt: skip
    db.dispose()
    return address, city, plan_id


def test_track_list_dashboard_show_and_report(planned: tuple[str, str, int]) -> None:
    address, city, plan_id = planned
    code, out = cli(address, "track", str(plan_id), "--owner", "data_platform=data_bureau")
    assert code == 0 and "已开始跟踪" in out and "data_platform" in out
    code, out = cli(address, "track", str(plan_id))
    assert code == 0 and "未新增任何项目" in out
    code, out = cli(address, "list", city)
    assert code == 0 and "data_platform" in out and "城市大数据平台" in out
    code, out = cli(address, "dashboard", city, "--as-of", "2027-06-30")
    assert code == 0, out
    assert "按阶段" in out and "启动实施" in out and "需整改" in out and "进度滞后" in out
    code, out = cli(address, "dashboard", city, "--as-of", "2027-06-30", "--json", lang="en")
    board = json.loads(out)
    assert board["status_date"] == "2027-06-30" and board["warnings"]
    assert {p["code"] for p in board["projects"]} >= {"data_platform"}
    code, out = cli(address, "progress", city, "data_platform", "--user", "pm_data",
                    "--report-date", "2026-06-30", "--milestone", "1=60",
                    "--gate", "design_review=2026-03-10", "--pay", "2026-05-20=300",
                    "--note", "一期进展")  # fmt: skip
    assert code == 0 and "进度报告已保存" in out, out
    code, out = cli(address, "show", city, "data_platform", "--json")
    detail = json.loads(out)
    assert detail["milestones"][0]["percent_complete"] == 60.0
    assert detail["gates"][0]["passed_date"] == "2026-03-10"
    assert [(p["day"], p["amount"]) for p in detail["payments"]] == [("2026-05-20", 300.0)]
    assert detail["history"][0]["note"] == "一期进展"
    code, out = cli(address, "show", city, "data_platform", lang="en")
    assert code == 0 and t("supervision.gate.design_review", "en") in out and "2026-03-10" in out


def test_refusals_exit_2_and_change_nothing(planned: tuple[str, str, int]) -> None:
    address, city, plan_id = planned
    cli(address, "track", str(plan_id), "--owner", "data_platform=data_bureau")
    code, out = cli(address, "progress", city, "data_platform", "--user", "pm_police",
                    "--report-date", "2026-07-31", "--note", "不应写入")  # fmt: skip
    assert code == 2 and "data_bureau" in out
    for bad in (["--milestone", "1"], ["--pay", "2026-05-20"], ["--report-date", "31.07.2026"],
                ["--milestone", "1=150"], ["--gate", "no_such_gate=2026-01-01"]):  # fmt: skip
        code, out = cli(address, "progress", city, "data_platform", "--user", "pm_data", *bad)
        assert code == 2, (bad, out)
        assert "Traceback" not in out
    code, out = cli(address, "progress", city, "data_platform", "--user", "nobody")
    assert code == 2 and "nobody" in out
    code, out = cli(address, "dashboard", city, "--as-of", "June")
    assert code == 2 and "June" in out
    code, out = cli(address, "show", city, "data_platform", "--json")
    assert all(h["note"] != "不应写入" for h in json.loads(out)["history"])
