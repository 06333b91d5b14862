"""Hypothesis strategies for hostile files: random and truncated bytes, mutated text, cells of
every awkward kind (formula injections included) and workbooks built from them.

Every strategy is shrinkable, so a failing example comes back as the smallest file that fails.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

# Text cells a spreadsheet would run as a formula (OWASP "CSV injection" examples).
FORMULA_INJECTIONS = (
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    '=HYPERLINK("http://example.invalid/x","点击")',
    "=1+2",
    "\t=1+2",
)

awkward_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(FORMULA_INJECTIONS),
    st.sampled_from(["", " ", "NaN", "inf", "-", "—", "１２３", "1,234.5", "1e400", "٣", "\x00"]),
    st.text(alphabet="北京市上海天津重庆济南青岛数据局交通", max_size=12),
)
cell = st.one_of(
    st.none(),
    awkward_text,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
)


@st.composite
def truncated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut at a random byte (never whole)."""
    return data[: draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))]


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes overwritten, or with a random run inserted."""
    how = draw(st.sampled_from(["cut", "overwrite", "insert"]))
    if how == "cut" or not data:
        return draw(truncated(data))
    at = draw(st.integers(min_value=0, max_value=len(data) - 1))
    run = draw(st.binary(min_size=1, max_size=16))
    if how == "overwrite":
        return data[:at] + run + data[at + len(run) :]
    return data[:at] + run + data[at:]


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with lines dropped, duplicated or replaced by random text, or cut short."""
    lines = text.splitlines(keepends=True)
    how = draw(st.sampled_from(["cut", "drop", "repeat", "replace", "indent"]))
    if how == "cut" or not lines:
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    if how == "drop":
        return "".join(lines[:at] + lines[at + 1 :])
    if how == "repeat":
        return "".join(lines[: at + 1] + lines[at:])
    if how == "indent":
        return "".join([*lines[:at], "   " + lines[at], *lines[at + 1 :]])
    line = lines[at]
    head = line[: len(line) - len(line.lstrip())]
    key = line.strip().split(":", 1)[0] + ": " if ":" in line else ""
    value = draw(awkward_text).replace("\n", " ")
    return "".join([*lines[:at], f"{head}{key}{value}\n", *lines[at + 1 :]])


def workbook_bytes(sheets: dict[str, Sequence[Sequence[Any]]], merged: Sequence[str] = ()) -> bytes:
    """An .xlsx with ``sheets`` (name → rows); ``merged`` ranges are merged on the first sheet."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append([safe_cell(v) for v in row])
    first = book.worksheets[0] if book.worksheets else book.create_sheet("Sheet1")
    for cells in merged:
        first.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def edited_workbook(draw: st.DrawFn, data: bytes, *, max_edits: int = 6) -> bytes:
    """A valid workbook with a few cells set to awkward values (headers included), rows
    deleted or a header merged: it still opens, its content is wrong."""
    book = load_workbook(io.BytesIO(data))
    ws = book.worksheets[draw(st.integers(min_value=0, max_value=len(book.worksheets) - 1))]
    for _ in range(draw(st.integers(min_value=1, max_value=max_edits))):
        how = draw(st.sampled_from(["cell", "cell", "cell", "delete", "merge", "clear"]))
        rows, cols = max(ws.max_row, 1), max(ws.max_column, 1)
        row = draw(st.integers(min_value=1, max_value=min(rows + 1, 60)))
        col = draw(st.integers(min_value=1, max_value=cols + 1))
        if how == "cell":
            ws.cell(row=row, column=col, value=safe_cell(draw(cell)))
        elif how == "delete":
            ws.delete_rows(row)
        elif how == "merge" and col > 1:
            ws.merge_cells(start_row=1, start_column=col - 1, end_row=1, end_column=col)
        elif how == "clear":
            ws.delete_cols(col)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def safe_cell(value: Any) -> Any:
    """``value`` as openpyxl can store it (it refuses control characters and NaN-like odds)."""
    if isinstance(value, str):
        return "".join(ch for ch in value if ch >= " " or ch == "\t")
    return value
