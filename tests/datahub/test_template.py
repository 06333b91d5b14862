"""The Excel collection template: rows, department filter, Excel validation and the round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from cityloop.datahub.indicator_table import DATA_SHEET, read_values
from cityloop.datahub.template import (
    GUIDE_SHEET,
    INDICATOR_SHEET,
    indicators_of,
    write_collection_template,
)
from cityloop.datahub.units import Units, build_units
from cityloop.errors import InputError
from cityloop.frameworks import Framework, load_framework

MINI = Path(__file__).parent.parent / "data" / "mini-framework.yaml"
ZH_HEADERS = [
    "单位代码",
    "单位名称",
    "年份",
    "指标代码",
    "指标名称",
    "计量单位",
    "数值",
    "数据来源",
    "备注",
]


@pytest.fixture(scope="module")
def fw() -> Framework:
    return load_framework(MINI)


@pytest.fixture(scope="module")
def units() -> Units:
    return build_units(
        pd.DataFrame(
            {
                "code": ["ZJ", "HZ", "NB", "XH"],
                "name_zh": ["浙江省", "杭州市", "宁波市", "西湖区"],
                "name_en": ["Zhejiang", "Hangzhou", "", ""],
                "level": ["province", "city", "city", "district"],
                "parent": [None, "ZJ", "ZJ", "HZ"],
            }
        )
    )


def write(tmp_path: Path, fw: Framework, **kw: Any) -> Path:
    path = tmp_path / "template.xlsx"
    options: dict[str, Any] = {"units": None, "department": None, "years": [2024]} | kw
    write_collection_template(path, fw, **options)
    return path


def data_rows(path: Path) -> list[tuple[Any, ...]]:
    ws = load_workbook(path)[DATA_SHEET]
    return list(ws.iter_rows(min_row=2, values_only=True))


def test_sheets_header_and_one_row_per_city_year_indicator(
    tmp_path: Path, fw: Framework, units: Units
) -> None:
    path = write(tmp_path, fw, units=units, years=[2023, 2024])
    book = load_workbook(path)
    assert book.sheetnames == [GUIDE_SHEET, DATA_SHEET, INDICATOR_SHEET]
    ws = book[DATA_SHEET]
    assert [c.value for c in ws[1]] == ZH_HEADERS
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].width > ws.column_dimensions["C"].width
    assert ws["A1"].font.bold
    rows = data_rows(path)
    assert len(rows) == 2 * 2 * 5  # cities HZ, NB (not the province or the district)
    assert rows[0] == ("HZ", "杭州市", 2023, "I1", "网办率", "%", None, None, None)
    assert rows[5][:4] == ("HZ", "杭州市", 2024, "I1")
    assert {r[0] for r in rows} == {"HZ", "NB"}
    assert all(r[6] is None for r in rows)


def test_all_units_when_none_is_a_city(tmp_path: Path, fw: Framework) -> None:
    districts = build_units(
        pd.DataFrame({"code": ["A", "B"], "name_zh": ["甲区", "乙区"], "level": ["district"] * 2})
    )
    rows = data_rows(write(tmp_path, fw, units=districts))
    assert [r[0] for r in rows[::5]] == ["A", "B"]


def test_without_units_the_unit_cell_is_left_to_fill(tmp_path: Path, fw: Framework) -> None:
    rows = data_rows(write(tmp_path, fw))
    assert len(rows) == 5
    assert all(r[0] is None and r[1] is None for r in rows)


@pytest.mark.parametrize("department", ["ecology_environment", "生态环境局", " 生态环境局 "])
def test_department_filter(tmp_path: Path, fw: Framework, units: Units, department: str) -> None:
    path = write(tmp_path, fw, units=units, department=department)
    assert [r[3] for r in data_rows(path)] == ["I3", "I5", "I3", "I5"]
    guide = load_workbook(path)[INDICATOR_SHEET]
    listed = list(guide.iter_rows(values_only=True))
    assert listed[0] == ("指标代码", "指标名称", "计量单位", "取值要求", "方向", "定义与口径")
    assert [r[0] for r in listed[1:]] == ["I3", "I5"]
    assert listed[1][1:3] == ("优良天数比例", "%")
    assert listed[1][4] == "越高越好"


def test_unknown_department_lists_the_known_ones(fw: Framework) -> None:
    with pytest.raises(InputError) as info:
        indicators_of(fw, "交警队", "zh-CN")
    assert info.value.key == "template.unknown_department"
    assert "data_bureau（大数据管理局" in info.value.params["known"]
    assert "交警队" in info.value.render("zh-CN")


def test_department_without_indicators(fw: Framework) -> None:
    with pytest.raises(InputError) as info:
        indicators_of(fw, "公安局", "zh-CN")
    assert info.value.key == "template.department_without_indicators"
    assert "ecology_environment" in info.value.params["having"]


@pytest.mark.parametrize(
    ("years", "key"), [([], "template.no_years"), ([1900], "template.bad_year")]
)
def test_bad_years(tmp_path: Path, fw: Framework, years: list[int], key: str) -> None:
    with pytest.raises(InputError) as info:
        write(tmp_path, fw, years=years)
    assert info.value.key == key
    assert not (tmp_path / "template.xlsx").exists()


def test_excel_validation_per_value_type(tmp_path: Path, fw: Framework, units: Units) -> None:
    path = write(tmp_path, fw, units=units)
    ws = load_workbook(path)[DATA_SHEET]
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    found = {
        cells: (dv.type, dv.operator, dv.formula1, dv.formula2, dv.error.split("：")[0])
        for cells, dv in rules.items()
    }
    # Rows 2–6 are HZ I1..I5, rows 7–11 NB I1..I5; the value column is G.
    assert found == {
        "C2:C11": ("whole", "between", "1949", "2100", "年份应为 1949–2100 之间的整数"),
        "G2 G4 G7 G9": ("decimal", "between", "0", "100", "百分比"),  # I1, I3
        "G3 G8": ("decimal", "greaterThanOrEqual", "0", None, "数量或金额"),  # I2 amount
        "G5 G10": ("decimal", "greaterThanOrEqual", "0", None, "比率"),  # I4 rate
        "G6 G11": ("whole", "greaterThanOrEqual", "0", None, "个数"),  # I5 count
    }
    dv = rules["G2 G4 G7 G9"]
    assert dv.showErrorMessage and dv.showInputMessage and dv.allow_blank
    assert dv.errorStyle == "stop"
    assert dv.errorTitle == "数值不符合要求"
    assert dv.prompt == dv.error == "百分比：填 0–100 之间的数，不带 % 号；无数据请留空"


def test_share_and_boolean_validation(tmp_path: Path) -> None:
    text = MINI.read_text(encoding="utf-8") + (
        "  - {code: I6, parent: D2, name: {zh: 比例}, unit: 比例, value_type: share,"
        " direction: higher, source_kind: statistics, department: water}\n"
        "  - {code: I7, parent: D2, name: {zh: 是否}, unit: 是/否, value_type: boolean,"
        " direction: higher, source_kind: statistics, department: water}\n"
    )
    (tmp_path / "fw.yaml").write_text(text, encoding="utf-8")
    fw = load_framework(tmp_path / "fw.yaml")
    ws = load_workbook(write(tmp_path, fw, department="水务局"))[DATA_SHEET]
    found = {
        (dv.type, dv.formula1, dv.formula2, str(dv.sqref))
        for dv in ws.data_validations.dataValidation
    }
    assert ("decimal", "0", "1", "G2") in found
    assert ("list", '"0,1"', None, "G3") in found


def test_filled_template_reads_back(tmp_path: Path, fw: Framework, units: Units) -> None:
    path = write(tmp_path, fw, units=units, years=[2024, 2025])
    book = load_workbook(path)
    ws = book[DATA_SHEET]
    filled = {2: 85.5, 3: 4, 6: 12, 9: "90", 13: 7.25}  # other value cells stay empty
    for row, value in filled.items():
        ws.cell(row=row, column=7, value=value)
    ws.cell(row=2, column=8, value="政务服务网")
    ws.cell(row=6, column=9, value="含区县站点")
    book.save(path)

    out = read_values(path, fw, units).frame
    expected = pd.DataFrame(
        {
            "unit": ["HZ", "HZ", "HZ", "HZ", "NB"],
            "year": [2024, 2024, 2024, 2025, 2024],
            "indicator": ["I1", "I2", "I5", "I3", "I2"],
            "value": [85.5, 4.0, 12.0, 90.0, 7.25],
            "source": ["政务服务网", "", "", "", ""],
            "note": ["", "", "含区县站点", "", ""],
        }
    ).astype(dict.fromkeys(("unit", "indicator", "source", "note"), "string"))
    pd.testing.assert_frame_equal(out, expected)


def test_english_template_reads_back(tmp_path: Path, fw: Framework, units: Units) -> None:
    path = write(tmp_path, fw, units=units, lang="en")
    book = load_workbook(path)
    ws = book[DATA_SHEET]
    assert [c.value for c in ws[1]][:4] == ["unit", "unit name", "year", "indicator"]
    assert ws["B2"].value == "Hangzhou" and ws["B7"].value == "宁波市"  # no English name: zh
    assert ws["E2"].value == "Online share"
    assert book[GUIDE_SHEET]["A1"].value.startswith("Mini test framework")
    ws["G4"] = 70
    book.save(path)
    assert read_values(path, fw, units).frame["value"].tolist() == [70.0]
