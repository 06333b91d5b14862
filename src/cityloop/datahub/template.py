"""The Excel collection template a department fills in: one row per unit, year and indicator.

The book reads back with ``read_values``; Excel's own data validation stops most bad cells early.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from cityloop.datahub.indicator_table import DATA_SHEET, YEAR_MAX, YEAR_MIN
from cityloop.datahub.units import Units
from cityloop.errors import InputError
from cityloop.frameworks.loader import departments
from cityloop.frameworks.schema import Indicator, ValueType
from cityloop.frameworks.tree import Framework
from cityloop.i18n import normalise_language, pick, t

GUIDE_SHEET = "填报说明"
INDICATOR_SHEET = "指标说明"
# Columns of the data sheet; the catalogue gives their headers (``template.col.<name>``),
# which read_values maps back through its header aliases.
DATA_COLUMNS = (
    ("unit", 14),
    ("unit_name", 18),
    ("year", 8),
    ("indicator", 14),
    ("indicator_name", 36),
    ("measure", 12),
    ("value", 14),
    ("source", 22),
    ("note", 28),
)
INDICATOR_COLUMNS = (
    ("code", 14),
    ("name", 36),
    ("measure", 12),
    ("requirement", 30),
    ("direction", 14),
    ("definition", 60),
)
# Excel data validation of the value cells by value type: (type, operator, formula1, formula2).
VALIDATION: dict[ValueType, tuple[str, str | None, str, str | None]] = {
    ValueType.PERCENTAGE: ("decimal", "between", "0", "100"),
    ValueType.SHARE: ("decimal", "between", "0", "1"),
    ValueType.COUNT: ("whole", "greaterThanOrEqual", "0", None),
    ValueType.AMOUNT: ("decimal", "greaterThanOrEqual", "0", None),
    ValueType.RATE: ("decimal", "greaterThanOrEqual", "0", None),
    ValueType.INDEX: ("decimal", "between", "-1E+300", "1E+300"),  # any number, no text
    ValueType.SCORE: ("decimal", "between", "-1E+300", "1E+300"),
    ValueType.BOOLEAN: ("list", None, '"0,1"', None),
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
PREFILLED_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="BFBFBF")


def write_collection_template(
    path: Path,
    framework: Framework,
    *,
    units: Units | None,
    department: str | None,
    years: Sequence[int],
    lang: str = "zh-CN",
) -> None:
    """Write the collection book for ``department`` (code or Chinese name; None: all).

    Rows go to the units of level city (all units when none is a city; one blank unit
    cell per year and indicator without a units table). Sheet names stay Chinese in every
    language because ``read_values`` finds the data by them.
    """
    lang = normalise_language(lang)
    indicators = indicators_of(framework, department, lang)
    _check_years(years)
    unit_rows = _unit_rows(units, lang)
    book = Workbook()
    guide = book.active
    guide.title = GUIDE_SHEET
    _write_guide(guide, framework, department, years, lang)
    _write_data(book.create_sheet(DATA_SHEET), indicators, unit_rows, years, lang)
    _write_indicators(book.create_sheet(INDICATOR_SHEET), indicators, lang)
    book.save(path)


def indicators_of(
    framework: Framework, department: str | None, lang: str | None = None
) -> list[Indicator]:
    """The framework's indicators of ``department`` (its code, or its Chinese or English name)."""
    code = resolve_department(department, lang)
    if code is None:
        return list(framework.indicators)
    chosen = [i for i in framework.indicators if i.department == code]
    if not chosen:
        known = departments()
        having = sorted({i.department for i in framework.indicators})
        raise InputError(
            "template.department_without_indicators",
            department=department,
            framework=framework.id,
            having="; ".join(f"{c}（{pick(known[c], lang)}）" if c in known else c for c in having),
        )
    return chosen


def resolve_department(department: str | None, lang: str | None = None) -> str | None:
    """The department code named by its code or its Chinese or English name (None: all)."""
    if department is None:
        return None
    known = departments()
    wanted = department.strip()
    for code, names in known.items():
        if wanted and wanted in (code, names["zh"], names["en"]):
            return code
    listing = "; ".join(f"{c}（{pick(names, lang)}）" for c, names in known.items())
    raise InputError("template.unknown_department", department=department, known=listing)


def _check_years(years: Sequence[int]) -> None:
    if not years:
        raise InputError("template.no_years")
    bad = [y for y in years if not YEAR_MIN <= y <= YEAR_MAX]
    if bad:
        raise InputError(
            "template.bad_year", years=", ".join(map(str, bad)), low=YEAR_MIN, high=YEAR_MAX
        )


def _unit_rows(units: Units | None, lang: str) -> list[tuple[str, str]]:
    """(code, name) of the units to pre-fill; one blank unit when no table was given."""
    if units is None:
        return [("", "")]
    table = units.table.fillna("")
    return [
        (
            code,
            pick(
                {"zh": str(table.at[code, "name_zh"]), "en": str(table.at[code, "name_en"])}, lang
            ),
        )
        for code in units.of_level("city") or units.codes
    ]


