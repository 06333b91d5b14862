"""Answers exported from other survey tools: header and choice mapping, encodings, XLSX, row
errors with row and column, receipts, and population margins."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cityloop.datahub.survey_table import MAX_PROBLEMS, read_answers, read_margins
from cityloop.errors import InputError
from cityloop.survey.questionnaire import Questionnaire, parse_questionnaire

SMALL = """
id: small
version: "1"
subject: public
framework: gbt33356-2016
title: {zh: 小问卷, en: "Small"}
attributes:
  - id: district
    text: {zh: 您居住在哪个区？, en: "Which district do you live in?"}
    choices: districts
  - id: gender
    text: {zh: 您的性别是？, en: "What is your gender?"}
    choices:
      - {code: male, text: {zh: 男, en: "Male"}}
      - {code: female, text: {zh: 女, en: "Female"}}
sections:
  - id: main
    title: {zh: 主要, en: "Main"}
    questions:
      - id: used_bus
        kind: single
        text: {zh: 您是否经常乘坐公交？, en: "Do you often ride the bus?"}
        choices:
          - {code: "yes", text: {zh: 是, en: "Yes"}}
          - {code: "no", text: {zh: 否, en: "No"}}
      - id: sat_bus
        kind: likert5
        role: satisfaction
        item: bus
        domain: L1P2
        allow_na: true
        text: {zh: 您对公交服务满意吗？, en: "How satisfied are you with buses?"}
        show_if: {question: used_bus, any_of: ["yes"]}
      - id: channels
        kind: multiple
        max_choices: 2
        text: {zh: 您通过哪些渠道办事？（可多选）, en: "Which channels do you use?"}
        choices:
          - {code: web, text: {zh: 网站, en: "Website"}}
          - {code: app, text: {zh: 手机App, en: "Mobile app"}}
          - {code: hall, text: {zh: 大厅, en: "Service hall"}}
      - id: remark
        kind: text
        required: false
        text: {zh: 其他意见, en: "Other remarks"}
