"""The project catalogue as an Excel workbook an office edits by hand: a sheet of projects and
a sheet of their effects on indicators, then read back into the city's overrides.

Reading is all or nothing: every fault comes back with its file, sheet, row and column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Mapping
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from cityloop.errors import InputError, Location, Problem
from cityloop.i18n import normalise_language, t
from cityloop.planning.project_catalogue import (
    ProjectCatalogue,
    apply_overrides,
    override_of,
)

PROJECT_SHEETS = ("项目", "projects")
EFFECT_SHEETS = ("成效", "effects")
PROJECT_COLUMNS = (
    "code", "status", "name_zh", "name_en", "domain", "description_zh", "description_en", "cost",
    "staff", "prerequisites", "plan_types", "applications", "foundation", "importance",
)  # fmt: skip
EFFECT_COLUMNS = ("code", "framework", "indicator", "low", "likely", "high")
LIST_COLUMNS = ("prerequisites", "plan_types", "applications")
AMOUNT_COLUMNS = ("cost", "staff")
NUMBER_COLUMNS = ("foundation", "importance", "low", "likely", "high")
# Yearly amounts sit in one cell, "800; 600"; lists of codes likewise, "a, b".
SPLIT = re.compile(r"\s*[;；,，、]\s*")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
WIDTHS = {"code": 20, "name_zh": 28, "name_en": 32, "description_zh": 40, "description_en": 40}


def number_text(value: float) -> str:
    # repr keeps every digit, so a value read back is the same float.
    return str(int(value)) if value.is_integer() else repr(value)


def _header(sheet: Any, columns: tuple[str, ...], lang: str) -> None:
    sheet.append([t(f"plancat.col.{c}", lang) for c in columns])
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column, 14)
    sheet.freeze_panes = "B2"


def _text_cell(sheet: Any, row: int, column: int, value: Any) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with


def write_catalogue_workbook(
    catalogue: ProjectCatalogue,
    *,
    lang: str = "zh-CN",
    overridden: Collection[str] = (),
    own: Collection[str] = (),
) -> bytes:
    """An xlsx workbook of ``catalogue``: the projects sheet (one row each; ``status`` marks the
    codes a unit ``overridden`` or added as its ``own``) and the effects sheet (one row per
    project and indicator), with headers in ``lang``."""
    lang = normalise_language(lang)
    book = Workbook()
    projects = book.active
    projects.title = PROJECT_SHEETS[0 if lang == "zh-CN" else 1]
    effects = book.create_sheet(EFFECT_SHEETS[0 if lang == "zh-CN" else 1])
    _header(projects, PROJECT_COLUMNS, lang)
    _header(effects, EFFECT_COLUMNS, lang)
    for project in catalogue.projects.values():
        code = project.code
        status = "own" if code in own else "overridden" if code in overridden else "shipped"
        values = [
            code, t(f"plancat.status.{status}", lang), project.name_zh, project.name_en,
            project.domain, project.description_zh, project.description_en,
            "; ".join(map(number_text, project.cost)),
            "; ".join(map(number_text, project.staff)), ", ".join(project.prerequisites),
            ", ".join(project.plan_types), ", ".join(project.applications),
            project.foundation, project.importance,
        ]  # fmt: skip
        row = projects.max_row + 1
        for column, value in enumerate(values, start=1):
            _text_cell(projects, row, column, value)
        for e in project.effects:
            effects.append([code, e.framework, e.indicator, e.low, e.likely, e.high])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- reading --------------------------------------------------------------------------------------


def _column_ids(columns: tuple[str, ...]) -> dict[str, str]:
    """Header text (either language, or the column id itself) → column id."""
    ids = {c: c for c in columns}
    for lang in ("zh-CN", "en"):
        ids.update({t(f"plancat.col.{c}", lang).strip().lower(): c for c in columns})
    return {k.lower(): v for k, v in ids.items()}


def _sheet(book: Any, names: tuple[str, ...], source: str) -> Any:
    for sheet in book.worksheets:
        if sheet.title.strip().lower() in names:
            return sheet
    raise InputError("plancat.excel.sheet_missing", file=source, sheet=" / ".join(names))


def _rows(
    sheet: Any,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    source: str,
    found: list[Problem],
) -> list[tuple[int, dict[str, Any]]]:
    """The non-empty rows of ``sheet`` by column id, with their row number; formula-like
    cells and missing columns are added to ``found``."""
    ids = _column_ids(columns)
    header = [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    position = {ids[str(h).strip().lower()]: i for i, h in enumerate(header)
                if h is not None and str(h).strip().lower() in ids}  # fmt: skip
    for column in [c for c in required if c not in position]:
        where = Location(file=source, sheet=sheet.title, row=1, column=column)
        found.append(Problem("plancat.excel.column_missing", {"column": column}, where))
    if len(position) < len(required):
        return []
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        values = {c: cells[i] if i < len(cells) else None for c, i in position.items()}
        for column, value in values.items():
            if isinstance(value, str) and value.lstrip().startswith("="):
                where = Location(file=source, sheet=sheet.title, row=number, column=column)
                found.append(Problem("plancat.excel.formula", {"value": value[:40]}, where))
                values[column] = ""  # reported once, as a formula, not again as a bad value
        if any(v is not None and str(v).strip() for v in values.values()):
            rows.append((number, values))
    return rows


def _cell_value(column: str, value: Any) -> Any:
    """A cell's value in record form; raises ValueError when it cannot be read."""
    text = "" if value is None else str(value).strip()
    if column in AMOUNT_COLUMNS:
        return [float(v) for v in SPLIT.split(text)] if text else []
    if column in LIST_COLUMNS:
        return [v for v in SPLIT.split(text) if v] if text else []
    if column in NUMBER_COLUMNS:
        if isinstance(value, bool) or not text:
            raise ValueError(text)
        return value if isinstance(value, int | float) else float(text)
    return text


