"""Cells and headers of a user's values table, parsed a whole column at a time.

Each distinct text is cleaned once; numbers may have full-width digits, thousands commas and '%'.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cityloop.errors import Location, Problem

THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
PLAIN_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Coded:
    """A text column as codes into its distinct cleaned values; -1 marks an empty cell."""

    codes: IntArray
    values: ObjectArray

    @classmethod
    def empty(cls, n: int) -> Coded:
        """A column the table does not have: every cell empty."""
        return cls(np.full(n, -1, dtype=np.int64), np.array([], dtype=object))

    def strings(self, rows: IntArray) -> pd.api.extensions.ExtensionArray:
        return pd.array(np.append(self.values, "")[self.codes[rows]], dtype="string")


def coded_text(col: pd.Series) -> Coded:
    """Factorise first, clean only the distinct values: fast however long the column."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    cleaned = pd.Series([_clean_text(v) for v in uniques], dtype=object)
    merged, values = pd.factorize(cleaned, use_na_sentinel=True)
    return Coded(lookup(merged, codes), np.asarray(values, dtype=object))


def _clean_text(value: Any) -> str | None:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)  # Excel stores the code 330100 as the number 330100.0
    text = str(value).strip()
    return text or None


def parse_years(col: pd.Series) -> tuple[IntArray, BoolArray]:
    """Year per row (-1 where it is not an integer) and where the cell is empty."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    parsed = [_year_of(v) for v in uniques]
    blank = np.array([p is None for p in parsed], dtype=bool)
    as_int = np.array([-1 if p is None or p is False else int(p) for p in parsed], dtype=np.int64)
    return lookup(as_int, codes, -1), lookup(blank, codes, True)


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


def parse_numbers(col: pd.Series) -> tuple[FloatArray, BoolArray, BoolArray]:
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


def map_headers(
    frame: pd.DataFrame, aliases: Mapping[str, str], required: Sequence[str], header_row: Location
) -> tuple[dict[str, tuple[str, int]], list[Problem]]:
    """Canonical column → (header as written, position), and a Problem per missing or doubled one.

    ``aliases`` maps ``fold``-ed headers to canonical names; ``header_row`` locates the problems.
    """
    found: dict[str, list[tuple[str, int]]] = {}
    for pos, name in enumerate(frame.columns):
        canonical = aliases.get(fold(str(name)))
        if canonical is not None:
            found.setdefault(canonical, []).append((str(name), pos))
    problems: list[Problem] = []
    for col in required:
        if col not in found:
            written = "/".join(k for k, v in aliases.items() if v == col and k != col)
            where = replace(header_row, column=col)
            problems.append(
                Problem("values.missing_column", {"column": col, "aliases": written}, where)
            )
    for col, hits in found.items():
        if len(hits) > 1:
            headers = ", ".join(h for h, _ in hits)
            where = replace(header_row, column=hits[1][0])
            problems.append(
                Problem("values.duplicate_column", {"column": col, "headers": headers}, where)
            )
    return {col: hits[0] for col, hits in found.items()}, problems


def fold(text: str) -> str:
    """Text as compared with headers and units: NFKC (full-width → half-width), trimmed, folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def lookup(table: npt.NDArray[Any], codes: IntArray, missing: Any = -1) -> Any:
    """``table[codes]`` with ``missing`` where the code is -1 (an empty cell)."""
    if not len(table) or bool(np.all(table == missing)):  # e.g. no formula anywhere: no gather
        return np.full(len(codes), missing, dtype=table.dtype)
    return np.append(table, np.array([missing], dtype=table.dtype))[codes]
