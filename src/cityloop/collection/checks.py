"""Submitted cells checked for who may write them and for the round's year, before any write.

A file or a form is refused whole when any cell breaks a rule or is not the user's to write;
every refused cell becomes a Problem located by row and column, like the validator's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cityloop.accounts.roles import Action
from cityloop.accounts.scope import AccessDenied, Principal, authorise
from cityloop.datahub.cells import coded_text, lookup, map_headers, parse_numbers, parse_years
from cityloop.datahub.indicator_table import (
    MAX_PROBLEMS,
    REQUIRED_VALUE_COLUMNS,
    VALUE_HEADER_ALIASES,
    IndicatorTable,
    validate_values,
)
from cityloop.datahub.units import Units
from cityloop.errors import DataValidationError, Location, Problem
from cityloop.frameworks.tree import Framework

# What an AccessDenied on a cell becomes: the catalogue key and the column it points at.
DENIALS = {
    "accounts.denied.region": ("collect.denied_region", "unit"),
    "accounts.denied.department": ("collect.denied_department", "indicator"),
    "accounts.denied.officer_unassigned": ("collect.denied_unassigned", "unit"),
    "accounts.denied.action": ("collect.denied_action", "value"),
}


class CellsRefusedError(DataValidationError):
    """Submitted cells refused, nothing written; ``denied`` when some cell was not the user's
    to write (the answer is then 403 rather than 422)."""

    def __init__(self, problems: list[Problem], *, file: str, denied: bool) -> None:
        super().__init__("collect.refused", problems, file=file)
        self.denied = denied


def checked_table(
    frame: pd.DataFrame,
    framework: Framework,
    units: Units,
    principal: Principal,
    action: Action,
    year: int,
    *,
    source: str,
    sheet: str | None = None,
    first_row: int = 2,
) -> IndicatorTable:
    """The validated table of ``frame``, if every cell is valid and the user's to write.

    Runs the importer's rules (``validate_values``) and ``refused_rows``, and reports the
    problems of both together, in row order.

    Raises
    ------
    CellsRefusedError
        Listing every problem; nothing is written by anyone on this path.
    """
    where: dict[str, Any] = {"source": source, "sheet": sheet, "first_row": first_row}
    refused = refused_rows(frame, framework, units, principal, action, year, **where)
    try:
        table = validate_values(frame, framework, units, **where)
        invalid: list[Problem] = []
    except DataValidationError as exc:
        invalid = exc.problems
    if refused or invalid:
        problems = sorted([*invalid, *refused], key=lambda p: p.location.row or 0)
        raise CellsRefusedError(problems[:MAX_PROBLEMS], file=source, denied=bool(refused))
    return table


def refused_rows(
    frame: pd.DataFrame,
    framework: Framework,
    units: Units,
    principal: Principal,
    action: Action,
    year: int,
    *,
    source: str,
    sheet: str | None = None,
    first_row: int = 2,
) -> list[Problem]:
    """A Problem for each row with a value that is for another year than the round's, or that
    ``principal`` may not write (``authorise`` on its unit and its indicator's department).

    Rows the validator refuses anyway (no headers, unknown unit or indicator, empty value)
    are left to it, so no fault is reported twice. ``authorise`` runs once per distinct
    (unit, department) pair, not once per row.
    """
    header, missing = map_headers(
        frame, VALUE_HEADER_ALIASES, REQUIRED_VALUE_COLUMNS, Location(source, sheet)
    )
    if missing or frame.empty:
        return []

    def column(name: str) -> pd.Series:
        return frame.iloc[:, header[name][1]]

    unit, indicator = coded_text(column("unit")), coded_text(column("indicator"))
    years, _ = parse_years(column("year"))
    _, empty, _ = parse_numbers(column("value"))
    department_of = {i.code: i.department for i in framework.indicators}
    rows = pd.DataFrame(
        {
            "row": np.arange(len(frame)),
            "unit": lookup(unit.values, unit.codes, None),
            "indicator": lookup(indicator.values, indicator.codes, None),
            "year": years,
        }
    )
    rows["department"] = rows["indicator"].map(department_of)
    rows = rows[~empty & rows["unit"].isin(units.codes) & rows["department"].notna()]

    def at(row: int, name: str) -> Location:
        return Location(source, sheet, row + first_row, header[name][0])

    other_year = rows[(rows["year"] >= 0) & (rows["year"] != year)]
    problems = [
        Problem("collect.wrong_year", {"value": found, "year": year}, at(row, "year"))
        for row, found in zip(other_year["row"].tolist(), other_year["year"].tolist(), strict=True)
    ]
    pairs = rows[["unit", "department"]].drop_duplicates()
    denials = pd.DataFrame(
        [(u, d, _denial(principal, action, u, d, units)) for u, d in pairs.itertuples(index=False)],
        columns=["unit", "department", "denial"],
    )
    refused = rows.merge(denials[denials["denial"].notna()], on=["unit", "department"])
    for cell in refused.sort_values("row").head(MAX_PROBLEMS).to_dict("records"):
        key, name = DENIALS[str(cell["denial"])]
        params: dict[str, Any] = {
            "unit": cell["unit"],
            "indicator": cell["indicator"],
            "department": cell["department"],
            "own": principal.department or "—",
        }
        problems.append(Problem(key, params, at(int(cell["row"]), name)))
    return problems


def _denial(
    principal: Principal, action: Action, unit: str, department: str, units: Units
) -> str | None:
    """The key of the check that refuses this cell, or None when it is allowed."""
    try:
        authorise(principal, action, unit=unit, indicator_department=department, units=units)
    except AccessDenied as denied:
        return denied.key
    return None
