"""Survey answers exported from other tools (问卷星, 腾讯问卷, a spreadsheet) and population
margins, read from CSV/XLSX and checked row by row against a questionnaire.

Headers map to questions by id or wording; choice cells by code or wording. Nothing is stored here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.datahub.cells import fold, parse_numbers
from cityloop.datahub.tables import read_table
from cityloop.errors import DataValidationError, InputError, Location, Problem
from cityloop.survey.answers import Submission, validate_submission
from cityloop.survey.questionnaire import Questionnaire
from cityloop.survey.questionnaire_schema import (
    CHOICE_KINDS,
    DISTRICTS,
    NOT_APPLICABLE,
    Attribute,
    Kind,
    Question,
)

MULTIPLE_JOIN = "┋"  # what 问卷星 puts between the picks of a multiple choice question
MULTIPLE_SPLIT = re.compile(r"\s*[┋;；,，、|]\s*")
MAX_PROBLEMS = 200
# Question numbering the tools put before the wording: "1、", "Q1.", "第1题", "12."
NUMBERING = re.compile(r"^(?:第\s*\d+\s*题|q\s*\d+|\d+)\s*[、.:：)\-_]?\s*")
# The kind the tools append: "(单选题)", "【多选题】", "(必答)"; any bracketed tail is tried off.
TRAILING_BRACKETS = re.compile(r"\s*[(\[【][^()\[\]【】]*[)\]】]\s*$")
# Metadata columns of 问卷星 / 腾讯问卷 / 金数据 exports: read past, never stored.
METADATA_HEADERS = frozenset(
    fold(h)
    for h in (
        "提交时间", "提交答卷时间", "答题时间", "所用时间", "答题时长", "开始时间", "结束时间",
        "来源", "来源详情", "来自IP", "IP", "IP地址", "IP属地", "城市", "用户ID", "微信昵称",
        "微信openid", "总分", "填写设备", "浏览器", "操作系统", "答卷状态",
        "submitted_at", "submitted at", "submission time", "start time", "end time",
        "duration", "time taken", "source", "ip", "ip address", "user agent",
    )
)  # fmt: skip
RECEIPT_HEADERS = frozenset(
    fold(h) for h in ("receipt", "序号", "编号", "答卷编号", "答卷序号", "回执", "回执号",
                      "答卷ID", "response id", "respondent id")
)  # fmt: skip
# Cells that mean "not asked" in the tools' exports.
SKIPPED_CELLS = frozenset(fold(c) for c in ("(跳过)", "(空)", "跳过", "N/A(跳过)"))
NA_WORDS = frozenset(
    fold(w) for w in (NOT_APPLICABLE, "不适用", "不清楚", "不了解", "没用过", "未使用",
                      "not used", "don't know", "n/a")
)  # fmt: skip
MARGIN_HEADERS = {
    **{fold(h): "variable" for h in ("variable", "变量", "属性", "维度")},
    **{fold(h): "category" for h in ("category", "类别", "分组", "取值", "选项")},
    **{fold(h): "population" for h in ("population", "人口", "人数", "总体", "count", "share",
                                        "占比", "比例")},
}  # fmt: skip

Asked = Attribute | Question


@dataclass(frozen=True)
class ImportedAnswer:
    """One row of the file, validated: its row number as a person counts (header = 1)."""

    row: int
    receipt: str | None
    submission: Submission


@dataclass(frozen=True)
class AnswerTable:
    """Every row of an answers file, validated; the headers read and the metadata ignored."""

    answers: tuple[ImportedAnswer, ...]
    mapped: tuple[str, ...]
    ignored: tuple[str, ...]
    receipt_column: str | None


def header_key(text: str) -> str:
    """A header or question wording as compared: folded, numbering and spaces dropped."""
    folded = NUMBERING.sub("", fold(text))
    return re.sub(r"\s+", "", folded)


def _keys(text: str) -> set[str]:
    """The wording as written and with its bracketed tails taken off, one at a time."""
    keys = {header_key(text)}
    shorter = text.strip()
    while TRAILING_BRACKETS.search(shorter):
        shorter = TRAILING_BRACKETS.sub("", unicodedata.normalize("NFKC", shorter))
        keys.add(header_key(shorter))
    return keys - {""}


def _question_index(q: Questionnaire) -> dict[str, Asked]:
    """Header key → attribute or question, from ids and both wordings."""
    index: dict[str, Asked] = {}
    for item in asked_items(q):
        wording = item.text.as_dict()
        for text in (item.id, *(v for v in wording.values() if v)):
            for key in _keys(text):
                index.setdefault(key, item)
    return index


def asked_items(q: Questionnaire) -> list[Asked]:
    """The attributes, then the questions, in the order asked."""
    return [*q.attributes, *q.questions()]


def _choice_index(item: Asked, districts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Folded code or wording → code, for a choice question or attribute."""
    if item.choices == DISTRICTS:
        return {
            fold(name): d["code"]
            for d in districts
            for name in (d["code"], d.get("name_zh", ""), d.get("name_en", ""))
            if name
        }
    index: dict[str, str] = {}
    for choice in item.choices or []:
        if isinstance(choice, str):
            continue
        for text in (choice.code, *choice.text.as_dict().values()):
            if text:
                index.setdefault(fold(text), choice.code)
    return index


