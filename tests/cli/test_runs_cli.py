"""``cityloop runs list|run|compare|export`` through the real Typer app, on both backends."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.frameworks import Framework
from cityloop.services import run_results
from cityloop.store import Database, Origin, OriginKind, Settings
from tests.store.databases import backend, db_url
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["backend", "db_url", "mini", "mini_demo"]

runner = CliRunner()


def cli(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"CITYLOOP_DATABASE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def loaded(db_url: str, mini: Framework, mini_demo: Demo) -> str:
    db = Database.open(Settings(database_url=db_url))
    db.upgrade()
    db.load_units(mini_demo.units, "alice")
    db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "v.xlsx"))
    db.dispose()
    return db_url


def test_run_list_compare_export(loaded: str, tmp_path: Path) -> None:
    code, out = cli(loaded, "runs", "list")
    assert (code, "还没有保存任何评价运行" in out) == (0, True)

    code, out = cli(loaded, "runs", "run", "--framework", "mini", "--top", "3")
    assert code == 0, out
    first = int(re.search(r"已保存评价运行 (\d+)", out).group(1))  # type: ignore[union-attr]
    assert out.count("示例市") == 3  # the top three, by name

    config = tmp_path / "等权.yaml"
    config.write_text("weights: {method: equal, upper: equal}\n", encoding="utf-8")
    code, out = cli(
        loaded, "--lang", "en", "runs", "run", "--framework", "mini", "--config", str(config)
    )
    assert code == 0, out
    second = int(re.search(r"Stored evaluation run (\d+)", out).group(1))  # type: ignore[union-attr]

    code, out = cli(loaded, "runs", "list", "--framework", "mini")
    assert code == 0 and re.findall(r"^│\s*(\d+)\s*│", out, re.M) == [str(second), str(first)]

    code, out = cli(loaded, "runs", "compare", str(first), str(second), "--year", "2024")
    assert code == 0, out
    db = Database.open(Settings(database_url=loaded))
    expected = run_results.compare_runs(db, first, second, None, 2024).ranks
    assert f"{expected.spearman:.4f}" in out and "weights.method" in out

    out_file = tmp_path / "结果" / "run.xlsx"
    code, out = cli(loaded, "runs", "export", str(first), str(out_file))
    assert code == 0, out
    book = openpyxl.load_workbook(out_file, read_only=True)
    assert book.sheetnames == ["运行概况", "各级得分", "最新年份排名"]
    rows = list(book["各级得分"].iter_rows(values_only=True))
    assert len(rows) - 1 == len(db.run_scores(first))
    db.dispose()


def test_user_errors_are_one_clear_line(loaded: str, tmp_path: Path) -> None:
    code, out = cli(loaded, "runs", "compare", "1", "99")
    assert code == 2 and "没有编号为 1 的评价运行" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: {thresholds: [80, 60, 40]}\n", encoding="utf-8")
    code, out = cli(loaded, "runs", "run", "--framework", "mini", "--config", str(bad))
    assert code == 2 and "stages.thresholds" in out and "Traceback" not in out
    code, out = cli(loaded, "runs", "export", "1", str(tmp_path / "x.csv"))
    assert code == 2
    code, out = cli(loaded, "runs", "list")
    assert "还没有保存任何评价运行" in out  # nothing was stored by the refused commands
