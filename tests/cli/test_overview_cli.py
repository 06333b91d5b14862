"""``cityloop overview city|ranking`` through the real Typer app on a populated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.cli.common import console
from cityloop.evaluation.result import TOTAL
from cityloop.services import runs
from cityloop.services.store import load_demo
from cityloop.store import Database, Settings

runner = CliRunner()
FRAMEWORK = "gbt33356-2016"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('overview') / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    load_demo(db, [FRAMEWORK], n_cities=40, user="test")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="test")
    yield url, db, run_id
    db.dispose()


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """The console's width is fixed when it is first imported; the tables need room."""
    width = console.width
    console.width = 240
    yield
    console.width = width


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "240"})
    return result.exit_code, result.output


def latest_totals(db: Database, run_id: int) -> pd.DataFrame:
    scores = db.run_scores(run_id, max_level=0)
    latest = scores[(scores["year"] == scores["year"].max()) & (scores["node"] == TOTAL)]
    return latest.sort_values(["rank", "unit"])


def test_city_overview(populated: tuple[str, Database, int]) -> None:
    url, db, run_id = populated
    best = latest_totals(db, run_id).iloc[0]
    code, out = cli(url, "overview", "city", str(best["unit"]))
    assert code == 0, out
    assert f"{best['score']:.2f}" in out
    assert "城市概览" in out and "最薄弱的五项指标" in out and "同类中位数" in out
    code, out = cli(
        url, "--lang", "en", "overview", "city", str(best["unit"]), "--run", str(run_id)
    )
    assert code == 0, out
    assert "city overview" in out and "Peer median" in out


def test_ranking_top_and_province(populated: tuple[str, Database, int]) -> None:
    url, db, run_id = populated
    totals = latest_totals(db, run_id)
    code, out = cli(url, "overview", "ranking", "--top", "3")
    assert code == 0, out
    first, fourth = totals.iloc[0], totals.iloc[3]
    assert f"{first['score']:.2f}" in out
    assert f"{fourth['score']:.2f}" not in out
    units = db.units()
    assert units is not None
    province = str(units.table.at[str(first["unit"]), "parent"])
    code, out = cli(url, "overview", "ranking", "--province", province)
    assert code == 0, out
    assert units.table.at[province, "name_zh"] in out


def test_user_errors_are_one_line(populated: tuple[str, Database, int], tmp_path: Path) -> None:
    url, _, _ = populated
    code, out = cli(url, "overview", "city", "110100", "--year", "1990")
    assert code == 2 and "1990" in out and "Traceback" not in out
    code, out = cli(url, "overview", "ranking", "--framework", "iso37122-2019")
    assert code == 2 and "评估员先运行一次评估" in out
