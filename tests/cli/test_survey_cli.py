"""``cityloop survey …``: every command once through Typer's CliRunner on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cityloop.cli import survey
from cityloop.cli.common import language_option
from cityloop.services import store as store_service
from cityloop.services.survey_demo import demo_city
from cityloop.store import Database, Settings

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
survey.register(app)
CITIZEN = "citizen-experience-gbt33356-2016"


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    """``cityloop --lang LANG survey ARGS…`` on the database at ``url``."""
    argv = ["--lang", lang, "survey", *args]
    result = runner.invoke(app, argv, env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("survey-cli")
    address = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=address))
    db.upgrade()
    store_service.load_demo(db, ["gbt33356-2016"], n_cities=40, user="fixture")
    db.dispose()
    return address


def city(url: str) -> str:
    db = Database.open(Settings(database_url=url))
    try:
        return demo_city(db)
    finally:
        db.dispose()


def test_survey_commands(url: str, tmp_path: Path) -> None:
    code, out = cli(url, "questionnaires")
    assert code == 0, out
    assert CITIZEN in out and "内置" in out
    unit = city(url)
    code, out = cli(url, "open", unit, "--questionnaire", CITIZEN, "--year", "2025")
    assert code == 0, out
    assert "已开启调查 1" in out and "/s/" in out
    code, out = cli(url, "list")
    assert code == 0 and unit in out and "收集中" in out

    # Two answers as a spreadsheet export writes them, by question id and choice code.
    db = Database.open(Settings(database_url=url))
    districts = db.surveys.get(1).districts  # type: ignore[union-attr]
    db.dispose()
    answers = tmp_path / "answers.csv"
    base = {
        "序号": "1", "提交答卷时间": "2025/5/1", "district": districts[0]["name_zh"],
        "age_band": "25-34", "gender": "女", "occupation": "student", "residence_years": "1-3",
        "used_gov_services": "否", "imp_gov_services": "4", "used_social_security": "no",
        "imp_social_security": "3", "used_transit": "yes", "sat_transport": "4",
        "imp_transport": "5", "used_medical": "no", "imp_medical": "4", "used_education": "no",
        "imp_education": "3", "used_employment": "no", "imp_employment": "3",
        "sat_city_services": "4", "imp_city_services": "4", "reported_issue": "no",
        "sat_urban_management": "3", "imp_urban_management": "4", "sat_public_safety": "5",
        "imp_public_safety": "5", "sat_environment": "3", "imp_environment": "5",
        "sat_networks": "4", "imp_networks": "4", "overall_satisfaction": "8",
        "needs": "smart_parking┋online_appointment", "needs_text": "",
    }  # fmt: skip
    rows = [base, {**base, "序号": "2", "gender": "male", "overall_satisfaction": "6"}]
    pd.DataFrame(rows).to_csv(answers, index=False, encoding="utf-8-sig")
    code, out = cli(url, "import", "1", str(answers))
    assert code == 0, out
    assert "导入 2 份答卷" in out and "提交答卷时间" in out
    code, out = cli(url, "import", "1", str(answers))
    assert code == 2 and "回执 1 的答卷已导入过" in out

    margins = tmp_path / "margins.csv"
    pd.DataFrame(
        {"variable": "gender", "category": ["male", "female"], "population": [510, 490]}
    ).to_csv(margins, index=False)
    code, out = cli(url, "margins", "1", str(margins))
    assert code == 0 and "gender (2)" in out, out

    code, out = cli(url, "analyse", "1", lang="en")
    assert code == 0, out
    assert "2 responses" in out and "Citizen experience score" in out
    assert "Satisfaction indices" in out and "L1P2" in out and "smart_parking" in out

    code, out = cli(url, "publish", "1")
    assert code == 0 and "L8P1-X" in out, out

    book = tmp_path / "survey.xlsx"
    code, out = cli(url, "export", "1", "--out", str(book))
    assert code == 0, out
    assert "答卷" in openpyxl.load_workbook(book, read_only=True).sheetnames

    code, out = cli(url, "needs", unit, "--year", "2025")
    assert code == 0, out
    assert "智慧停车" in out and "市民" in out

    code, out = cli(url, "close", "1")
    assert code == 0 and "调查 1 已关闭" in out
    code, out = cli(url, "analyse", "99")
    assert code == 2 and "调查 99 不存在" in out and "Traceback" not in out
