"""The catalogue's file formats: Excel round trip and every refusal, DCAT JSON-LD/Turtle round
trip (hypothesis), a DCAT file from another publisher, and a table resource's rows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cityloop.datahub.catalogue import OpenType, ResourceField, SharingType
from cityloop.datahub.catalogue_excel import read_catalogue_workbook, write_catalogue_workbook
from cityloop.datahub.catalogue_rows import checked_rows
from cityloop.datahub.dcat import catalogue_graph, read_dcat, write_dcat
from cityloop.errors import InputError
from tests.datahub.strategies_catalogue import entries
from tests.datahub.test_catalogue import GOOD

OTHER_PUBLISHER = Path(__file__).parent.parent / "data" / "catalogue" / "other-publisher.ttl"
catalogues = st.lists(entries(), min_size=1, max_size=4, unique_by=lambda e: e.code)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refusal(call: object) -> list[tuple[str, str | None, int | None, str | None]]:
    """(key, sheet, row, column) of each problem of the InputError ``call()`` raises."""
    with pytest.raises(InputError) as refused:
        call()  # type: ignore[operator]
    return [(p.key, p.location.sheet, p.location.row, p.location.column)
            for p in refused.value.problems]  # fmt: skip


# -- Excel ----------------------------------------------------------------------------------------


@SETTINGS
@given(catalogues, st.sampled_from(["zh-CN", "en"]))
def test_excel_round_trip(tmp_path_factory: pytest.TempPathFactory, found: list, lang: str) -> None:
    path = tmp_path_factory.mktemp("xlsx") / "catalogue.xlsx"
    write_catalogue_workbook(path, found, lang)
    assert read_catalogue_workbook(path) == found


def test_formula_looking_text_is_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    write_catalogue_workbook(path, [replace(GOOD, description='=HYPERLINK("x")', format="+1")])
    sheet = load_workbook(path)["资源目录"]
    cells = [c for c in sheet[2] if c.value in ('=HYPERLINK("x")', "+1")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)


def workbook(tmp_path: Path, resources: list[dict[str, str]], fields: list[dict[str, str]]) -> Path:
    path = tmp_path / "filled.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame(resources).to_excel(book, sheet_name="资源目录", index=False)
        pd.DataFrame(fields).to_excel(book, sheet_name="信息项", index=False)
    return path


ROW = {"资源代码": "302001-000001", "资源提供方": "交通运输局", "资源名称": "公交站点",
       "资源分类": "部门信息资源", "更新周期": "每月", "资源格式": "CSV",
       "共享类型": "无条件共享", "共享方式": "api", "开放类型": "开放",
       "许可协议": "CC-BY-4.0"}  # fmt: skip
FIELD = {"资源代码": "302001-000001", "信息项名称": "stop_id", "中文名称": "站点编号",
         "数据类型": "字符型"}  # fmt: skip


def test_a_hand_filled_workbook_in_chinese_words_reads(tmp_path: Path) -> None:
    # Enumerations in English codes or words under the Chinese headers.
    english = {"资源代码": "A0101-000123", "资源提供方": "health", "资源名称": "医院",
               "资源分类": "department", "更新周期": "Quarterly", "资源格式": "XLSX",
               "共享类型": "none", "不予共享依据": "涉密", "开放类型": "Not open"}  # fmt: skip
    path = workbook(tmp_path, [ROW, english], [FIELD])
    first, second = read_catalogue_workbook(path)
    assert first.department == "transport" and first.fields == (
        ResourceField("stop_id", "站点编号"),
    )
    assert second.sharing_type == SharingType.NONE and second.open_type == OpenType.CLOSED


def test_every_problem_of_a_workbook_is_located(tmp_path: Path) -> None:
    bad = {**ROW, "共享类型": "随便共享", "资源提供方": "宣传部", "开放类型": "开放"}
    twice = {**ROW, "资源名称": ""}
    no_reason = {**ROW, "资源代码": "302001-000002", "共享类型": "不予共享", "共享方式": ""}
    orphan = {**FIELD, "资源代码": "302001-009999"}
    problems = refusal(lambda: read_catalogue_workbook(
        workbook(tmp_path, [bad, twice, no_reason], [FIELD, orphan])))  # fmt: skip
    assert ("catalogue.excel.unknown_word", "资源目录", 2, "共享类型") in problems
    assert ("catalogue.excel.unknown_department", "资源目录", 2, "资源提供方") in problems
    assert ("catalogue.excel.empty_cell", "资源目录", 3, "资源名称") in problems
    assert ("catalogue.excel.code_twice", "资源目录", 3, "资源代码") in problems
    assert ("catalogue.rule.reason_required", "资源目录", 4, "不予共享依据") in problems
    assert ("catalogue.rule.not_shared_cannot_open", "资源目录", 4, "开放类型") in problems
    assert ("catalogue.excel.fields_without_resource", "信息项", None, None) in problems


def test_missing_sheets_and_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "wrong.xlsx"
    pd.DataFrame([{"资源代码": "x", "颜色": "红"}]).to_excel(
        path, sheet_name="资源目录", index=False
    )
    problems = refusal(lambda: read_catalogue_workbook(path))
    assert ("catalogue.excel.unknown_column", "资源目录", 1, "颜色") in problems
    assert ("catalogue.excel.missing_column", "资源目录", 1, "name_zh") in problems
    pd.DataFrame([{"a": 1}]).to_excel(path, sheet_name="Sheet1", index=False)
    assert [p[0] for p in refusal(lambda: read_catalogue_workbook(path))] == [
        "catalogue.excel.no_sheet"
    ]
    (tmp_path / "not.xlsx").write_text("not a workbook")
    assert refusal(lambda: read_catalogue_workbook(tmp_path / "not.xlsx"))[0][0] == (
        "table.unreadable"
    )


# -- DCAT -----------------------------------------------------------------------------------------


@SETTINGS
@given(catalogues, st.sampled_from(["json-ld", "turtle"]))
def test_dcat_round_trip(found: list, fmt: str) -> None:
    text = write_dcat(catalogue_graph(found, title_zh="目录", title_en="Catalogue"), fmt)
    assert read_dcat(text, fmt, source="catalogue") == sorted(found, key=lambda e: e.code)


def test_dcat_speaks_the_dcat_vocabularies() -> None:
    document = json.loads(write_dcat(catalogue_graph([GOOD], title_zh="目录")))
    text = json.dumps(document, ensure_ascii=False)
    for term in ("dcat:Catalog", "dcat:Dataset", "dct:identifier", "dct:publisher",
                 "dcat:distribution", "frequency/MONTHLY", "access-right/PUBLIC",
                 "cl:sharingType"):  # fmt: skip
        assert term in text


def test_a_dcat_file_from_another_publisher() -> None:
    problems = refusal(lambda: read_dcat(OTHER_PUBLISHER.read_text(), "turtle",
                                         source="other.ttl"))  # fmt: skip
    wrong = "other.ttl#b1946ac9-2c5e-4f1e-a2b4-0f0f0f0f0f0f"
    with pytest.raises(InputError) as refused:
        read_dcat(OTHER_PUBLISHER.read_text(), "turtle", source="other.ttl")
    assert {p.location.file for p in refused.value.problems} == {wrong}
    assert ("catalogue.dcat.unknown_publisher", None, None, "dct:publisher") in problems
    other = "<https://data.example.cn/dataset/x>"
    good_only = OTHER_PUBLISHER.read_text().replace(f", {other}", "").split(other)[0]
    (entry,) = read_dcat(good_only, "turtle", source="other.ttl")
    assert (entry.code, entry.department, entry.name_zh, entry.name_en) == (
        "302001-000042", "transport", "公交站点", "Bus stops")  # fmt: skip
    assert (entry.format, entry.open_type, entry.sharing_type, entry.sharing_method) == (
        "CSV", OpenType.OPEN, SharingType.UNCONDITIONAL, "api")  # fmt: skip
    assert entry.keywords == ("交通", "公交") and entry.update_frequency.value == "monthly"


def test_dcat_refusals() -> None:
    remote = json.dumps({"@context": "https://example.org/context.jsonld", "@type": "x"})
    assert [p[0] for p in refusal(lambda: read_dcat(remote, "json-ld", source="r"))] == [
        "catalogue.dcat.remote_context"
    ]
    assert refusal(lambda: read_dcat("{", "json-ld", source="r"))[0][0] == (
        "catalogue.dcat.unreadable"
    )
    assert refusal(lambda: read_dcat("@prefix x: <y> .", "turtle", source="r"))[0][0] == (
        "catalogue.dcat.no_dataset"
    )
    text = write_dcat(catalogue_graph([GOOD], title_zh="目录")).replace("CC-BY-4.0", "")
    assert ("catalogue.rule.licence_required", None, None, "dct:license") in refusal(
        lambda: read_dcat(text, "json-ld", source="r")
    )


# -- rows of a table resource -----------------------------------------------------------------

FIELDS = (
    ResourceField("station", "站点"),
    ResourceField("n", "数量", "Count", "integer"),
    ResourceField("v", "值", "", "number"),
    ResourceField("ok", "是否", "", "boolean"),
    ResourceField("day", "日期", "", "date"),
    ResourceField("at", "时间", "", "datetime"),
    ResourceField("where", "位置", "", "geometry"),
)


def test_rows_are_typed_by_their_fields() -> None:
    frame = pd.DataFrame({
        "station": ["=A1", "b"], "数量": ["1", "2.0"], "v": ["1,234.5", None],
        "ok": ["是", "false"], "day": ["2025-01-02", None],
        "Time": ["2025-01-02T03:04:05+08:00", "2025-01-02 03:04"],
        "where": ["POINT (113.3 23.1)", '{"type": "Point", "coordinates": [1, 2]}'],
    }).rename(columns={"Time": "时间"})  # fmt: skip
    rows = checked_rows(frame, FIELDS, source="rows.csv")
    assert rows[0] == {
        "station": "=A1", "n": 1, "v": 1234.5, "ok": True, "day": "2025-01-02",
        "at": "2025-01-02T03:04:05+08:00", "where": "POINT (113.3 23.1)",
    }  # fmt: skip
    assert (
        rows[1]["v"] is None and rows[1]["day"] is None and rows[1]["at"] == "2025-01-02T03:04:00"
    )


def test_every_bad_cell_is_located() -> None:
    frame = pd.DataFrame({
        "station": ["a", "b"], "n": ["1.5", "x"], "v": ["abc", "1"], "ok": ["maybe", "1"],
        "day": ["2025-13-01", "2025-01-01"], "at": ["yesterday", "2025-01-01T00:00"],
        "where": ["here", "POINT (1 2)"], "extra": ["", ""],
    })  # fmt: skip
    problems = refusal(lambda: checked_rows(frame, FIELDS, source="rows.csv"))
    assert problems == [("catalogue.rows.unknown_column", None, 1, "extra")]
    problems = refusal(lambda: checked_rows(frame.drop(columns="extra"), FIELDS, source="r.csv"))
    assert [(k.removeprefix("catalogue.rows."), r, c) for k, _, r, c in problems] == [
        ("bad_integer", 2, "n"), ("bad_integer", 3, "n"), ("bad_number", 2, "v"),
        ("bad_boolean", 2, "ok"), ("bad_date", 2, "day"), ("bad_datetime", 2, "at"),
        ("bad_geometry", 2, "where"),
    ]  # fmt: skip
    missing = refusal(lambda: checked_rows(frame[["station"]], FIELDS, source="r.csv"))
    assert {k for k, *_ in missing} == {"catalogue.rows.missing_column"} and len(missing) == 6
