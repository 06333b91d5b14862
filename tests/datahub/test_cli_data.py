"""``cityloop template`` and ``cityloop check-data`` through the real Typer app and the service."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from cityloop.cli import app
from cityloop.cli.data import parse_years
from cityloop.datahub.indicator_table import DATA_SHEET
from cityloop.errors import DataValidationError, InputError
from cityloop.services.data import import_values, make_template

runner = CliRunner()
DATA = Path(__file__).parent.parent / "data"
MINI = str(DATA / "mini-framework.yaml")
UNITS = "code,name_zh,level,parent\nZJ,浙江省,province,\nHZ,杭州市,city,ZJ\nNB,宁波市,city,ZJ\n"


def cli(*args: str | Path) -> Result:
    """Run ``cityloop`` in Chinese (the language is set per call: it outlives one invocation)."""
    return runner.invoke(app, ["--lang", "zh-CN", *map(str, args)])


def template_rows(path: Path) -> list[tuple[object, ...]]:
    return list(load_workbook(path)[DATA_SHEET].iter_rows(min_row=2, values_only=True))


@pytest.fixture
def units(tmp_path: Path) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(UNITS, encoding="utf-8")
    return path


def test_template_command_writes_the_book(tmp_path: Path, units: Path) -> None:
    out = tmp_path / "sub" / "t.xlsx"
    department = "大数据管理局（政务服务和数据管理局）"
    result = cli("template", "--framework", MINI, "--department", department,
                 "--units", units, "--years", "2023-2024", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "已生成填报模板" in result.output
    rows = template_rows(out)
    assert [(r[0], r[2], r[3]) for r in rows[:4]] == [
        ("HZ", 2023, "I1"),
        ("HZ", 2023, "I2"),
        ("HZ", 2024, "I1"),
        ("HZ", 2024, "I2"),
    ]
    assert len(rows) == 8
    assert [p.name for p in out.parent.iterdir()] == ["t.xlsx"]  # no temporary file left


def test_year_options_combine_and_default_to_last_year(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    result = cli("template", "--framework", MINI, "--year", "2025", "--years", "2022,2024",
                 "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {r[2] for r in template_rows(out)} == {2022, 2024, 2025}
    result = cli("template", "--framework", MINI, "--out", out)
    assert result.exit_code == 0, result.output
    assert {r[2] for r in template_rows(out)} == {date.today().year - 1}


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2024", [2024]),
        ("2024,2025", [2024, 2025]),
        ("2024 2025", [2024, 2025]),
        ("2023-2025", [2023, 2024, 2025]),
        ("2024，2025", [2024, 2025]),
        (None, []),
    ],
)
def test_parse_years(text: str | None, years: list[int]) -> None:
    assert parse_years(text) == years


def test_bad_years_option_is_refused(tmp_path: Path) -> None:
    result = cli(
        "template", "--framework", MINI, "--years", "二〇二四", "--out", tmp_path / "t.xlsx"
    )
    assert result.exit_code == 2
    assert "无法识别的年份" in result.output


def test_unknown_department_is_one_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    out.write_bytes(b"keep me")
    result = cli("template", "--framework", MINI, "--department", "交警队", "--out", out)
    assert result.exit_code == 2
    assert "未知的部门「交警队」" in result.output
    assert "data_bureau" in result.output
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def test_template_must_be_xlsx(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        make_template(
            tmp_path / "t.csv", MINI, department=None, units_path=None, years=[2024], lang="zh-CN"
        )
    assert info.value.key == "template.bad_suffix"


def test_check_data_prints_a_summary() -> None:
    result = cli("check-data", DATA / "values-gbk.csv", "--framework", MINI)
    assert result.exit_code == 0, result.output
    assert "校验通过" in result.output
    for text in ("指标值（行）", "2024 (1)", "4 / 5", "40.0%", "I4"):
        assert text in result.output


def test_check_data_lists_the_errors(tmp_path: Path, units: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("单位代码,年份,指标代码,数值\nHZ,2024,I1,85\nWZ,2024,I9,无\n", encoding="utf-8")
    result = cli("check-data", bad, "--framework", MINI, "--units", units)
    assert result.exit_code == 2
    assert "有 3 处问题，未导入任何数据" in result.output
    assert "第 3 行，列「单位代码」: 单位代码 WZ 不在单位表中" in result.output
    assert "第 3 行，列「指标代码」" in result.output
    assert "第 3 行，列「数值」" in result.output
    assert "Traceback" not in result.output


def test_import_values_service(units: Path) -> None:
    table = import_values(DATA / "values-utf8-bom.csv", MINI, units)
    assert table.frame["unit"].tolist() == ["HZ", "HZ", "NB", "NB"]
    with pytest.raises(DataValidationError):
        import_values(DATA / "values-gbk.csv", MINI, DATA / "values-gbk.csv")  # not a units table