"""
DISTRICTS = [
    {"code": "d1", "name_zh": "东区", "name_en": "East"},
    {"code": "d2", "name_zh": "西区", "name_en": "West"},
]
# Headers as 问卷星 writes them: numbering, wording, the kind in brackets; plus metadata columns.
WJX_HEADERS = [
    "序号", "提交答卷时间", "所用时间", "来源", "来自IP",
    "1、您居住在哪个区？", "2、您的性别是？(单选题)", "Q3. 您是否经常乘坐公交？",
    "第4题 您对公交服务满意吗？【量表题】", "5、您通过哪些渠道办事？（可多选）(多选题)",
    "6、其他意见",
]  # fmt: skip
META = ["2025/5/1 10:00", "120秒", "手机提交", "1.2.3.4(北京)"]
GOOD_ROWS = [
    ["1", *META, "东区", "男", "是", "4", "网站┋手机App", "=1+1"],
    ["2", *META, "d2", "女", "否", "(跳过)", "大厅", ""],
    ["3", *META, "West", "female", "yes", "不适用", "web；app", ""],
]


@pytest.fixture(scope="module")
def small() -> Questionnaire:
    return parse_questionnaire(SMALL, "small.yaml")


def write_csv(
    path: Path, rows: list[list[str]], encoding: str, headers: list[str] = WJX_HEADERS
) -> Path:
    pd.DataFrame(rows, columns=headers).to_csv(path, index=False, encoding=encoding)
    return path


def test_wenjuanxing_headers_choices_and_separators(small: Questionnaire, tmp_path: Path) -> None:
    table = read_answers(small, write_csv(tmp_path / "a.csv", GOOD_ROWS, "utf-8"), DISTRICTS)
    assert [a.row for a in table.answers] == [2, 3, 4]
    assert [a.receipt for a in table.answers] == ["1", "2", "3"]
    assert table.receipt_column == "序号"
    assert table.ignored == ("提交答卷时间", "所用时间", "来源", "来自IP")
    first, second, third = (a.submission for a in table.answers)
    assert first.attributes == {"district": "d1", "gender": "male"}
    assert first.answers == {
        "used_bus": "yes", "sat_bus": 4.0, "channels": ["web", "app"], "remark": "=1+1",
    }  # fmt: skip
    # "(跳过)" is how 问卷星 marks a question skip logic hid: absent, not an error.
    assert second.attributes["district"] == "d2" and "sat_bus" not in second.answers
    assert third.attributes["district"] == "d2"
    assert third.answers["sat_bus"] is None  # "不适用" = not used / don't know
    assert third.answers["channels"] == ["web", "app"]


@pytest.mark.parametrize("separator", ["┋", ";", "；", ",", "，", "、", "|", " | "])
def test_every_multiple_choice_separator(
    small: Questionnaire, tmp_path: Path, separator: str
) -> None:
    rows = [["1", *META, "东区", "男", "否", "", f"网站{separator}大厅", ""]]
    table = read_answers(small, write_csv(tmp_path / "m.csv", rows, "utf-8"), DISTRICTS)
    assert table.answers[0].submission.answers["channels"] == ["web", "hall"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_bom_and_gbk_csv_read_the_same(small: Questionnaire, tmp_path: Path, encoding: str) -> None:
    # GBK has no "┋", so these rows separate picks with "、" and write no formula-like text.
    rows = [[*r[:-1], ""] for r in GOOD_ROWS]
    rows[0][-2] = "网站、手机App"
    plain = read_answers(small, write_csv(tmp_path / "u.csv", rows, "utf-8"), DISTRICTS)
    other = read_answers(small, write_csv(tmp_path / "o.csv", rows, encoding), DISTRICTS)
    assert [a.submission for a in other.answers] == [a.submission for a in plain.answers]


def test_xlsx_with_id_and_english_headers(small: Questionnaire, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["district", "What is your gender?", "used_bus", "sat_bus", "Which channels do you use?"]
    )
    sheet.append(["East", "Female", "Yes", 5, "Website|Service hall"])
    sheet.append(["d2", "male", "no", None, "app"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    table = read_answers(small, path, DISTRICTS)
    first, second = (a.submission for a in table.answers)
    assert first.attributes == {"district": "d1", "gender": "female"}
    assert first.answers["sat_bus"] == 5.0 and first.answers["channels"] == ["web", "hall"]
    assert second.answers == {"used_bus": "no", "channels": ["app"]}
    assert table.receipt_column is None and table.answers[0].receipt is None


def test_unknown_column_refused_metadata_named(small: Questionnaire, tmp_path: Path) -> None:
    headers = [*WJX_HEADERS, "7、您最喜欢的颜色？"]
    rows = [[*r, "红"] for r in GOOD_ROWS]
    with pytest.raises(InputError) as caught:
        read_answers(small, write_csv(tmp_path / "x.csv", rows, "utf-8", headers), DISTRICTS)
    (problem,) = caught.value.problems
    assert problem.key == "surveyweb.import.unknown_column"
    assert (problem.location.row, problem.location.column) == (1, "7、您最喜欢的颜色？")
    assert "提交时间" in problem.render()


def test_every_bad_row_listed_with_row_and_header(small: Questionnaire, tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[0][8] = "9"  # out of range rating, row 2
    rows[1][6] = ""  # missing required gender, row 3
    rows[2][9] = "网站┋手机App┋大厅"  # three picks where two are allowed, row 4
    path = write_csv(tmp_path / "bad.csv", rows, "utf-8")
    with pytest.raises(InputError) as caught:
        read_answers(small, path, DISTRICTS)
    found = {(p.location.row, p.location.column, p.key) for p in caught.value.problems}
    assert found == {
        (2, "第4题 您对公交服务满意吗？【量表题】", "questionnaire.answer_out_of_range"),
        (3, "2、您的性别是？(单选题)", "questionnaire.answer_missing"),
        (4, "5、您通过哪些渠道办事？（可多选）(多选题)", "questionnaire.answer_too_many"),
    }
    assert all(p.location.file == str(path) for p in caught.value.problems)
    assert "3 处问题" in caught.value.render()


def test_problem_list_is_capped(small: Questionnaire, tmp_path: Path) -> None:
    rows = [[str(k), *META, "东区", "男", "是", "7", "网站", ""] for k in range(MAX_PROBLEMS + 50)]
    with pytest.raises(InputError) as caught:
        read_answers(small, write_csv(tmp_path / "many.csv", rows, "utf-8"), DISTRICTS)
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].key == "surveyweb.import.more" and problems[-1].params == {"count": 50}
    assert caught.value.params["total"] == MAX_PROBLEMS + 50


def test_repeated_receipt_in_file(small: Questionnaire, tmp_path: Path) -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[2][0] = "1"
    with pytest.raises(InputError) as caught:
        read_answers(small, write_csv(tmp_path / "r.csv", rows, "utf-8"), DISTRICTS)
    (problem,) = caught.value.problems
    assert problem.key == "surveyweb.import.receipt_twice"
    assert (problem.location.row, problem.location.column) == (4, "序号")


def test_blank_lines_are_skipped_but_counted(small: Questionnaire, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", GOOD_ROWS[:1], "utf-8")
    path.write_text(path.read_text(encoding="utf-8") + "\n" + ",".join(GOOD_ROWS[1]) + "\n")
    table = read_answers(small, path, DISTRICTS)
    assert [a.row for a in table.answers] == [2, 4]


def test_margins(small: Questionnaire, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "变量": ["district", "district", "您的性别是？", "gender"],
            "类别": ["东区", "d2", "男", "female"],
            "人口": ["600", "400", "480", "520"],
        }
    )
    assert read_margins(frame, small, DISTRICTS) == {
        "district": {"d1": 600.0, "d2": 400.0},
        "gender": {"male": 480.0, "female": 520.0},
    }
    path = tmp_path / "m.csv"
    frame.iloc[[0, 2, 3]].assign(人口=["600", "-1", "x"]).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_margins(path, small, DISTRICTS)
    found = {(p.location.row, p.location.column, p.key) for p in caught.value.problems}
    assert found == {
        (3, "人口", "surveyweb.import.margin_population_invalid"),
        (4, "人口", "surveyweb.import.margin_population_invalid"),
        (None, "类别", "surveyweb.import.margin_categories_missing"),
    }
    wrong = pd.DataFrame({"variable": ["age"], "category": ["18-24"], "population": [1]})
    with pytest.raises(InputError, match="age"):
        read_margins(wrong, small, DISTRICTS)
