"""``cityloop plan diagnose`` through the real Typer app on a demo database (SYNTHETIC cities
and surveys): the tables, the JSON of the API, English, and a clear refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
YEAR = 2025
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(database URL, the surveyed city) of a SQLite demo with a run and the demo surveys."""
    folder: Path = tmp_path_factory.mktemp("plan-diagnose")
    url = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url, data_dir=folder))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=62, user="fixture")
    runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    sizes = {CITIZEN: 120, GOVERNMENT: 40, ENTERPRISE: 60}
    city = load_demo_surveys(db, YEAR, actor="fixture", sizes=sizes).unit
    db.dispose()
    return url, city


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_diagnose_prints_the_emphasis_reasons_and_terms(demo: tuple[str, str]) -> None:
    url, city = demo
    code, out = cli(url, "plan", "diagnose", city)
    assert code == 0, out
    assert "诊断与规划类型侧重" in out and "建议以" in out and "为主要侧重" in out
    for heading in ("规划类型侧重", "理由", "薄弱维度", "紧迫与重要", "近中远期应用清单"):
        assert heading in out
    assert "市民提出“" in out and "近期" in out and "民生型" in out
    code, out = cli(url, "--lang", "en", "plan", "diagnose", city, "--year", str(YEAR))
    assert code == 0 and "Recommended emphasis" in out and "Near term" in out


def test_diagnose_json_is_the_api_report(demo: tuple[str, str]) -> None:
    url, city = demo
    code, out = cli(url, "plan", "diagnose", city, "--json", "--framework", FRAMEWORK)
    assert code == 0, out
    report = json.loads(out)
    assert report["unit"] == city and report["year"] == YEAR and report["has_needs"]
    assert set(report["applications"]) == {"near", "middle", "long"}
    assert abs(sum(t["share"] for t in report["types"]) - 1) < 1e-5
    assert report["min_share"] == {report["primary"]: 0.4} or len(report["min_share"]) == 2


def test_diagnose_refuses_a_year_without_results(demo: tuple[str, str]) -> None:
    url, city = demo
    code, out = cli(url, "plan", "diagnose", city, "--year", "1990")
    assert code == 2 and "1990" in out and "Traceback" not in out