def _kind(item: Asked) -> Kind:
    return Kind.SINGLE if isinstance(item, Attribute) else item.kind


def _cells(column: pd.Series, item: Asked, districts: Sequence[Mapping[str, str]]) -> list[Any]:
    """Each cell as ``validate_submission`` takes it; distinct texts are converted once."""
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    kind = _kind(item)
    choices = _choice_index(item, districts) if kind in CHOICE_KINDS else {}
    converted = np.array([_cell(v, kind, choices) for v in distinct] + [None], dtype=object)
    return list(converted[np.where(codes < 0, len(distinct), codes)])


def _cell(value: Any, kind: Kind, choices: Mapping[str, str]) -> Any:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)  # Excel gives the rating 4 as 4.0
    text = str(value).strip()
    if not text or fold(text) in SKIPPED_CELLS:
        return None
    if kind == Kind.MULTIPLE:
        return [choices.get(fold(part), part) for part in MULTIPLE_SPLIT.split(text) if part]
    if kind == Kind.SINGLE:
        return choices.get(fold(text), text)
    if kind != Kind.TEXT and fold(text) in NA_WORDS:
        return NOT_APPLICABLE
    return text


def read_answers(
    q: Questionnaire,
    path: Path,
    districts: Sequence[Mapping[str, str]] = (),
    stored_receipts: Collection[str] = frozenset(),
) -> AnswerTable:
    """Read and validate every row of an answers file against ``q``, or refuse it whole.

    Parameters
    ----------
    q
        The questionnaire the answers belong to.
    path
        CSV (UTF-8, UTF-8 with BOM or GBK) or XLSX; one row per response, header in row 1.
    districts
        The survey's districts (``code``, ``name_zh``, ``name_en``): a district cell may hold
        any of the three.
    stored_receipts
        Receipts the survey holds already: a row with one of them is refused, so importing
        the same file twice stores nothing the second time.

    Raises
    ------
    InputError
        ``surveyweb.import.refused`` listing every fault (at most ``MAX_PROBLEMS``), each with
        the file, the row as a spreadsheet numbers it and the column header as written:
        unknown or repeated columns, repeated receipts, and every answer a web submission
        would have refused.
    """
    source = str(path)
    frame = read_table(path)
    index = _question_index(q)
    problems: list[Problem] = []
    mapped: dict[str, tuple[str, int]] = {}  # question id → (header, position)
    ignored: list[str] = []
    receipt: tuple[str, int] | None = None
    for position, header in enumerate(map(str, frame.columns)):
        folded = fold(header)
        item = next((index[k] for k in _keys(header) if k in index), None)
        where = Location(file=source, row=1, column=header)
        if item is not None:
            if item.id in mapped:
                problems.append(
                    Problem("surveyweb.import.column_twice",
                            {"question": item.id, "first": mapped[item.id][0]}, where)
                )  # fmt: skip
            mapped.setdefault(item.id, (header, position))
        elif folded in RECEIPT_HEADERS and receipt is None:
            receipt = (header, position)
        elif folded in METADATA_HEADERS or folded.startswith("unnamed:"):
            ignored.append(header)
        else:
            problems.append(Problem("surveyweb.import.unknown_column", {}, where))
    if problems:
        raise _refused(source, problems)
    blank = frame.isna().all(axis=1).to_numpy() | (frame.astype(str).apply(
        lambda c: c.str.strip()).eq("").all(axis=1).to_numpy())  # fmt: skip
    rows = np.flatnonzero(~blank)
    asked = {item.id: item for item in asked_items(q)}
    columns = {
        qid: _cells(frame.iloc[rows, position], asked[qid], districts)
        for qid, (_, position) in mapped.items()
    }
    receipts = _receipts(frame, rows, receipt, source, problems, stored_receipts)
    codes = tuple(d["code"] for d in districts)
    answers: list[ImportedAnswer] = []
    for k, row in enumerate(rows.tolist()):
        payload = {qid: cells[k] for qid, cells in columns.items() if cells[k] is not None}
        try:
            submission = validate_submission(q, payload, codes)
        except InputError as refused:
            for p in refused.problems:
                qid = p.location.column or ""
                column = mapped[qid][0] if qid in mapped else qid
                problems.append(Problem(p.key, p.params, Location(source, None, row + 2, column)))
            continue
        answers.append(ImportedAnswer(row + 2, receipts[k], submission))
    if problems:
        raise _refused(source, problems)
    if not answers:
        raise InputError("surveyweb.import.no_rows", file=source)
    return AnswerTable(
        tuple(answers),
        tuple(h for h, _ in mapped.values()),
        tuple(ignored),
        None if receipt is None else receipt[0],
    )


