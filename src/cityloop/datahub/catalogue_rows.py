"""The rows of a table resource, as its department uploads them (CSV or XLSX), checked column by
column against the information items (信息项) the catalogue declares for it.

Each column is parsed whole; every bad cell comes back with its row and column, and nothing is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.datahub.catalogue import ResourceField
from cityloop.datahub.cells import fold, parse_numbers
from cityloop.errors import InputError, Location, Problem

MAX_PROBLEMS = 200
BOOLEAN_WORDS = {
    **{fold(w): True for w in ("true", "yes", "y", "t", "1", "是", "真", "有")},
    **{fold(w): False for w in ("false", "no", "n", "f", "0", "否", "假", "无")},
}  # fmt: skip
# Well-known text (POINT (lon lat), LINESTRING, POLYGON, MULTI…) or a GeoJSON geometry object.
WKT = re.compile(r"^\s*(MULTI)?(POINT|LINESTRING|POLYGON)\s*(Z|M|ZM)?\s*\(.*\)\s*$", re.I | re.S)
GEOJSON_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                 "MultiPolygon"}  # fmt: skip
BoolArray = npt.NDArray[np.bool_]
Parser = Callable[[pd.Series], tuple[pd.Series, BoolArray]]


def checked_rows(
    frame: pd.DataFrame,
    fields: Sequence[ResourceField],
    *,
    source: str,
    sheet: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts keyed by field name, or an error listing
    every bad header and cell.

    Parameters
    ----------
    frame
        The table as read (text and numbers); header in the file's row 1.
    fields
        The resource's declared information items; a header may be a field's name or its
        Chinese or English label. Every declared field needs a column; an empty cell is null.
    source, sheet
        Where the table came from, for the messages.

    Raises
    ------
    InputError
        ``catalogue.rows.refused`` (at most ``MAX_PROBLEMS`` listed): unknown, repeated or
        missing columns; cells that are not of the field's type (integer, number, boolean
        是/否/true/false/1/0, date YYYY-MM-DD, ISO 8601 date-time, WKT or GeoJSON geometry).
    """
    if not fields:
        raise InputError("catalogue.rows.no_fields", file=source)
    index = {fold(w): f for f in fields for w in (f.name, f.label_zh, f.label_en) if w}
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for written in map(str, frame.columns):
        item = index.get(fold(written))
        where = Location(source, sheet, 1, written)
        if item is None:
            if not fold(written).startswith("unnamed:"):
                known = ", ".join(f.name for f in fields)
                problems.append(Problem("catalogue.rows.unknown_column", {"known": known}, where))
        elif item.name in found:
            problems.append(Problem("catalogue.rows.column_twice",
                                    {"first": found[item.name]}, where))  # fmt: skip
        else:
            found[item.name] = written
    for item in fields:
        if item.name not in found:
            where = Location(source, sheet, 1, item.name)
            problems.append(
                Problem("catalogue.rows.missing_column", {"label": item.label_zh}, where)
            )
    if problems:
        raise _refused(source, problems)
    blank = frame.isna().all(axis=1).to_numpy()
    kept = frame.loc[~blank].reset_index(drop=True)
    numbers = np.flatnonzero(~blank) + 2  # rows as the spreadsheet counts them
    columns: dict[str, pd.Series] = {}
    for item in fields:
        values, bad = PARSERS[item.type](kept[found[item.name]])
        for k in np.flatnonzero(bad)[: MAX_PROBLEMS - len(problems)].tolist():
            cell = str(kept[found[item.name]].iloc[k])
            where = Location(source, sheet, int(numbers[k]), found[item.name])
            problems.append(Problem(f"catalogue.rows.bad_{item.type}", {"value": cell}, where))
        columns[item.name] = values
    if problems:
        raise _refused(source, problems)
    if kept.empty:
        raise InputError("catalogue.rows.empty", file=source)
    table = pd.DataFrame({name: _nullable(values) for name, values in columns.items()})
    return [{str(k): v for k, v in r.items()} for r in table.to_dict("records")]


def _nullable(values: pd.Series) -> pd.Series:
    """``values`` as Python objects with None (JSON null) where a value is missing."""
    out = values.astype(object)
    out[values.isna().to_numpy()] = None
    return out


def _refused(source: str, problems: list[Problem]) -> InputError:
    return InputError("catalogue.rows.refused", problems[:MAX_PROBLEMS], file=source)


def _text(col: pd.Series) -> tuple[pd.Series, BoolArray]:
    as_text = col.map(lambda v: v if isinstance(v, str) else _plain(v), na_action="ignore")
    return as_text.astype(object), np.zeros(len(col), dtype=bool)


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps 0571 as text but 12 as 12.0
    return str(value)


def _number(col: pd.Series) -> tuple[pd.Series, BoolArray]:
    number, empty, _ = parse_numbers(col)
    return pd.Series(number), ~empty & ~np.isfinite(number)


def _integer(col: pd.Series) -> tuple[pd.Series, BoolArray]:
    number, bad = _number(col)
    fractional = np.isfinite(number.to_numpy()) & (np.floor(number.to_numpy()) != number.to_numpy())
    whole = number.astype("Int64", errors="ignore") if not fractional.any() else number
    return pd.Series(whole.astype(object)).map(_int_or_none), bad | fractional


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _boolean(col: pd.Series) -> tuple[pd.Series, BoolArray]:
    empty = col.isna().to_numpy()
    words = col.map(lambda v: BOOLEAN_WORDS.get(fold(_plain(v))), na_action="ignore")
    return words.astype(object), ~empty & words.isna().to_numpy()


def _moments(kind: type[date] | type[datetime]) -> Parser:
    """A parser of ISO 8601 dates or date-times (Excel's own date cells too), each distinct
    cell parsed once; a date-time keeps its offset, or stays without one."""

    def parse(col: pd.Series) -> tuple[pd.Series, BoolArray]:
        codes, distinct = pd.factorize(col, use_na_sentinel=True)
        parsed = [_moment(v, kind) for v in distinct]
        at = np.where(codes < 0, len(parsed), codes)
        values = np.array([*parsed, None], dtype=object)[at]
        bad = np.array([p is None for p in parsed] + [False], dtype=bool)[at]
        return pd.Series(values, dtype=object), bad

    return parse


def _moment(value: Any, kind: type[date] | type[datetime]) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat() if kind is datetime else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat() if kind is date else None
    try:
        return kind.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        return None


def _geometry(col: pd.Series) -> tuple[pd.Series, BoolArray]:
    text, _ = _text(col)
    empty = col.isna().to_numpy()
    ok = text.map(_is_geometry, na_action="ignore").fillna(False).astype(bool).to_numpy()
    return text, ~empty & ~ok


def _is_geometry(text: str) -> bool:
    if WKT.match(text):
        return True
    try:
        shape = json.loads(text)
    except ValueError:
        return False
    return isinstance(shape, dict) and shape.get("type") in GEOJSON_TYPES and "coordinates" in shape


PARSERS: dict[str, Parser] = {
    "string": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _moments(date),
    "datetime": _moments(datetime),
    "geometry": _geometry,
}
