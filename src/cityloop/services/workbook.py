"""Write tables to an Excel workbook an official can read: localised sheet and column names,
bold frozen headers, filters, sensible widths, and no cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cityloop.i18n import catalogue, current_language

EXCEL_MAX_ROWS = 1_048_575  # a sheet holds 1,048,576 rows including the header
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (=, +, -, @) with a quote."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(
            out[col].dtype, pd.StringDtype | pd.CategoricalDtype
        ):
            text = out[col].astype(str)
            risky = text.str.startswith(FORMULA_START) & out[col].notna()
            if risky.any():
                out[col] = out[col].astype(object).where(~risky, "'" + text)
    return out


def localised(name: str, kind: str, lang: str | None = None) -> str:
    """The catalogue's name for a sheet or column (``xlsx.sheet.*``/``xlsx.col.*``), else itself."""
    return catalogue(lang or current_language()).get(f"xlsx.{kind}.{name}", name)


def write_workbook(path: Path, sheets: Mapping[str, pd.DataFrame], lang: str | None = None) -> None:
    """Write each DataFrame to its own sheet with xlsxwriter (fast, constant memory).

    Sheet and column names are translated through the catalogue; a table longer than a sheet
    is cut at Excel's row limit, which the caller must avoid or announce.
    """
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for key, frame in sheets.items():
        ws = book.add_worksheet(localised(key, "sheet", lang)[:31])
        df = excel_safe(frame.head(EXCEL_MAX_ROWS))
        columns = [localised(str(c), "col", lang) for c in df.columns]
        ws.write_row(0, 0, columns, header)
        for j, col in enumerate(df.columns):
            width = max(len(str(columns[j])) * 2, 8) if df.empty else _width(df[col], columns[j])
            ws.set_column(j, j, width)
        for j, col in enumerate(df.columns):
            _write_column(ws, j, df[col])
        ws.freeze_panes(1, 0)
        if len(df.columns):
            ws.autofilter(0, 0, max(len(df), 1), len(df.columns) - 1)
    book.close()


def _write_column(ws: Any, j: int, series: pd.Series) -> None:
    """Write one column with the typed writer for its dtype; missing cells stay blank."""
    if pd.api.types.is_bool_dtype(series.dtype):
        for i, v in enumerate(series.tolist(), start=1):
            ws.write_boolean(i, j, bool(v))
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        for i in np.flatnonzero(np.isfinite(values)).tolist():
            ws.write_number(i + 1, j, values[i])
    else:
        for i, v in enumerate(series.astype(object).tolist(), start=1):
            if v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA:
                ws.write_string(i, j, str(v))


def _width(series: pd.Series, title: str) -> float:
    sample = series.head(200).astype(str)
    longest = max((len(s.encode("gbk", errors="replace")) for s in sample), default=4)
    return float(min(max(longest, len(title.encode("gbk", errors="replace"))) + 2, 60))
