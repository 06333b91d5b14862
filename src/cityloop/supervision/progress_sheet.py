"""The progress workbook of a unit's tracked projects: one sheet per kind of report (progress,
milestones, gates, payments, risks) written prefilled, and read back into typed rows.

Pure: bytes in, bytes or rows out. Every fault names its file, sheet, row and column.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from cityloop.datahub.cells import coded_text, fold, map_headers, parse_numbers
from cityloop.errors import InputError, Location, Problem
from cityloop.i18n import normalise_language, t
from cityloop.supervision.tracking import GateKind, RiskLevel, TrackedProject

STATUSES = ("active", "suspended", "closed")
COLUMNS: dict[str, tuple[str, ...]] = {
    "progress": ("code", "name", "report_date", "percent_complete", "status", "note"),
    "milestones": ("code", "position", "name", "due", "percent_complete", "completed_date"),
    "gates": ("code", "gate", "planned", "passed_date", "skipped"),
    "payments": ("code", "day", "amount", "note"),
    "risks": ("code", "text", "level"),
}
READ_ONLY = {"name", "due", "planned"}  # shown for orientation, ignored when read
REQUIRED = {s: tuple(c for c in cols if c not in READ_ONLY) for s, cols in COLUMNS.items()}
DATES = {"report_date", "completed_date", "passed_date", "day"}
NUMBERS = {"percent_complete", "position", "amount"}
YES = {"是", "yes", "y", "true", "1", "√", "✓"}
NO = {"否", "no", "n", "false", "0", ""}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")


@dataclass(frozen=True)
class SheetProject:
    """A project as the template shows it: its record, status, milestone positions and its
    original payments (day, amount, note)."""

    code: str
    status: str
    record: TrackedProject
    milestone_positions: tuple[int, ...]
    payments: tuple[tuple[date, float, str], ...] = ()


@dataclass(frozen=True)
class SheetRow:
    """One filled row of a sheet: the sheet id, its 1-based row number, its typed cells and
    the sheet's title as written (for messages)."""

    sheet: str
    row: int
    code: str
    cells: dict[str, Any]
    title: str


def sheet_title(sheet: str, lang: str) -> str:
    """The sheet's name in ``lang`` (``进度`` / ``progress`` …)."""
    return t(f"supervision.sheet.{sheet}", lang)


def _label(column: str, lang: str) -> str:
    return t(f"supervision.sheet.col.{column}", lang)


def _rows_of(p: SheetProject, sheet: str, lang: str, today: date) -> list[list[Any]]:
    r = p.record
    if sheet == "progress":
        return [
            [
                p.code,
                r.name,
                today,
                r.percent_complete,
                t(f"supervision.sheet.status.{p.status}", lang),
                "",
            ]
        ]
    if sheet == "milestones":
        return [
            [p.code, k, m.name, m.planned_date, m.percent_complete, m.completed_date]
            for k, m in zip(p.milestone_positions, r.milestones, strict=True)
        ]
    if sheet == "gates":
        return [
            [
                p.code,
                g.kind.label(lang),
                g.planned_date,
                g.passed_date,
                t("supervision.sheet.yes" if g.skipped else "supervision.sheet.no", lang),
            ]
            for g in r.gates
        ]
    if sheet == "payments":
        return [[p.code, day, amount, note] for day, amount, note in p.payments]
    return [[p.code, risk.text, risk.level.label(lang)] for risk in r.risks]  # fmt: skip


def write_progress_workbook(
    projects: Sequence[SheetProject], *, lang: str = "zh-CN", today: date
) -> bytes:
    """An xlsx workbook prefilled with ``projects``: one sheet per kind, headers in ``lang``,
    the report date set to ``today``. Text is written as text, never as a formula."""
    lang = normalise_language(lang)
    book = Workbook()
    book.remove(book.active)
    for sheet, columns in COLUMNS.items():
        ws = book.create_sheet(sheet_title(sheet, lang))
        ws.append([_label(c, lang) for c in columns])
        for index, column in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=index)
            cell.font, cell.fill = Font(bold=True, color="FFFFFF"), HEADER_FILL
            ws.column_dimensions[get_column_letter(index)].width = 30 if column in (
                "name", "text", "note") else 16  # fmt: skip
        ws.freeze_panes = "B2"
        for p in projects:
            for values in _rows_of(p, sheet, lang, today):
                ws.append(values)
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # "=…" typed by a user stays text
                    elif isinstance(cell.value, date):
                        cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- reading --------------------------------------------------------------------------------------


def _aliases(columns: tuple[str, ...]) -> dict[str, str]:
    """Header text in either language, or the column id itself → column id."""
    found = {fold(c): c for c in columns}
    for lang in ("zh-CN", "en"):
        found.update({fold(_label(c, lang)): c for c in columns})
    return found


def _choices(values: Sequence[str], key: Callable[[str, str], str]) -> dict[str, str]:
    """A value, or its label in either language, folded → the value."""
    return {fold(text): v for v in values for text in (v, key(v, "zh-CN"), key(v, "en"))}


CHOICES = {
    "status": _choices(STATUSES, lambda v, lang: t(f"supervision.sheet.status.{v}", lang)),
    "gate": _choices([g.value for g in GateKind], lambda v, lang: GateKind(v).label(lang)),
    "level": _choices([r.value for r in RiskLevel], lambda v, lang: RiskLevel(v).label(lang)),
}