def _write_guide(
    ws: Worksheet, framework: Framework, department: str | None, years: Sequence[int], lang: str
) -> None:
    title = pick(framework.spec.title.as_dict(), lang)
    lines = [
        t("template.guide.title", lang, framework=title, version=framework.version),
        t("template.guide.department", lang, department=_department_label(department, lang)),
        t("template.guide.years", lang, years=", ".join(map(str, years))),
        "",
        *(t(f"template.guide.step{k}", lang) for k in range(1, 7)),
    ]
    ws.column_dimensions["A"].width = 110
    for row, text in enumerate(lines, start=1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws["A1"].font = Font(bold=True, size=14)


def _department_label(department: str | None, lang: str) -> str:
    code = resolve_department(department, lang)
    return (
        t("template.all", lang) if code is None else f"{pick(departments()[code], lang)}（{code}）"
    )


def _write_data(
    ws: Worksheet,
    indicators: list[Indicator],
    unit_rows: list[tuple[str, str]],
    years: Sequence[int],
    lang: str,
) -> None:
    _header(ws, [t(f"template.col.{name}", lang) for name, _ in DATA_COLUMNS], DATA_COLUMNS)
    value_col = get_column_letter(1 + [n for n, _ in DATA_COLUMNS].index("value"))
    year_col = get_column_letter(1 + [n for n, _ in DATA_COLUMNS].index("year"))
    labels = [pick(ind.name.as_dict(), lang) for ind in indicators]
    kinds: list[ValueType] = []
    for code, name in unit_rows:
        for year in years:
            for ind, label in zip(indicators, labels, strict=True):
                ws.append([code, name, year, ind.code, label, ind.unit, None, None, None])
                kinds.append(ind.value_type)
    last = len(kinds) + 1
    for row in ws.iter_rows(min_row=2, max_row=last, max_col=6):
        row[0].number_format = "@"  # unit codes are text: 0101 keeps its leading zero
        for cell in row:
            if cell.value not in (None, ""):
                cell.fill = PREFILLED_FILL  # grey: filled in by CityLoop, leave as is
    year_rule = DataValidation(
        type="whole", operator="between", formula1=str(YEAR_MIN), formula2=str(YEAR_MAX)
    )
    _explain(year_rule, t("template.dv.year", lang, low=YEAR_MIN, high=YEAR_MAX), lang)
    year_rule.add(f"{year_col}2:{year_col}{last}")
    ws.add_data_validation(year_rule)
    for kind, runs in _runs(kinds).items():
        dv_type, operator, low, high = VALIDATION[kind]
        rule = DataValidation(type=dv_type, operator=operator, formula1=low, formula2=high)
        _explain(rule, t(f"template.dv.{kind.value}", lang), lang)
        for first, end in runs:
            rule.add(f"{value_col}{first + 2}:{value_col}{end + 1}")
        ws.add_data_validation(rule)


def _write_indicators(ws: Worksheet, indicators: list[Indicator], lang: str) -> None:
    _header(
        ws, [t(f"template.ind.{name}", lang) for name, _ in INDICATOR_COLUMNS], INDICATOR_COLUMNS
    )
    for ind in indicators:
        definition = pick(ind.definition.as_dict(), lang) if ind.definition else ""
        direction = t(f"template.direction.{ind.direction.value}", lang)
        if ind.band is not None:
            direction = f"{direction} [{ind.band[0]:g}, {ind.band[1]:g}]"
        name = pick(ind.name.as_dict(), lang)
        requirement = t(f"template.dv.{ind.value_type.value}", lang)
        ws.append([ind.code, name, ind.unit, requirement, direction, definition])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _header(ws: Worksheet, labels: list[str], columns: Sequence[tuple[str, int]]) -> None:
    ws.append(labels)
    for k, (cell, (_, width)) in enumerate(zip(ws[1], columns, strict=True), start=1):
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(k)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(labels))}1"


def _explain(rule: DataValidation, requirement: str, lang: str) -> None:
    """Show the requirement when the cell is selected and refuse other input with it."""
    rule.allow_blank = True  # an empty value cell means "no data", not an error
    rule.showErrorMessage = True
    rule.showInputMessage = True
    rule.errorStyle = "stop"
    rule.errorTitle = t("template.dv.error_title", lang)
    rule.error = requirement
    rule.promptTitle = t("template.dv.prompt_title", lang)
    rule.prompt = requirement


def _runs(kinds: list[ValueType]) -> dict[ValueType, list[tuple[int, int]]]:
    """For each value type, the [first, end) index ranges of consecutive rows of that type."""
    spans: dict[ValueType, list[tuple[int, int]]] = {}
    start = 0
    for kind, group in groupby(kinds):
        size = sum(1 for _ in group)
        spans.setdefault(kind, []).append((start, start + size))
        start += size
    return spans
