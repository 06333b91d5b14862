"""``cityloop quality report|probe`` on a SQLite site with the hand-worked catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import typer
from typer.testing import CliRunner

from cityloop.cli import quality
from cityloop.cli.common import language_option
from cityloop.store import Database, Settings
from tests.store.quality_rows import seed_catalogue

runner = CliRunner()
app = typer.Typer()
app.callback()(language_option)
quality.register(app)
UNIT = "990100"


def cli(url: str, *args: str, lang: str = "zh-CN") -> tuple[int, str]:
    argv = ["--lang", lang, "quality", *args]
    result = runner.invoke(app, argv, env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_report_and_probe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    seed_catalogue(db, UNIT, now=datetime.now(UTC))  # the CLI measures at now
    db.dispose()
    code, out = cli(url, "report", "--unit", UNIT, "--out", str(tmp_path / "q.xlsx"))
    assert code == 0, out
    assert "已导出" in out  # the table itself wraps to whatever width the console has
    book = openpyxl.load_workbook(tmp_path / "q.xlsx")
    assert book.sheetnames == ["部门数据质量", "资源明细"]
    rows = list(book["部门数据质量"].values)
    assert rows[-1][1] == "全市合计" and rows[-1][-1] == "需关注"  # the unit: 0.634, amber
    code, out = cli(url, "probe", "--unit", UNIT, "--timeout", "0.5", lang="en")
    assert code == 0, out
    assert "✗ http://127.0.0.1:9/t1" in out and "probed 1 endpoints, 0 ok" in out
    code, out = cli(url, "report", "--unit", "990999")
    assert code == 2 and "990999" in out and "Traceback" not in out
