"""Indicator values (unit × year × indicator) read from a user's table and checked cell by cell.

Every rule is one whole-column operation; only the rows that break a rule become Problems.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
PLAIN_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"

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
    header = _map_headers(frame, source, sheet, first_row - 1)

    def column(name: str) -> pd.Series:
        return frame.iloc[:, header[name][1]]

    number, empty, percent = _parse_numbers(column("value"))
    year, year_empty = _parse_years(column("year"))
    unit, indicator = _coded_text(column("unit")), _coded_text(column("indicator"))
    texts = {
        name: _coded_text(column(name)) if name in header else _Coded.empty(len(frame))
        for name in ("source", "note", "measure")
    }
    codes = framework.indicator_codes
    known_at = pd.Index(codes).get_indexer(pd.Index(indicator.values, dtype=object))
    ind_idx = _lookup(known_at, indicator.codes)  # -1: empty or unknown code
    kind = _lookup(_type_index(framework.value_type), ind_idx)  # -1: unknown indicator
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
            "values.unknown_unit", "unit", ~_lookup(known_unit, unit.codes, True), cell("unit")
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
        checks.add("values.formula", name, _lookup(is_formula, coded.codes, False), cell(name))

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
    complete: BoolArray, unit: _Coded, year: IntArray, ind_idx: IntArray, codes: tuple[str, ...]
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


# -- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Coded:
    """A text column as codes into its distinct cleaned values; -1 marks an empty cell."""

    codes: IntArray
    values: ObjectArray

    @classmethod
    def empty(cls, n: int) -> _Coded:
        """A column the table does not have: every cell empty."""
        return cls(np.full(n, -1, dtype=np.int64), np.array([], dtype=object))

    def strings(self, rows: IntArray) -> pd.api.extensions.ExtensionArray:
        return pd.array(np.append(self.values, "")[self.codes[rows]], dtype="string")


def _coded_text(col: pd.Series) -> _Coded:
    """Factorise first, clean only the distinct values: fast however long the column."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    cleaned = pd.Series([_clean_text(v) for v in uniques], dtype=object)
    merged, values = pd.factorize(cleaned, use_na_sentinel=True)
    return _Coded(_lookup(merged, codes), np.asarray(values, dtype=object))


def _clean_text(value: Any) -> str | None:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)  # Excel stores the code 330100 as the number 330100.0
    text = str(value).strip()
    return text or None


def _parse_years(col: pd.Series) -> tuple[IntArray, BoolArray]:
    """Year per row (-1 where it is not an integer) and where the cell is empty."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    parsed = [_year_of(v) for v in uniques]
    blank = np.array([p is None for p in parsed], dtype=bool)
    as_int = np.array([-1 if p is None or p is False else int(p) for p in parsed], dtype=np.int64)
    return _lookup(as_int, codes, -1), _lookup(blank, codes, True)


def _year_of(value: Any) -> int | bool | None:
    """The year in a cell: an int, None if the cell is blank, False if it is no integer."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("年").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return False
    return int(number) if number.is_integer() else False


def _parse_numbers(col: pd.Series) -> tuple[FloatArray, BoolArray, BoolArray]:
    """(number, empty, had a % sign); number is NaN where a non-empty cell is no number."""
    n = len(col)
    percent = np.zeros(n, dtype=bool)
    empty = col.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(col.dtype):
        number = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isfinite(number), number, np.nan), empty, percent
    try:  # text, as CSV readers give it: Arrow casts the plain decimals in one pass
        number = _cast_plain_decimals(pa.array(col, from_pandas=True, type=pa.string()))
    except pa.ArrowException:  # a mix of numbers and text, as Excel readers give it
        number = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    failed = ~empty & ~np.isfinite(number)
    if failed.any():
        idx = np.flatnonzero(failed)
        number[idx], empty[idx], percent[idx] = _parse_messy(col.iloc[idx])
    return np.where(np.isfinite(number), number, np.nan), empty, percent


