"""The resource catalogue as an Excel workbook a department fills in by hand: one sheet of
resources (资源目录), one of their information items (信息项), Chinese headers and words first.

Reading is all or nothing: every fault comes back with its file, sheet, row and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cityloop.datahub.catalogue import (
    FIELD_TYPES,
    SHARING_METHODS,
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    SharingType,
    UpdateFrequency,
    check_entry,
)
from cityloop.datahub.cells import fold
from cityloop.errors import InputError, Location, Problem
from cityloop.frameworks.loader import departments as department_kinds
from cityloop.i18n import normalise_language, t

RESOURCE_SHEETS = ("资源目录", "resources")
FIELD_SHEETS = ("信息项", "fields")
RESOURCE_COLUMNS = (
    "code", "department", "name_zh", "name_en", "description", "classification",
    "update_frequency", "format", "sharing_type", "sharing_condition", "sharing_method",
    "not_shared_reason", "open_type", "open_condition", "licence", "keywords", "entity_type",
    "api_url",
)  # fmt: skip
FIELD_COLUMNS = ("code", "name", "label_zh", "label_en", "type")
REQUIRED_RESOURCE = ("code", "department", "name_zh", "classification", "update_frequency",
                     "format", "sharing_type", "open_type")  # fmt: skip
REQUIRED_FIELD = ("code", "name", "label_zh", "type")
# Words of each enumeration: its code, and its label in both languages (``catalogue.<kind>.*``).
VOCABULARIES: dict[str, tuple[str, type[StrEnum] | tuple[str, ...]]] = {
    "classification": ("class", ResourceClass),
    "update_frequency": ("frequency", UpdateFrequency),
    "sharing_type": ("sharing", SharingType),
    "open_type": ("open", OpenType),
    "sharing_method": ("method", SHARING_METHODS),
    "type": ("ftype", FIELD_TYPES),
}
KEYWORD_SPLIT = re.compile(r"\s*[;；,，、]\s*")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
WIDTHS = {"code": 16, "name_zh": 28, "name_en": 28, "description": 40, "sharing_condition": 30,
          "not_shared_reason": 30, "open_condition": 30, "api_url": 36, "label_zh": 20}  # fmt: skip


@dataclass(frozen=True)
class _Sheet:
    """A sheet read back: its name as written, header → canonical column, and the frame."""

    name: str
    columns: dict[str, str]  # canonical → header as written
    frame: pd.DataFrame
    prefix: str  # of the columns' labels: ``catalogue.<prefix>.<column>``


def vocabulary(kind: str) -> dict[str, str]:
    """Folded code or label (zh or en) → code, for one enumeration column."""
    prefix, values = VOCABULARIES[kind]
    codes = [v.value if isinstance(v, StrEnum) else v for v in values]
    words: dict[str, str] = {}
    for code in codes:
        for word in (
            code,
            t(f"catalogue.{prefix}.{code}", "zh-CN"),
            t(f"catalogue.{prefix}.{code}", "en"),
        ):
            words.setdefault(fold(word), code)
    return words


def _label(kind: str, code: str, lang: str) -> str:
    return t(f"catalogue.{VOCABULARIES[kind][0]}.{code}", lang) if code else ""


# -- writing ------------------------------------------------------------------------------------


def write_catalogue_workbook(
    path: Path, entries: Sequence[ResourceEntry], lang: str = "zh-CN"
) -> None:
    """Write ``entries`` as the two-sheet workbook ``read_catalogue_workbook`` reads back.

    Headers and enumeration words are in ``lang`` (Chinese by default); every text cell is
    written as text, so one starting with "=" or "+" is never run as a formula.
    """
    lang = normalise_language(lang)
    zh = lang == "zh-CN"
    book = Workbook()
    resources = book.active
    resources.title = RESOURCE_SHEETS[0] if zh else RESOURCE_SHEETS[1]
    rows = [[_resource_cell(e, c, lang) for c in RESOURCE_COLUMNS] for e in entries]
    _write_sheet(resources, RESOURCE_COLUMNS, rows, lang)
    fields = book.create_sheet(FIELD_SHEETS[0] if zh else FIELD_SHEETS[1])
    items = [
        [e.code, f.name, f.label_zh, f.label_en, _label("type", f.type, lang)]
        for e in entries
        for f in e.fields
    ]
    _write_sheet(fields, FIELD_COLUMNS, items, lang, prefix="fcol")
    book.save(path)


def _resource_cell(entry: ResourceEntry, column: str, lang: str) -> str:
    value = getattr(entry, column)
    if column in VOCABULARIES:
        return _label(column, str(value), lang)
    if column == "department":
        return str(value)
    if column == "keywords":
        return "；".join(value) if lang == "zh-CN" else "; ".join(value)
    return "" if value is None else str(value)


def _write_sheet(
    ws: Any, columns: Sequence[str], rows: Iterable[Sequence[str]], lang: str,
    prefix: str = "col",
) -> None:  # fmt: skip
    ws.append([t(f"catalogue.{prefix}.{c}", lang) for c in columns])
    for k, column in enumerate(columns, start=1):
        head = ws.cell(row=1, column=k)
        head.font = Font(bold=True, color="FFFFFF")
        head.fill = HEADER_FILL
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(k)].width = WIDTHS.get(column, 14)
    for r, row in enumerate(rows, start=2):
        for k, value in enumerate(row, start=1):
            if value == "":
                continue
            cell = ws.cell(row=r, column=k, value=value)
            cell.data_type = "s"  # text, even when it looks like a formula ("=…", "+…")
    ws.freeze_panes = "A2"


# -- reading ------------------------------------------------------------------------------------


def read_catalogue_workbook(
    path: Path, *, source: str | None = None, known_departments: Mapping[str, Any] | None = None
) -> list[ResourceEntry]:
    """The entries of a catalogue workbook, each checked with ``check_entry``, or none.

    Parameters
    ----------
    path
        The .xlsx file.
    source
        The name to give the file in messages (an upload's own name); default ``path``.
    known_departments
        Department code → {"zh", "en"} names a department cell may hold (code or either
        name); default the department kinds of ``departments.yaml``.

    Raises
    ------
    InputError
        ``catalogue.excel.refused`` listing every problem with its sheet, row (as the
        spreadsheet numbers it) and column header: a missing sheet or column, an empty
        required cell, an unknown word in an enumeration column, a code given twice, an
        information item of an unknown resource, and every ``check_entry`` rule broken.
    """
    name = source or str(path)
    known = dict(known_departments if known_departments is not None else department_kinds())
    try:
        book = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a file that is no workbook
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problem = Problem("table.unreadable", {"detail": detail.replace(str(path), name)},
                          Location(file=name))  # fmt: skip
        raise InputError("catalogue.excel.refused", [problem], file=name) from None
    problems: list[Problem] = []
    resources = _find_sheet(book, RESOURCE_SHEETS, RESOURCE_COLUMNS, REQUIRED_RESOURCE,
                            "col", name, problems)  # fmt: skip
    fields = _find_sheet(book, FIELD_SHEETS, FIELD_COLUMNS, REQUIRED_FIELD, "fcol",
                         name, problems, optional=True)  # fmt: skip
    if problems or resources is None:
        raise _refused(name, problems)
    items = _read_fields(fields, name, problems) if fields is not None else {}
    fields_sheet = fields.name if fields is not None else FIELD_SHEETS[0]
    entries = _read_resources(resources, items, known, name, problems, fields_sheet)
    if problems:
        raise _refused(name, problems)
    return entries


def _refused(name: str, problems: list[Problem]) -> InputError:
    return InputError("catalogue.excel.refused", problems, file=name)


def _find_sheet(
    book: Mapping[str, pd.DataFrame], names: tuple[str, str], columns: Sequence[str],
    required: Sequence[str], prefix: str, source: str, problems: list[Problem],
    optional: bool = False,
) -> _Sheet | None:  # fmt: skip
    wanted = {fold(n) for n in names}
    found = next((str(s) for s in book if fold(str(s)) in wanted), None)
    if found is None:
        if not optional:
            params = {"names": " / ".join(names), "sheets": ", ".join(map(str, book))}
            problems.append(Problem("catalogue.excel.no_sheet", params, Location(file=source)))
        return None
    frame = book[found]
    aliases = {
        fold(w): c
        for c in columns
        for w in (c, t(f"catalogue.{prefix}.{c}", "zh-CN"), t(f"catalogue.{prefix}.{c}", "en"))
    }
    mapped: dict[str, str] = {}
    for header in map(str, frame.columns):
        canonical = aliases.get(fold(header))
        where = Location(file=source, sheet=found, row=1, column=header)
        if canonical is None:
            if not fold(header).startswith("unnamed:"):
                problems.append(Problem("catalogue.excel.unknown_column", {}, where))
        elif canonical in mapped:
            problems.append(Problem("catalogue.excel.column_twice",
                                    {"first": mapped[canonical]}, where))  # fmt: skip
        else:
            mapped[canonical] = header
    for column in required:
        if column not in mapped:
            label = f"catalogue.{prefix}.{column}"
            expected = f"{t(label, 'zh-CN')} / {t(label, 'en')}"
            where = Location(file=source, sheet=found, row=1, column=column)
            problems.append(
                Problem("catalogue.excel.missing_column", {"expected": expected}, where)
            )
    return _Sheet(found, mapped, frame, prefix)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code Excel stored as a number
    return str(value).strip()


def _rows(sheet: _Sheet) -> Iterable[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet counts it, canonical column → text) of each non-empty row."""
    frame = sheet.frame
    for k in range(len(frame)):
        cells = {c: _text(frame.iloc[k][h]) for c, h in sheet.columns.items()}
        if any(cells.values()):
            yield k + 2, cells


def _read_fields(
    sheet: _Sheet, source: str, problems: list[Problem]
) -> dict[str, list[ResourceField]]:
    words = vocabulary("type")
    items: dict[str, list[ResourceField]] = {}
    for row, cells in _rows(sheet):
        where = _locator(source, sheet, row)
        ok = _required(cells, REQUIRED_FIELD, where, problems)
        kind = words.get(fold(cells.get("type", "")))
        if cells.get("type") and kind is None:
            problems.append(_unknown_word("type", cells["type"], where("type")))
        if ok and kind is not None:
            items.setdefault(cells["code"], []).append(
                ResourceField(cells["name"], cells["label_zh"], cells.get("label_en", ""), kind)
            )
    return items


def _read_resources(
    sheet: _Sheet,
    items: dict[str, list[ResourceField]],
    known: Mapping[str, Any],
    source: str,
    problems: list[Problem],
    fields_sheet: str,
) -> list[ResourceEntry]:
    departments = {fold(w): code for code, names in known.items()
                   for w in (code, names.get("zh", ""), names.get("en", "")) if w}  # fmt: skip
    words = {kind: vocabulary(kind) for kind in VOCABULARIES if kind in RESOURCE_COLUMNS}
    entries: list[ResourceEntry] = []
    first_row: dict[str, int] = {}
    for row, cells in _rows(sheet):
        where = _locator(source, sheet, row)
        before = len(problems)
        _required(cells, REQUIRED_RESOURCE, where, problems)
        coded: dict[str, str] = {}
        for kind, index in words.items():
            text = cells.get(kind, "")
            if text and fold(text) not in index:
                problems.append(_unknown_word(kind, text, where(kind)))
            coded[kind] = index.get(fold(text), "")
        department = departments.get(fold(cells.get("department", "")))
        if cells.get("department") and department is None:
            problems.append(Problem("catalogue.excel.unknown_department",
                                    {"value": cells["department"], "known": ", ".join(known)},
                                    where("department")))  # fmt: skip
        code = cells.get("code", "")
        if code in first_row:
            problems.append(Problem("catalogue.excel.code_twice", {"code": code,
                            "first": first_row[code]}, where("code")))  # fmt: skip
        first_row.setdefault(code, row)
        if len(problems) > before:
            continue
        given = {c: cells.get(c, "") for c in RESOURCE_COLUMNS}
        entry = ResourceEntry(
            code=code,
            department=department or "",
            name_zh=given["name_zh"],
            name_en=given["name_en"],
            description=given["description"],
            classification=ResourceClass(coded["classification"]),
            fields=tuple(items.pop(code, [])),
            update_frequency=UpdateFrequency(coded["update_frequency"]),
            format=given["format"],
            sharing_type=SharingType(coded["sharing_type"]),
            sharing_condition=given["sharing_condition"],
            sharing_method=coded["sharing_method"],
            not_shared_reason=given["not_shared_reason"],
            open_type=OpenType(coded["open_type"]),
            open_condition=given["open_condition"],
            licence=given["licence"],
            keywords=tuple(k for k in KEYWORD_SPLIT.split(given["keywords"]) if k),
            entity_type=given["entity_type"] or None,
            api_url=given["api_url"],
        )
        problems.extend(
            Problem(p.key, p.params, where(p.location.column or "code"))
            for p in check_entry(entry, known)
        )
        entries.append(entry)
    for code in items:  # information items of no resource of the sheet
        problems.append(Problem("catalogue.excel.fields_without_resource", {"code": code},
                                Location(file=source, sheet=fields_sheet)))  # fmt: skip
    return entries


def _locator(source: str, sheet: _Sheet, row: int) -> Callable[[str], Location]:
    """Where a column of one row is: by the header the user wrote, or the column's label."""
    return lambda column: Location(
        source,
        sheet.name,
        row,
        sheet.columns.get(column) or t(f"catalogue.{sheet.prefix}.{column}"),
    )


def _required(
    cells: Mapping[str, str], columns: Sequence[str], where: Callable[[str], Location],
    problems: list[Problem],
) -> bool:  # fmt: skip
    empty = [c for c in columns if not cells.get(c)]
    problems.extend(Problem("catalogue.excel.empty_cell", {}, where(c)) for c in empty)
    return not empty


def _unknown_word(kind: str, text: str, where: Location) -> Problem:
    prefix, values = VOCABULARIES[kind]
    codes = [v.value if isinstance(v, StrEnum) else v for v in values]
    allowed = ", ".join(f"{t(f'catalogue.{prefix}.{c}', 'zh-CN')} ({c})" for c in codes)
    return Problem("catalogue.excel.unknown_word", {"value": text, "allowed": allowed}, where)
