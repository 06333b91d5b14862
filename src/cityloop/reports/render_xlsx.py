"""A report document as an Excel workbook: a cover sheet with the title and facts, then every
table on its own sheet with typed cells, so an office can re-use the figures without retyping.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cityloop.reports.document import ColumnKind, Document, Table
from cityloop.reports.render_html import labels

SHEET_NAME_LIMIT = 31  # Excel's own limit
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
# Text starting with these is a formula to Excel: such a cell could run a command when an
# official opens the file (formula injection), so it is written with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sheet_name(table: Table, number: int, label: str, taken: set[str]) -> str:
    base = _NOT_IN_SHEET_NAMES.sub(" ", table.key or f"{label}{number}")[:SHEET_NAME_LIMIT]
    name, k = base, 1
    while name.lower() in taken:
        k += 1
        name = f"{base[: SHEET_NAME_LIMIT - len(str(k)) - 1]}~{k}"
    taken.add(name.lower())
    return name


def _cell(value: object, kind: ColumnKind) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value if kind is not ColumnKind.TEXT else str(value)


def render_xlsx(doc: Document) -> bytes:
    """``doc``'s tables as a workbook (numbers as numbers, percentages as shares formatted %)."""
    book = Workbook()
    cover = book.active
    assert cover is not None, "a new workbook has a sheet"
    cover.title = "README"
    cover.append([doc.title])
    cover["A1"].font = Font(bold=True, size=14)
    cover.append([doc.subtitle])
    for fact in doc.facts:
        cover.append(list(fact))
    cover.append([labels(doc.lang)["issued"], doc.issued.isoformat()])
    table_label = labels(doc.lang)["table"]
    taken = {"readme"}
    for number, table in doc.tables():
        sheet = book.create_sheet(_sheet_name(table, number, table_label, taken))
        sheet.append([f"{table_label} {number}  {table.caption}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append([c.label for c in table.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
        for k, column in enumerate(table.columns, start=1):
            letter = get_column_letter(k)
            sheet.column_dimensions[letter].width = max(10, min(48, 2 * len(column.label) + 4))
            if column.kind is not ColumnKind.TEXT:
                decimals = 0 if column.kind is ColumnKind.INTEGER else column.decimals
                pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
                pattern += "%" if column.kind is ColumnKind.PERCENT else ""
                for (cell,) in sheet.iter_rows(min_row=3, min_col=k, max_col=k):
                    cell.number_format = pattern
        sheet.freeze_panes = "A3"
        if table.note:
            sheet.append([])
            sheet.append([table.note])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
