"""Importing indicator values: each rule names the exact row, column and catalogue key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cityloop.datahub.indicator_table import (
    MAX_PROBLEMS,
    VALUE_COLUMNS,
    IndicatorTable,
    read_values,
    validate_values,
)
from cityloop.datahub.units import Units, build_units, read_units
from cityloop.errors import DataValidationError, Problem
from cityloop.frameworks import Framework
from cityloop.frameworks.loader import parse_yaml
from cityloop.frameworks.schema import ValueType

DATA = Path(__file__).parent.parent / "data"
# The mini framework plus a share and a yes/no indicator, so every value type rule has a case.
EXTRA = """
  - {code: I6, parent: D2, name: {zh: 污水处理率}, unit: 比例, value_type: share,
     direction: higher, source_kind: statistics, department: water}
  - {code: I7, parent: D2, name: {zh: 是否建成平台}, unit: 是/否, value_type: boolean,
     direction: higher, source_kind: online_check, department: data_bureau}
"""


@pytest.fixture(scope="module")
def fw() -> Framework:
    text = (DATA / "mini-framework.yaml").read_text(encoding="utf-8")
    return parse_yaml(text + EXTRA, source="mini+")


@pytest.fixture(scope="module")
def units() -> Units:
    return build_units(
        pd.DataFrame(
            {
                "code": ["ZJ", "HZ", "NB"],
                "name_zh": ["浙江省", "杭州市", "宁波市"],
                "level": ["province", "city", "city"],
                "parent": [None, "ZJ", "ZJ"],
            }
        )
    )


def frame(*rows: tuple[Any, ...], **extra: list[Any]) -> pd.DataFrame:
    """A values table with Chinese headers: rows of (unit, year, indicator, value)."""
    df = pd.DataFrame(rows, columns=["单位代码", "年份", "指标代码", "数值"], dtype=object)
    for name, cells in extra.items():
        df[name] = cells
    return df


def problems(df: pd.DataFrame, fw: Framework, units: Units | None = None) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        validate_values(df, fw, units, source="in.xlsx", sheet="数据填报")
    return info.value.problems


def only(found: list[Problem]) -> tuple[str, int | None, str | None, dict[str, Any]]:
    assert len(found) == 1, [p.render() for p in found]
    p = found[0]
    assert p.location.file == "in.xlsx"
    assert p.location.sheet == "数据填报"
    return p.key, p.location.row, p.location.column, p.params


GOOD = ("HZ", 2024, "I1", 85.0)


# -- accepted input ------------------------------------------------------------------------------


def test_valid_table_is_typed_sorted_and_complete(fw: Framework, units: Units) -> None:
    df = frame(
        ("NB", "2024", "I5", "12"),
        ("HZ", 2025, "I1", 85.5),
        ("HZ", "2024年", "I2", " 1,234 "),
        ("HZ", 2024, "I1", "８５％"),
        ("HZ", 2024, "I6", "85%"),
        ("HZ", 2024, "I7", 1),
        数据来源=["统计年鉴", None, " 台账 ", None, None, None],
    )
    table = validate_values(df, fw, units)
    out = table.frame
    assert tuple(out.columns) == VALUE_COLUMNS
    assert {c: str(out[c].dtype) for c in out.columns} == {
        "unit": "string",
        "year": "int64",
        "indicator": "string",
        "value": "float64",
        "source": "string",
        "note": "string",
    }
    assert out[["unit", "year", "indicator"]].values.tolist() == [
        ["HZ", 2024, "I1"],
        ["HZ", 2024, "I2"],
        ["HZ", 2024, "I6"],
        ["HZ", 2024, "I7"],
        ["HZ", 2025, "I1"],
        ["NB", 2024, "I5"],
    ]
    assert out["value"].tolist() == [85.0, 1234.0, 0.85, 1.0, 85.5, 12.0]
    assert out["source"].tolist() == ["", "台账", "", "", "", "统计年鉴"]
    assert out["note"].tolist() == [""] * 6


def test_empty_value_drops_the_row_even_when_other_cells_are_wrong(fw: Framework) -> None:
    df = frame(GOOD, ("", "一九", "I99", None), ("HZ", 2024, "I2", "  "))
    out = validate_values(df, fw).frame
    assert out["indicator"].tolist() == ["I1"]


def test_numeric_excel_cells_and_english_headers(fw: Framework) -> None:
    df = pd.DataFrame(
        {"Unit": [330100.0], "YEAR": [2024.0], "indicator": ["I5"], "value": [3], "note": ["x"]}
    )
    out = validate_values(df, fw).frame
    assert out.iloc[0].tolist() == ["330100", 2024, "I5", 3.0, "", "x"]


def test_extra_columns_are_ignored(fw: Framework) -> None:
    df = frame(GOOD, 单位名称=["杭州市"], 指标名称=["网办率"])
    assert len(validate_values(df, fw).frame) == 1


def test_input_frame_is_not_changed(fw: Framework) -> None:
    df = frame(("HZ", "2024", "I1", "85%"), 备注=[" a "])
    before = df.copy()
    validate_values(df, fw)
    pd.testing.assert_frame_equal(df, before)


# -- one test per rule ---------------------------------------------------------------------------


def test_missing_required_column(fw: Framework) -> None:
    df = frame(GOOD).drop(columns=["年份"])
    key, row, column, params = only(problems(df, fw))
    assert (key, row, column) == ("values.missing_column", 1, "year")
    assert "年份" in params["aliases"]


def test_column_given_twice(fw: Framework) -> None:
    df = frame(GOOD, unit=["HZ"])
    key, row, column, params = only(problems(df, fw))
    assert (key, row, column) == ("values.duplicate_column", 1, "unit")
    assert params["headers"] == "单位代码, unit"


def test_empty_unit(fw: Framework) -> None:
    key, row, column, _ = only(problems(frame(GOOD, (" ", 2024, "I2", 3)), fw))
    assert (key, row, column) == ("values.empty_unit", 3, "单位代码")


def test_unit_not_in_units_table(fw: Framework, units: Units) -> None:
    key, row, column, params = only(problems(frame(GOOD, ("WZ", 2024, "I2", 3)), fw, units))
    assert (key, row, column, params) == ("values.unknown_unit", 3, "单位代码", {"value": "WZ"})


@pytest.mark.parametrize("year", ["2024.5", "二〇二四", "1900", 2101, "N/A"])
def test_year_not_an_integer_in_range(fw: Framework, year: Any) -> None:
    key, row, column, params = only(problems(frame(GOOD, ("HZ", year, "I2", 3)), fw))
    assert (key, row, column) == ("values.bad_year", 3, "年份")
    assert params == {"value": str(year), "low": 1949, "high": 2100}


def test_empty_year(fw: Framework) -> None:
    key, row, column, _ = only(problems(frame(("HZ", None, "I2", 3), GOOD), fw))
    assert (key, row, column) == ("values.empty_year", 2, "年份")


def test_unknown_indicator_suggests_the_closest_code(fw: Framework) -> None:
    found = problems(frame(GOOD, ("HZ", 2024, "i3", 3), ("HZ", 2024, "X9", 3)), fw)
    assert [(p.key, p.location.row, p.location.column) for p in found] == [
        ("values.unknown_indicator", 3, "指标代码"),
        ("values.unknown_indicator", 4, "指标代码"),
    ]
    assert found[0].params == {"value": "i3", "framework": "mini", "suggestion": "I3"}
    assert found[1].params["suggestion"] == "—"


def test_empty_indicator(fw: Framework) -> None:
    key, row, column, _ = only(problems(frame(GOOD, ("HZ", 2024, None, 3)), fw))
    assert (key, row, column) == ("values.empty_indicator", 3, "指标代码")


@pytest.mark.parametrize("value", ["无", "N/A", "—", "1,2", "12..5", "inf", "%"])
def test_value_not_a_number(fw: Framework, value: str) -> None:
    key, row, column, params = only(problems(frame(GOOD, ("HZ", 2024, "I2", value)), fw))
    assert (key, row, column, params) == ("values.not_number", 3, "数值", {"value": value})


def test_percent_sign_on_a_count(fw: Framework) -> None:
    key, row, column, params = only(problems(frame(GOOD, ("HZ", 2024, "I5", "5%")), fw))
    assert (key, row, column) == ("values.unexpected_percent", 3, "数值")
    assert params == {"value": "5%", "indicator": "I5"}


@pytest.mark.parametrize(
    ("indicator", "value", "key"),
    [
        ("I1", 100.5, "values.percentage_range"),
        ("I1", "-1", "values.percentage_range"),
        ("I6", 1.2, "values.share_range"),
        ("I6", "120%", "values.share_range"),
        ("I5", -3, "values.negative"),
        ("I2", -0.5, "values.negative"),
        ("I4", "-2", "values.negative"),
        ("I5", 2.5, "values.count_not_integer"),
        ("I7", 2, "values.not_boolean"),
        ("I7", 0.5, "values.not_boolean"),
    ],
)
def test_value_outside_what_its_type_allows(
    fw: Framework, indicator: str, value: Any, key: str
) -> None:
    found = problems(frame(GOOD, ("NB", 2024, indicator, value)), fw)
    got_key, row, column, params = only(found)
    assert (got_key, row, column) == (key, 3, "数值")
    assert params["indicator"] == indicator
    assert params["value"] == str(value)


def test_measure_disagreeing_with_the_framework(fw: Framework) -> None:
    df = frame(GOOD, ("HZ", 2024, "I2", 3), ("HZ", 2024, "I3", 90), 计量单位=["％", "小时", None])
    key, row, column, params = only(problems(df, fw))
    assert (key, row, column) == ("values.wrong_unit", 3, "计量单位")
    assert params == {"indicator": "I2", "found": "小时", "expected": "天"}


def test_duplicate_rows_name_both_rows(fw: Framework) -> None:
    df = frame(GOOD, ("NB", 2024, "I1", 1), (" HZ", "2024", "I1", 90))
    key, row, column, params = only(problems(df, fw))
    assert (key, row, column) == ("values.duplicate", 4, "指标代码")
    assert params == {"unit": "HZ", "year": 2024, "indicator": "I1", "first_row": 2}


@pytest.mark.parametrize("column", ["数据来源", "备注"])
def test_formula_text_is_refused(fw: Framework, column: str) -> None:
    df = frame(GOOD, ("NB", 2024, "I2", 1), **{column: [None, "=HYPERLINK(1)"]})
    key, row, got_column, params = only(problems(df, fw))
    assert (key, row, got_column, params) == (
        "values.formula",
        3,
        column,
        {"value": "=HYPERLINK(1)"},
    )


def test_no_values_at_all(fw: Framework) -> None:
    key, row, _, _ = only(problems(frame(("HZ", 2024, "I1", None)), fw))
    assert (key, row) == ("values.no_rows", None)


def test_first_row_shifts_row_numbers(fw: Framework) -> None:
    with pytest.raises(DataValidationError) as info:
        validate_values(frame(GOOD, ("HZ", 2024, "I1", "x")), fw, first_row=5)
    assert info.value.problems[0].location.row == 6


def test_every_fault_is_reported_in_row_order(fw: Framework) -> None:
    df = frame(GOOD, ("", 1800, "I9", "无"), ("HZ", 2024, "I1", 120))
    found = problems(df, fw)
    assert [(p.location.row, p.key) for p in found] == [
        (3, "values.empty_unit"),
        (3, "values.bad_year"),
        (3, "values.unknown_indicator"),
        (3, "values.not_number"),
        (4, "values.percentage_range"),
        (4, "values.duplicate"),
    ]
    assert "第 3 行" in found[0].render("zh-CN")


def test_problems_are_capped_but_counted(fw: Framework) -> None:
    n = MAX_PROBLEMS + 500
    df = frame(*[(f"U{k}", 2024, "I1", "无") for k in range(n)])
    with pytest.raises(DataValidationError) as info:
        validate_values(df, fw)
    err = info.value
    assert err.key == "values.invalid_truncated"
    assert err.params["total"] == n
    assert len(err.problems) == MAX_PROBLEMS
    assert [p.location.row for p in err.problems[:3]] == [2, 3, 4]
    assert str(n) in err.render("zh-CN").splitlines()[0]


# -- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["values-gbk.csv", "values-utf8-bom.csv"])
def test_chinese_csv_in_gbk_and_utf8_bom(fw: Framework, name: str) -> None:
    out = read_values(DATA / name, fw).frame
    assert out[["unit", "indicator", "value"]].values.tolist() == [
        ["HZ", "I1", 85.5],
        ["HZ", "I5", 12.0],
        ["NB", "I2", 1234.0],
        ["NB", "I3", 90.0],
    ]
    assert out["source"].tolist() == ["统计年鉴", "生态环境局台账", "", ""]
    assert out["note"].tolist() == ["", "含区县站点", "", ""]


def test_csv_rows_count_blank_lines(tmp_path: Path, fw: Framework) -> None:
    path = tmp_path / "v.csv"
    path.write_text("unit,year,indicator,value\nHZ,2024,I1,1\n\nHZ,2024,I2,x\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_values(path, fw)
    (p,) = info.value.problems
    assert (p.key, p.location.file, p.location.row, p.location.column) == (
        "values.not_number",
        str(path),
        4,
        "value",
    )


def test_units_csv_skips_blank_lines_but_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("code,name_zh,level\nHZ,杭州市,city\n\nNB,宁波市,town\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_units(path)
    (p,) = info.value.problems
    assert (p.key, p.location.row, p.location.column) == ("units.bad_level", 4, "level")


def test_bad_file_raises_and_returns_nothing(fw: Framework) -> None:
    result: IndicatorTable | None = None
    with pytest.raises(DataValidationError) as info:
        result = read_values(DATA / "mini-framework.yaml", fw)
    assert result is None
    assert info.value.problems[0].key == "table.bad_suffix"


def test_xlsx_reads_the_data_sheet_else_the_first(tmp_path: Path, fw: Framework) -> None:
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["这里不是数据"])
    data = book.create_sheet("数据填报")
    data.append(["单位代码", "年份", "指标代码", "数值"])
    data.append(["HZ", 2024, "I1", "abc"])
    path = tmp_path / "v.xlsx"
    book.save(path)
    with pytest.raises(DataValidationError) as info:
        read_values(path, fw)
    loc = info.value.problems[0].location
    assert (loc.file, loc.sheet, loc.row, loc.column) == (str(path), "数据填报", 2, "数值")

    del book["数据填报"]
    book.active.title = "Sheet1"
    book.active.delete_rows(1)
    book.active.append(["unit", "year", "indicator", "value"])
    book.active.append(["HZ", 2024, "I1", 5])
    book.save(path)
    assert read_values(path, fw).frame["value"].tolist() == [5.0]


def test_parquet(tmp_path: Path, fw: Framework) -> None:
    path = tmp_path / "v.parquet"
    frame(GOOD).astype({"年份": "int64", "数值": "float64"}).to_parquet(path)
    assert read_values(path, fw).frame["value"].tolist() == [85.0]


# -- round trip ----------------------------------------------------------------------------------

text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=0, max_size=8
).filter(lambda s: s == s.strip() and not s.startswith("="))
CODE_VALUE = {
    ValueType.PERCENTAGE: st.floats(0, 100),
    ValueType.SHARE: st.floats(0, 1),
    ValueType.COUNT: st.integers(0, 10**9).map(float),
    ValueType.AMOUNT: st.floats(0, 1e12),
    ValueType.RATE: st.floats(0, 1e6),
    ValueType.BOOLEAN: st.sampled_from([0.0, 1.0]),
}


@st.composite
def valid_rows(draw: st.DrawFn, fw: Framework) -> pd.DataFrame:
    keys = draw(
        st.lists(
            st.tuples(
                text.filter(bool),
                st.integers(1949, 2100),
                st.sampled_from(fw.indicator_codes),
            ),
            min_size=1,
            max_size=25,
            unique=True,
        )
    )
    kinds = dict(zip(fw.indicator_codes, fw.value_type, strict=True))
    rows = [(u, y, i, draw(CODE_VALUE[kinds[i]]), draw(text), draw(text)) for u, y, i in keys]
    return pd.DataFrame(rows, columns=list(VALUE_COLUMNS))


# The CSV file is overwritten by each example, so sharing tmp_path between them is safe.
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_valid_rows_round_trip_through_csv(tmp_path: Path, fw: Framework, data: Any) -> None:
    df = data.draw(valid_rows(fw))
    path = tmp_path / "round.csv"
    df.to_csv(path, index=False, encoding="utf-8-sig")
    back = read_values(path, fw).frame
    expected = df.sort_values(["unit", "year", "indicator"], kind="stable").reset_index(drop=True)
    expected = expected.astype(
        {"unit": "string", "indicator": "string", "source": "string", "note": "string"}
    )
    pd.testing.assert_frame_equal(back, expected)
    assert np.array_equal(back["value"].to_numpy(), expected["value"].to_numpy())
