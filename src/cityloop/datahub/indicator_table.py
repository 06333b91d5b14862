"""Indicator values (unit × year × indicator) read from a user's table and checked cell by cell.

Every rule is one whole-column operation; only the rows that break a rule become Problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.datahub.cells import (
    Coded,
    coded_text,
    fold,
    lookup,
    map_headers,
    parse_numbers,
    parse_years,
)
from cityloop.datahub.tables import read_table
from cityloop.datahub.units import Units
from cityloop.errors import DataValidationError, Location, Problem
from cityloop.frameworks.schema import ValueType
from cityloop.frameworks.tree import Framework

VALUE_COLUMNS = ("unit", "year", "indicator", "value", "source", "note")
REQUIRED_VALUE_COLUMNS = ("unit", "year", "indicator", "value")
# Headers a user may write, after NFKC (full-width → half-width) and case folding.
VALUE_HEADER_ALIASES = {
    **{c: c for c in (*VALUE_COLUMNS, "measure")},
    "单位代码": "unit", "单位": "unit", "年份": "year", "年度": "year", "指标代码": "indicator",
    "数值": "value", "指标值": "value", "值": "value", "数据来源": "source", "来源": "source",
    "备注": "note", "计量单位": "measure", "单位(计量)": "measure",
}  # fmt: skip
DATA_SHEET = "数据填报"  # the sheet of the collection template that holds the values
YEAR_MIN, YEAR_MAX = 1949, 2100
MAX_PROBLEMS = 1000

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


# Rules on the number by value type: (catalogue key, types, which values break it).
VALUE_RULES: tuple[tuple[str, tuple[ValueType, ...], Callable[[FloatArray], BoolArray]], ...] = (
    ("values.percentage_range", (ValueType.PERCENTAGE,), lambda x: (x < 0) | (x > 100)),
    ("values.share_range", (ValueType.SHARE,), lambda x: (x < 0) | (x > 1)),
    ("values.negative", (ValueType.COUNT, ValueType.AMOUNT, ValueType.RATE), lambda x: x < 0),
    ("values.count_not_integer", (ValueType.COUNT,), lambda x: x != np.round(x)),
    ("values.not_boolean", (ValueType.BOOLEAN,), lambda x: (x != 0) & (x != 1)),
)


@dataclass(frozen=True)
class IndicatorTable:
    """Validated values: columns ``VALUE_COLUMNS``, sorted by unit, year and indicator.

    dtypes: unit, indicator, source, note ``string`` (no missing values: empty text is "");
    year ``int64``; value ``float64`` (finite). (unit, year, indicator) is unique.
    """

    frame: pd.DataFrame

    def summary(self, framework: Framework) -> ValuesSummary:
        """Counts and coverage of this table against ``framework``."""
        df = self.frame
        years = tuple(sorted(int(y) for y in df["year"].unique()))
        n_units = int(df["unit"].nunique())
        present = set(df["indicator"].unique())
        cells = n_units * len(years) * len(framework.indicator_codes)
        return ValuesSummary(
            rows=len(df),
            units=n_units,
            years=years,
            indicators=len(present),
            framework_indicators=len(framework.indicator_codes),
            coverage=len(df) / cells if cells else 0.0,
            without_data=tuple(c for c in framework.indicator_codes if c not in present),
        )


@dataclass(frozen=True)
class ValuesSummary:
    """What a values table holds: ``coverage`` is rows / (units × years × indicators)."""

    rows: int
    units: int
    years: tuple[int, ...]
    indicators: int
    framework_indicators: int
    coverage: float
    without_data: tuple[str, ...]


def read_values(path: Path, framework: Framework, units: Units | None = None) -> IndicatorTable:
    """Read and validate a values file: CSV (UTF-8 ± BOM, GBK/GB18030), XLSX or Parquet.

    In a workbook the sheet ``数据填报`` (the collection template's) is read, else the first.
    """
    sheet: str | None = None
    if path.suffix.lower() in {".xlsx", ".xlsm"} and path.exists():
        try:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                names = [str(n) for n in book.sheet_names]
            sheet = DATA_SHEET if DATA_SHEET in names else names[0]
        except Exception:  # a corrupt book: read_table reports it with the file name
            sheet = None
    frame = read_table(path, sheet=sheet if sheet is not None else 0)
    return validate_values(frame, framework, units, source=str(path), sheet=sheet)


def validate_values(
    frame: pd.DataFrame,
    framework: Framework,
    units: Units | None = None,
    *,
    source: str = "<DataFrame>",
    sheet: str | None = None,
    first_row: int = 2,
) -> IndicatorTable:
    """Check every rule on ``frame``; return the table or raise listing every fault.

    ``first_row`` is the spreadsheet row of the first data row (the header is the row
    before it). A row whose value is empty is a missing value and is dropped; any other
    fault refuses the whole table (``DataValidationError`` "values.invalid").
    """
    header, problems = map_headers(
        frame, VALUE_HEADER_ALIASES, REQUIRED_VALUE_COLUMNS, Location(source, sheet, first_row - 1)
    )
    if problems:
        _raise(problems, len(problems), source)

    def column(name: str) -> pd.Series:
        return frame.iloc[:, header[name][1]]

    number, empty, percent = parse_numbers(column("value"))
    year, year_empty = parse_years(column("year"))
    unit, indicator = coded_text(column("unit")), coded_text(column("indicator"))
    texts = {
        name: coded_text(column(name)) if name in header else Coded.empty(len(frame))
        for name in ("source", "note", "measure")
    }
    codes = framework.indicator_codes
    known_at = pd.Index(codes).get_indexer(pd.Index(indicator.values, dtype=object))
    ind_idx = lookup(known_at, indicator.codes)  # -1: empty or unknown code
    kind = lookup(_type_index(framework.value_type), ind_idx)  # -1: unknown indicator
    # "85%" means 85 for a percentage and 0.85 for a share; elsewhere the sign is a mistake.
    number = np.where(percent & (kind == _type_index([ValueType.SHARE])[0]), number / 100, number)

    checks = _Checks(~empty)

    def cell(col: str, with_indicator: bool = False) -> Callable[[int], dict[str, Any]]:
        def params(i: int) -> dict[str, Any]:
            out = {"value": _shown(column(col).iloc[i])}
            return {**out, "indicator": codes[ind_idx[i]]} if with_indicator else out

        return params

    checks.add("values.empty_unit", "unit", unit.codes < 0, lambda i: {})
    if units is not None:
        known_unit = pd.Index(unit.values, dtype=object).isin(units.codes)
        checks.add(
            "values.unknown_unit", "unit", ~lookup(known_unit, unit.codes, True), cell("unit")
        )
    bad_year = ~year_empty & ((year < YEAR_MIN) | (year > YEAR_MAX))
    year_range = {"low": YEAR_MIN, "high": YEAR_MAX}
    checks.add("values.empty_year", "year", year_empty, lambda i: {})
    checks.add("values.bad_year", "year", bad_year, lambda i: {**cell("year")(i), **year_range})
    checks.add("values.empty_indicator", "indicator", indicator.codes < 0, lambda i: {})
    suggest = _Suggestions(framework)
    checks.add(
        "values.unknown_indicator",
        "indicator",
        (indicator.codes >= 0) & (ind_idx < 0),
        lambda i: suggest(str(indicator.values[indicator.codes[i]])),
    )
    checks.add("values.not_number", "value", ~np.isfinite(number), cell("value"))
    checks.add(
        "values.unexpected_percent",
        "value",
        percent & ~np.isin(kind, _type_index([ValueType.PERCENTAGE, ValueType.SHARE, None])),
        cell("value", with_indicator=True),
    )
    for key, types, breaks in VALUE_RULES:
        mask = np.isin(kind, _type_index(types)) & np.isfinite(number)
        mask[mask] = breaks(number[mask])
        checks.add(key, "value", mask, cell("value", with_indicator=True))
    measure = texts["measure"]
    checks.add(
        "values.wrong_unit",
        "measure",
        _wrong_measure(measure, ind_idx, framework),
        lambda i: {
            "indicator": codes[ind_idx[i]],
            "found": measure.values[measure.codes[i]],
            "expected": framework.indicators[ind_idx[i]].unit,
        },
    )
    for name, coded in (("unit", unit), *texts.items()):
        is_formula = np.array([str(v).startswith("=") for v in coded.values], dtype=bool)
        checks.add("values.formula", name, lookup(is_formula, coded.codes, False), cell(name))

    # Sort the rows with a complete key once: duplicates are then neighbours.
    complete = ~empty & (unit.codes >= 0) & ~year_empty & ~bad_year & (ind_idx >= 0)
    rows, first_of = _sort_rows(complete, unit, year, ind_idx, codes)
    checks.add(
        "values.duplicate",
        "indicator",
        first_of >= 0,
        lambda i: {
            "unit": unit.values[unit.codes[i]],
            "year": int(year[i]),
            "indicator": codes[ind_idx[i]],
            "first_row": int(first_of[i]) + first_row,
        },
    )
    checks.raise_if_any(header, source, sheet, first_row)
    if not rows.size:
        _raise([Problem("values.no_rows", {}, Location(source, sheet))], 1, source)
    return IndicatorTable(
        pd.DataFrame(
            {
                "unit": unit.strings(rows),
                "year": year[rows],
                "indicator": pd.array(np.asarray(codes, dtype=object)[ind_idx[rows]], "string"),
                "value": number[rows],
                "source": texts["source"].strings(rows),
                "note": texts["note"].strings(rows),
            },
            columns=list(VALUE_COLUMNS),
            copy=False,  # every column is a fresh array made above
        )
    )


def _sort_rows(
    complete: BoolArray, unit: Coded, year: IntArray, ind_idx: IntArray, codes: tuple[str, ...]
) -> tuple[IntArray, IntArray]:
    """Rows with a complete key in (unit, year, indicator) order, and for each row repeating
    an earlier one the position of that first row (-1 elsewhere)."""
    rows = np.flatnonzero(complete)
    unit_rank = _rank(unit.values)[unit.codes[rows]]
    code_rank = _rank(np.asarray(codes, dtype=object))[ind_idx[rows]]
    key = (unit_rank * (YEAR_MAX - YEAR_MIN + 1) + (year[rows] - YEAR_MIN)) * len(codes) + code_rank
    if not bool(np.all(key[1:] >= key[:-1])):  # a file already in this order needs no sort
        order = np.argsort(key, kind="stable")
        rows, key = rows[order], key[order]
    same = key[1:] == key[:-1]
    first_of = np.full(len(complete), -1, dtype=np.int64)
    if same.any():  # a stable sort keeps the earliest row first in each run of equal keys
        starts = np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(len(rows)), 0))
        first_of[rows[1:][same]] = rows[starts[1:][same]]
    return rows, first_of


def _wrong_measure(measure: Coded, ind_idx: IntArray, framework: Framework) -> BoolArray:
    """Rows whose unit of measurement differs from the framework's for their indicator."""
    ids = {fold(u): k for k, u in enumerate(dict.fromkeys(i.unit for i in framework.indicators))}
    expected = np.array([ids[fold(i.unit)] for i in framework.indicators], dtype=np.int64)
    given = np.array([ids.get(fold(str(v)), -2) for v in measure.values], dtype=np.int64)
    row_given: IntArray = lookup(given, measure.codes, -1)  # -1: no unit written
    wrong: BoolArray = (row_given != -1) & (ind_idx >= 0) & (row_given != lookup(expected, ind_idx))
    return wrong


# -- problems ---------------------------------------------------------------------------------


class _Checks:
    """Every rule's mask of offending rows; only the first ``MAX_PROBLEMS`` become Problems."""

    def __init__(self, keep: BoolArray) -> None:
        self.keep = keep
        self.found: list[tuple[str, str, BoolArray, Callable[[int], dict[str, Any]]]] = []

    def add(
        self, key: str, column: str, mask: BoolArray, params: Callable[[int], dict[str, Any]]
    ) -> None:
        self.found.append((key, column, mask & self.keep, params))

    def raise_if_any(
        self, header: dict[str, tuple[str, int]], source: str, sheet: str | None, first_row: int
    ) -> None:
        total = sum(int(mask.sum()) for _, _, mask, _ in self.found)
        if not total:
            return
        hits = [np.flatnonzero(mask)[:MAX_PROBLEMS] for _, _, mask, _ in self.found]
        rows = np.concatenate(hits)
        rule = np.concatenate([np.full(len(h), k) for k, h in enumerate(hits)])
        first = np.lexsort((rule, rows))[:MAX_PROBLEMS]  # row order, then rule order
        problems = []
        for i, k in zip(rows[first].tolist(), rule[first].tolist(), strict=True):
            key, column, _, params = self.found[k]
            written = header[column][0] if column in header else column
            problems.append(
                Problem(key, params(i), Location(source, sheet, i + first_row, written))
            )
        _raise(problems, total, source)


def _raise(problems: list[Problem], total: int, source: str) -> None:
    key = "values.invalid" if total <= len(problems) else "values.invalid_truncated"
    raise DataValidationError(key, problems, file=source, total=total)


class _Suggestions:
    """The closest known indicator code to an unknown one, computed once per code."""

    def __init__(self, framework: Framework) -> None:
        self.framework = framework
        self.cache: dict[str, dict[str, Any]] = {}

    def __call__(self, code: str) -> dict[str, Any]:
        if code not in self.cache:
            known = self.framework.indicator_codes
            same_but_case = [c for c in known if c.casefold() == code.casefold()]
            close = same_but_case or difflib.get_close_matches(code, known, n=1, cutoff=0.5)
            self.cache[code] = {
                "value": code,
                "framework": self.framework.id,
                "suggestion": close[0] if close else "—",
            }
        return self.cache[code]


def _shown(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


# -- small array helpers ----------------------------------------------------------------------


def _rank(values: ObjectArray) -> IntArray:
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(values.astype(str), kind="stable")] = np.arange(len(values))
    return rank


def _type_index(types: Sequence[ValueType | None]) -> IntArray:
    """Value types as small integers for whole-array tests; None (unknown indicator) is -1."""
    order = list(ValueType)
    return np.array([-1 if v is None else order.index(v) for v in types], dtype=np.int64)