def _record(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": {"zh": values["name_zh"], "en": values["name_en"]},
        "description": {"zh": values["description_zh"], "en": values["description_en"]},
        **{c: values[c] for c in ("domain", *AMOUNT_COLUMNS, *LIST_COLUMNS, "foundation")},
        "importance": values["importance"],
        "effects": [],
    }


def read_catalogue_workbook(
    data: bytes, source: str, base: ProjectCatalogue
) -> dict[str, dict[str, Any]]:
    """The overrides an edited workbook makes to ``base`` (the shipped catalogue).

    A row equal to the base project gives no override; a changed row gives the fields that
    differ; a new code gives a whole own project. The merged catalogue is validated like the
    shipped file. The ``status`` column is ignored.

    Raises
    ------
    InputError
        ``plancat.excel.invalid`` with every problem (file, sheet, row, column), or
        ``plancat.invalid`` when the merged catalogue breaks a catalogue rule.
    """
    found: list[Problem] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            projects_sheet = _sheet(book, PROJECT_SHEETS, source)
            effects_sheet = _sheet(book, EFFECT_SHEETS, source)
            required = tuple(c for c in PROJECT_COLUMNS if c != "status")
            project_rows = _rows(projects_sheet, PROJECT_COLUMNS, required, source, found)
            effect_rows = _rows(effects_sheet, EFFECT_COLUMNS, EFFECT_COLUMNS, source, found)
        finally:
            book.close()
    except InputError:
        raise
    except Exception as exc:  # read-only sheets are parsed row by row: damage shows up late,
        # as any of zipfile's, zlib's or the XML parser's errors
        raise InputError("plancat.excel.unreadable", file=source, detail=str(exc)) from exc
    records: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for sheet, rows in ((projects_sheet, project_rows), (effects_sheet, effect_rows)):
        for number, values in rows:
            parsed: dict[str, Any] = {}
            for column, value in values.items():
                try:
                    parsed[column] = _cell_value(column, value)
                except ValueError:
                    where = Location(file=source, sheet=sheet.title, row=number, column=column)
                    found.append(Problem("plancat.excel.not_number", {"value": str(value)}, where))
            if len(parsed) < len(values):
                continue
            code, where = parsed["code"], Location(file=source, sheet=sheet.title, row=number)
            if sheet is projects_sheet and code in records:
                found.append(Problem("plancat.rule.duplicate", {"code": code}, where))
            elif sheet is projects_sheet:
                records[code], lines[code] = _record(parsed), number
            elif code not in records:
                found.append(Problem("plancat.excel.effect_orphan", {"code": code}, where))
            else:
                effect = {k: parsed[k] for k in EFFECT_COLUMNS if k != "code"}
                records[code]["effects"].append(
                    {**effect, "framework": effect["framework"] or None}
                )
    if found:
        raise InputError("plancat.excel.invalid", found, file=source)
    sheet_name = projects_sheet.title
    merged = apply_overrides(base, records, source=source, sheet=sheet_name, rows=lines)
    overrides = {c: override_of(base.projects.get(c), merged.projects[c]) for c in records}
    return {c: fields for c, fields in overrides.items() if fields}