def _cast_plain_decimals(text: pa.Array) -> FloatArray:
    """Each plain decimal ("12", "-0.5", "1e3") as a float; NaN for anything else."""
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
    except pa.ArrowInvalid:  # some cell is no plain decimal: cast only those that are
        plain = pc.fill_null(pc.match_substring_regex(text, PLAIN_DECIMAL), False)
        number = np.full(len(text), np.nan)
        number[plain.to_numpy(zero_copy_only=False)] = pc.cast(
            pc.filter(text, plain), pa.float64()
        ).to_numpy(zero_copy_only=False)
        return number


def _parse_messy(cells: pd.Series) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Full-width digits, thousands separators, a trailing % and blank text."""
    text = cells.map(str).str.normalize("NFKC").str.replace("−", "-", regex=False).str.strip()
    percent = text.str.endswith("%")
    text = text.str.removesuffix("%").str.strip()
    thousands = text.str.fullmatch(THOUSANDS)
    text = text.mask(thousands, text.str.replace(",", "", regex=False))
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    blank = (text == "").to_numpy() & ~percent.to_numpy()
    return number, blank, percent.to_numpy() & np.isfinite(number)


def _wrong_measure(measure: _Coded, ind_idx: IntArray, framework: Framework) -> BoolArray:
    """Rows whose unit of measurement differs from the framework's for their indicator."""
    ids = {_fold(u): k for k, u in enumerate(dict.fromkeys(i.unit for i in framework.indicators))}
    expected = np.array([ids[_fold(i.unit)] for i in framework.indicators], dtype=np.int64)
    given = np.array([ids.get(_fold(str(v)), -2) for v in measure.values], dtype=np.int64)
    row_given: IntArray = _lookup(given, measure.codes, -1)  # -1: no unit written
    wrong: BoolArray = (
        (row_given != -1) & (ind_idx >= 0) & (row_given != _lookup(expected, ind_idx))
    )
    return wrong


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _map_headers(
    frame: pd.DataFrame, source: str, sheet: str | None, row: int
) -> dict[str, tuple[str, int]]:
    """Canonical column → (header as written, position); refuses missing or doubled columns."""
    found: dict[str, list[tuple[str, int]]] = {}
    for pos, name in enumerate(frame.columns):
        canonical = VALUE_HEADER_ALIASES.get(_fold(str(name)))
        if canonical is not None:
            found.setdefault(canonical, []).append((str(name), pos))
    problems: list[Problem] = []
    for col in REQUIRED_VALUE_COLUMNS:
        if col not in found:
            aliases = "/".join(k for k, v in VALUE_HEADER_ALIASES.items() if v == col and k != col)
            where = Location(source, sheet, row, col)
            problems.append(
                Problem("values.missing_column", {"column": col, "aliases": aliases}, where)
            )
    for col, hits in found.items():
        if len(hits) > 1:
            headers = ", ".join(h for h, _ in hits)
            where = Location(source, sheet, row, hits[1][0])
            problems.append(
                Problem("values.duplicate_column", {"column": col, "headers": headers}, where)
            )
    if problems:
        _raise(problems, len(problems), source)
    return {col: hits[0] for col, hits in found.items()}


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


def _lookup(table: npt.NDArray[Any], codes: IntArray, missing: Any = -1) -> Any:
    """``table[codes]`` with ``missing`` where the code is -1 (an empty cell)."""
    if not len(table) or bool(np.all(table == missing)):  # e.g. no formula anywhere: no gather
        return np.full(len(codes), missing, dtype=table.dtype)
    return np.append(table, np.array([missing], dtype=table.dtype))[codes]


def _rank(values: ObjectArray) -> IntArray:
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(values.astype(str), kind="stable")] = np.arange(len(values))
    return rank


def _type_index(types: Sequence[ValueType | None]) -> IntArray:
    """Value types as small integers for whole-array tests; None (unknown indicator) is -1."""
    order = list(ValueType)
    return np.array([-1 if v is None else order.index(v) for v in types], dtype=np.int64)