def _receipts(
    frame: pd.DataFrame,
    rows: npt.NDArray[np.intp],
    receipt: tuple[str, int] | None,
    source: str,
    problems: list[Problem],
    stored: Collection[str],
) -> list[str | None]:
    """The receipt of each row (None without a receipt column); repeats within the file and
    receipts already stored are problems."""
    if receipt is None:
        return [None] * len(rows)
    header, position = receipt
    values = [_cell(v, Kind.TEXT, {}) for v in frame.iloc[rows, position].tolist()]
    seen: dict[str, int] = {}
    for row, value in zip(rows.tolist(), values, strict=True):
        if value is None:
            problems.append(
                Problem(
                    "surveyweb.import.receipt_missing", {}, Location(source, None, row + 2, header)
                )
            )
        elif value in seen:
            problems.append(
                Problem("surveyweb.import.receipt_twice", {"receipt": value, "first": seen[value]},
                        Location(source, None, row + 2, header))
            )  # fmt: skip
        elif value in stored:
            problems.append(
                Problem("surveyweb.import.receipt_stored", {"receipt": value},
                        Location(source, None, row + 2, header))
            )  # fmt: skip
        else:
            seen[value] = row + 2
    return [None if v is None else str(v) for v in values]


def _refused(source: str, problems: list[Problem]) -> InputError:
    count = len(problems)
    shown = problems[:MAX_PROBLEMS]
    if count > MAX_PROBLEMS:
        shown.append(Problem("surveyweb.import.more", {"count": count - MAX_PROBLEMS}))
    return DataValidationError("surveyweb.import.refused", shown, file=source, total=count)


# -- margins ------------------------------------------------------------------------------------


