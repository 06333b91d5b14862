"""``cityloop report city|province`` through the real Typer app: files written atomically under
the default name or ``--out``, the overview's numbers inside, bad input refused with status 2."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.services import runs
from cityloop.services.dashboard import city_overview
from cityloop.services.store import load_demo
from cityloop.store import Database, Settings

runner = CliRunner()
FRAMEWORK = "gbt33356-2016"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('report-cli') / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    load_demo(db, [FRAMEWORK], n_cities=40, user="test")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="test")
    yield url, db, run_id
    db.dispose()


def cli(url: str, folder: Path, *args: str) -> tuple[int, str]:
    here = Path.cwd()
    os.chdir(folder)
    try:
        result = runner.invoke(app, list(args), env={"CITYLOOP_DATABASE_URL": url})
    finally:
        os.chdir(here)
    return result.exit_code, result.output


def test_city_report_written_under_its_default_name(
    populated: tuple[str, Database, int], tmp_path: Path
) -> None:
    url, db, run_id = populated
    o = city_overview(db, "440100", None, run_id=run_id)
    code, out = cli(url, tmp_path, "report", "city", "440100", "--format", "xlsx")
    assert code == 0, out
    written = tmp_path / f"城市评价报告-440100-{o.year}.xlsx"
    assert written.exists() and str(written.stat().st_size) in out
    book = load_workbook(io.BytesIO(written.read_bytes()))
    assert [c.value for c in book["总体情况"][3]][:4] == [o.total, o.stage_name, o.rank, o.ranked]
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_province_report_in_english_to_out(
    populated: tuple[str, Database, int], tmp_path: Path
) -> None:
    url, _, _ = populated
    target = tmp_path / "gd.docx"
    args = (
        "report",
        "province",
        "440000",
        "--lang",
        "en",
        "--format",
        "docx",
        "--out",
        str(target),
    )
    code, out = cli(url, tmp_path, *args)
    assert code == 0, out
    assert target.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "city", "440100", "--format", "bmp"), "bmp"),
        (("report", "city", "440100", "--lang", "fr"), "fr"),
        (("report", "city", "440100", "--year", "1990"), "1990"),
        (("report", "province", "440100"), "440100"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    populated: tuple[str, Database, int], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    url, _, _ = populated
    code, out = cli(url, tmp_path, *args)
    assert code == 2 and message in out and "Traceback" not in out
    assert list(tmp_path.iterdir()) == []