def _frame(ws: Any, sheet: str, where: Location, found: list[Problem]) -> pd.DataFrame | None:
    """The sheet as a frame of the known columns (formula cells reported and blanked)."""
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) if h is not None else "" for h in (rows[0] if rows else ())]
    body = pd.DataFrame([(list(r) + [None] * len(header))[: len(header)] for r in rows[1:]],
                        columns=range(len(header)), dtype=object)  # fmt: skip
    body.columns = pd.Index(header)
    mapped, problems = map_headers(body, _aliases(COLUMNS[sheet]), REQUIRED[sheet], where)
    found += problems
    if problems:
        return None
    frame = body.iloc[:, [pos for _, pos in mapped.values()]].copy()
    frame.columns = pd.Index(list(mapped))
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # the sheet's own row numbers
    formula = frame.map(lambda v: isinstance(v, str) and v.lstrip().startswith("="))
    for row, column in zip(*formula.to_numpy().nonzero(), strict=True):
        found.append(
            Problem(
                "supervision.sheet.formula",
                {"value": str(frame.iloc[row, column])[:40]},
                replace_where(where, int(frame.index[row]), frame.columns[column]),
            )
        )
        frame.iloc[row, column] = None  # reported once, as a formula  # fmt: skip
    filled = frame.map(lambda v: v is not None and str(v).strip() != "").any(axis=1)
    return frame[filled]


def replace_where(where: Location, row: int, column: str) -> Location:
    """``where`` (file and sheet) at a cell."""
    return Location(file=where.file, sheet=where.sheet, row=row, column=column)


def _typed(
    frame: pd.DataFrame, sheet: str, where: Location, found: list[Problem]
) -> list[SheetRow]:
    """Each row's cells as Python values; a cell that is not what its column expects is added
    to ``found`` (and comes back as ``None``)."""
    columns: dict[str, list[Any]] = {}
    bad: dict[str, Any] = {}
    for column in frame.columns:
        col = frame[column]
        values: list[Any]
        blank = col.isna() | col.map(lambda v: str(v).strip() == "")
        if column in NUMBERS:
            number, _, _ = parse_numbers(col.mask(blank))
            values = [None if b else float(x) for x, b in zip(number, blank, strict=True)]
            bad[column] = ~blank & pd.isna(pd.Series(number, index=col.index))
        elif column in DATES:
            days = pd.to_datetime(col.mask(blank), errors="coerce", format="mixed")
            values = [None if pd.isna(d) else d.date() for d in days]
            bad[column] = ~blank & days.isna()
        else:
            coded = coded_text(col.mask(blank))
            text = [None if c < 0 else str(coded.values[c]) for c in coded.codes]
            if column in CHOICES:
                values = [None if x is None else CHOICES[column].get(fold(x)) for x in text]
                bad[column] = pd.Series([x is not None and v is None
                                         for x, v in zip(text, values, strict=True)],
                                        index=col.index)  # fmt: skip
            elif column == "skipped":
                values = [x is not None and fold(x) in YES for x in text]
                bad[column] = pd.Series([x is not None and fold(x) not in YES | NO for x in text],
                                        index=col.index)  # fmt: skip
            else:
                values = text
        columns[column] = values
    for column, flags in bad.items():
        for row in flags.index[flags.to_numpy(dtype=bool)]:
            found.append(Problem(f"supervision.sheet.bad_{_kind(column)}",
                                 {"value": str(frame.at[row, column])[:40]},
                                 replace_where(where, int(row), column)))  # fmt: skip
    missing_code = [int(r) for r, c in zip(frame.index, columns["code"], strict=True) if c is None]
    found += [Problem("supervision.sheet.no_code", {}, replace_where(where, r, "code"))
              for r in missing_code]  # fmt: skip
    return [
        SheetRow(sheet, int(r), code, {c: columns[c][k] for c in columns}, where.sheet or sheet)
        for k, (r, code) in enumerate(zip(frame.index, columns["code"], strict=True))
        if code is not None
    ]


def _kind(column: str) -> str:
    if column in NUMBERS:
        return "number"
    if column in DATES:
        return "date"
    return "skipped" if column == "skipped" else column


def read_progress_workbook(data: bytes, source: str) -> list[SheetRow]:
    """The filled rows of every sheet present (a sheet left out reports nothing).

    Raises
    ------
    InputError
        ``supervision.sheet.unreadable`` when ``data`` is no xlsx workbook, or
        ``supervision.sheet.invalid`` with every fault (file, sheet, row, column): formula
        cells, missing columns, numbers, dates and choices that cannot be read.
    """
    titles = {fold(sheet_title(s, lang)): s for s in COLUMNS for lang in ("zh-CN", "en")}
    titles.update({fold(s): s for s in COLUMNS})
    found: list[Problem] = []
    rows: list[SheetRow] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            for ws in book.worksheets:
                sheet = titles.get(fold(ws.title))
                if sheet is None:
                    continue
                where = Location(file=source, sheet=ws.title, row=1)
                frame = _frame(ws, sheet, where, found)
                if frame is not None and len(frame):
                    rows += _typed(frame, sheet, where, found)
        finally:
            book.close()
    except InputError:
        raise
    except Exception as exc:  # read-only sheets are parsed row by row: damage shows up late,
        # as any of zipfile's, zlib's or the XML parser's errors
        raise InputError("supervision.sheet.unreadable", file=source, detail=str(exc)) from exc
    if not rows and not found:
        found.append(Problem("supervision.sheet.empty", {}, Location(file=source)))
    if found:
        raise InputError("supervision.sheet.invalid", found, file=source)
    return rows