def read_margins(
    source: str | Path | pd.DataFrame,
    q: Questionnaire,
    districts: Sequence[Mapping[str, str]] = (),
) -> dict[str, dict[str, float]]:
    """Population margins (variable → category code → population) from a table, checked.

    Columns ``variable, category, population`` (or 变量, 类别, 人口 …). A variable is a
    respondent attribute of ``q`` (id or wording); a category one of its choices (code or
    wording) or, for a ``choices: districts`` attribute, a district; the population a
    positive number. Every choice of a variable given must appear exactly once: raking needs
    a population for every category a respondent can be in.

    Raises
    ------
    InputError
        ``surveyweb.import.margins_refused`` with every fault located by file, row, column.
    """
    name = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    frame = source if isinstance(source, pd.DataFrame) else read_table(Path(source))
    problems: list[Problem] = []
    header: dict[str, str] = {}
    for written in map(str, frame.columns):
        canonical = MARGIN_HEADERS.get(fold(written))
        if canonical is not None and canonical not in header:
            header[canonical] = written
    for needed in ("variable", "category", "population"):
        if needed not in header:
            problems.append(
                Problem("surveyweb.import.margin_column_missing", {"column": needed},
                        Location(file=name, row=1, column=needed))
            )  # fmt: skip
    if problems:
        raise InputError("surveyweb.import.margins_refused", problems, file=name)
    attributes = {key: a for a in q.attributes for key in _keys(a.id) | {
        k for text in a.text.as_dict().values() if text for k in _keys(text)}}  # fmt: skip
    population, empty, _ = parse_numbers(frame[header["population"]])
    margins: dict[str, dict[str, float]] = {}
    for k, (variable, category) in enumerate(
        zip(frame[header["variable"]].tolist(), frame[header["category"]].tolist(), strict=True)
    ):
        row = k + 2
        if all(_blank(v) for v in (variable, category)) and empty[k]:
            continue
        attribute = attributes.get(header_key(str(variable)))
        if attribute is None:
            problems.append(
                Problem("surveyweb.import.margin_variable_unknown",
                        {"variable": str(variable), "known": ", ".join(a.id for a in q.attributes)},
                        Location(name, None, row, header["variable"]))
            )  # fmt: skip
            continue
        choices = _choice_index(attribute, districts)
        code = choices.get(fold(str(category)))
        if code is None:
            problems.append(
                Problem("surveyweb.import.margin_category_unknown",
                        {"category": str(category), "variable": attribute.id,
                         "known": ", ".join(sorted(set(choices.values())))},
                        Location(name, None, row, header["category"]))
            )  # fmt: skip
            continue
        value = float(population[k])
        if not (np.isfinite(value) and value > 0):
            problems.append(
                Problem("surveyweb.import.margin_population_invalid",
                        {"value": "" if empty[k] else str(frame[header["population"]].iloc[k])},
                        Location(name, None, row, header["population"]))
            )  # fmt: skip
            continue
        given = margins.setdefault(attribute.id, {})
        if code in given:
            problems.append(
                Problem("surveyweb.import.margin_category_twice",
                        {"category": code, "variable": attribute.id},
                        Location(name, None, row, header["category"]))
            )  # fmt: skip
        given[code] = value
    for variable, given in margins.items():
        attribute = next(a for a in q.attributes if a.id == variable)
        missing = sorted(set(_choice_index(attribute, districts).values()) - given.keys())
        if missing:
            problems.append(
                Problem("surveyweb.import.margin_categories_missing",
                        {"variable": variable, "missing": ", ".join(missing)},
                        Location(file=name, column=header["category"]))
            )  # fmt: skip
    if not margins and not problems:
        problems.append(Problem("surveyweb.import.margins_empty", {}, Location(file=name)))
    if problems:
        raise InputError("surveyweb.import.margins_refused", problems, file=name)
    return margins


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()
