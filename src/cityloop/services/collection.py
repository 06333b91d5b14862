"""Data collection use-cases: rounds, what a user owes and how complete it is, saving a form or
an uploaded file all or nothing, the officer's template, and reminders (催报).

The web pages, the JSON API and the CLI all call these; every check on who may write what
happens here (and in ``cityloop.collection``), not in the adapters.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cityloop.accounts import AccessDenied, Action, Principal, Role, authorise, can
from cityloop.accounts.scope import can_see, visible_units
from cityloop.collection import (
    CHINA_TIME,
    Completeness,
    Deadline,
    checked_table,
    collected_units,
    completeness,
    deadline_day,
    deadline_moment,
    deadline_status,
    owed_cells,
)
from cityloop.datahub.indicator_table import DATA_SHEET, VALUE_COLUMNS, YEAR_MAX, YEAR_MIN
from cityloop.datahub.tables import read_table
from cityloop.datahub.template import write_collection_template
from cityloop.datahub.units import Units
from cityloop.errors import DataValidationError, InputError, Location, Problem
from cityloop.frameworks import Framework, departments
from cityloop.i18n import current_language, pick
from cityloop.store import Database, Origin, OriginKind, WriteCounts
from cityloop.store.collection import ReminderRow, RoundRow

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_MESSAGE = 500
FORM = "<form>"
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Scope:
    """What a user's collection covers: the round, its framework, the units and department."""

    round: RoundRow
    framework: Framework
    units: Units
    collected: list[str]  # the units of the round the user sees (cities), by code
    department: str | None  # a data officer's department; None: every department
    deadline: Deadline


@dataclass(frozen=True)
class CellInput:
    """One cell as a form or a JSON request sends it: text, checked like a file's cells."""

    unit: str
    indicator: str
    value: str
    source: str = ""
    note: str = ""


def require(principal: Principal, action: Action) -> None:
    """Refuse a role without ``action`` (cell by cell checks come later, in
    ``checked_table``)."""
    if not can(principal.role, action):
        raise AccessDenied("accounts.denied.action", action=action, role=principal.role)


def open_round(
    db: Database,
    principal: Principal,
    framework_id: str,
    year: int,
    deadline: date,
    *,
    note: str = "",
) -> RoundRow:
    """Open a collection round: ``framework_id``'s values of ``year``, due by ``deadline``
    (administrators: ``manage_frameworks``)."""
    require(principal, Action.MANAGE_FRAMEWORKS)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InputError("collect.bad_year", year=year, low=YEAR_MIN, high=YEAR_MAX)
    return db.open_round(
        framework_id, year, deadline_moment(deadline), note=note.strip(), actor=principal.username
    )


def choose_round(db: Database, round_id: int | None) -> RoundRow | None:
    """The round asked for, or the newest one (None when no round is open at all)."""
    if round_id is None:
        rounds = db.rounds()
        return rounds[0] if rounds else None
    found = db.round(round_id)
    if found is None:
        raise InputError("collect.unknown_round", round=round_id)
    return found


def scope_of(db: Database, principal: Principal, round_: RoundRow, now: datetime) -> Scope:
    """The part of ``round_`` that ``principal`` sees: their units; their department if a
    data officer."""
    require(principal, Action.VIEW_VALUES)
    units = db.units()
    if units is None:
        raise InputError("collect.no_regions")
    department = principal.department if principal.role == Role.DATA_OFFICER else None
    return Scope(
        round=round_,
        framework=db.framework(round_.framework_id),
        units=units,
        collected=collected_units(units, visible_units(units, principal.scope)),
        department=department,
        deadline=deadline_status(deadline_day(round_.deadline), now),
    )


def progress(db: Database, scope: Scope) -> Completeness:
    """Completeness of the cells ``scope`` owes, from the values stored for the round's year."""
    owed = owed_cells(scope.framework, scope.collected, scope.department)
    stored = db.round_cells(scope.round.framework_id, scope.round.year, scope.collected)
    return completeness(owed, stored)


def owed_table(db: Database, scope: Scope) -> pd.DataFrame:
    """The owed cells with names, unit of measure and the stored value, source, note and who
    entered it when (empty where missing); one row per owed cell, in owed order."""
    owed = owed_cells(scope.framework, scope.collected, scope.department)
    stored = db.round_cells(scope.round.framework_id, scope.round.year, scope.collected)
    table = owed.merge(stored, on=["unit", "indicator"], how="left")
    indicators = {i.code: i for i in scope.framework.indicators}
    table["unit_name"] = table["unit"].map(unit_names(scope.units))
    table["name"] = table["indicator"].map(lambda c: pick(indicators[c].name.as_dict()))
    table["measure"] = table["indicator"].map(lambda c: indicators[c].unit)
    table["shown"] = table["value"].map(shown_number)
    entered = pd.to_datetime(table["entered_at"], utc=True).dt.tz_convert(CHINA_TIME)
    table["entered_at"] = entered.dt.strftime(TIME_FORMAT).fillna("")
    for text in ("source", "note", "entered_by"):
        table[text] = table[text].fillna("").astype(str)
    return table.drop(columns=["origin_kind"])


def shown_time(moment: datetime) -> str:
    """A stored moment as the offices read it: China Standard Time, to the minute."""
    return moment.astimezone(CHINA_TIME).strftime(TIME_FORMAT)


def unit_names(units: Units) -> pd.Series:
    """Each unit's name in the current language (Chinese where it has no English one)."""
    names = units.table["name_zh"].astype(str)
    if current_language() == "en":
        english = units.table["name_en"].fillna("").astype(str)
        names = english.where(english != "", names)
    return names


@dataclass(frozen=True)
class Share:
    """Completeness of one department or unit: cells owed, present, missing, share."""

    code: str
    name: str
    owed: int
    present: int
    missing: int
    share: float
    last_reminder: ReminderRow | None = None


def by_department(
    db: Database, principal: Principal, scope: Scope, progress_: Completeness
) -> list[Share]:
    """Completeness per department, least complete first, with the latest reminder each got
    that concerns the user's regions."""
    latest: dict[str, ReminderRow] = {}
    for sent in reminders_for(db, principal, scope):  # newest first: keep the first seen
        latest.setdefault(sent.department, sent)
    table = progress_.by_department.sort_values(["share", "department"], kind="stable")
    return [
        Share(code, department_name(code), owed, present, missing, share, latest.get(code))
        for code, owed, present, missing, share in table.itertuples(index=False)
    ]


def by_unit(scope: Scope, progress_: Completeness) -> list[Share]:
    """Completeness per unit, in code order."""
    names = unit_names(scope.units)
    return [
        Share(code, str(names.get(code, code)), owed, present, missing, share)
        for code, owed, present, missing, share in progress_.by_unit.itertuples(index=False)
    ]


def shown_number(value: Any) -> str:
    """A stored value as the form shows it: whole numbers without ``.0``; empty when missing."""
    if value is None or pd.isna(value):
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def missing_by_unit(
    progress_: Completeness, department: str | None = None
) -> list[tuple[str, list[str]]]:
    """The missing cells (of one department when given) as (unit, [indicator codes]), in owed
    order."""
    gone = progress_.missing_cells(department)
    grouped = gone.groupby("unit", sort=False)["indicator"].agg(list)
    return [(str(unit), [str(c) for c in codes]) for unit, codes in grouped.items()]


def department_name(code: str) -> str:
    """A department code's name in the current language (the code when unknown)."""
    known = departments()
    return pick(known[code]) if code in known else code


# -- writing values -------------------------------------------------------------------------------


def save_cells(
    db: Database, principal: Principal, scope: Scope, cells: Sequence[CellInput], kind: OriginKind
) -> WriteCounts:
    """Check every cell (the importer's rules, the round's year, the user's department and
    regions) and write them all, or none (``CellsRefusedError`` names each bad cell by its
    position in ``cells``, as row, and its field, as column)."""
    require(principal, Action.ENTER_VALUES)
    frame = pd.DataFrame(
        [
            (c.unit.strip(), scope.round.year, c.indicator.strip(), c.value, c.source, c.note)
            for c in cells
        ],
        columns=list(VALUE_COLUMNS),
        dtype=object,
    )
    table = checked_table(
        frame,
        scope.framework,
        scope.units,
        principal,
        Action.ENTER_VALUES,
        scope.round.year,
        source=FORM,
        first_row=0,
    )
    return db.upsert_values(table, scope.framework, principal.username, Origin(kind, FORM))


def upload_name(filename: str | None) -> str:
    """A browser's file name as safe text: no folders, no control characters, bounded."""
    base = re.split(r"[\\/]", filename or "")[-1]
    clean = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()[:200]
    return clean or "upload"


def save_upload(
    db: Database, principal: Principal, scope: Scope, data: bytes, filename: str | None
) -> WriteCounts:
    """Read an uploaded values file (xlsx, xlsm or csv), check it like a form and write it
    all or nothing. The file name is only ever shown, never used as a path."""
    require(principal, Action.UPLOAD_VALUES)
    name = upload_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError("collect.bad_file_type", file=name, allowed=", ".join(UPLOAD_SUFFIXES))
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("collect.too_large", file=name, limit=MAX_UPLOAD_BYTES // (1024 * 1024))
    with tempfile.TemporaryDirectory(prefix="cityloop-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        frame, sheet = _read_upload(path, name)
    table = checked_table(
        frame,
        scope.framework,
        scope.units,
        principal,
        Action.UPLOAD_VALUES,
        scope.round.year,
        source=name,
        sheet=sheet,
    )
    return db.upsert_values(
        table, scope.framework, principal.username, Origin(OriginKind.FILE, name)
    )


def _read_upload(path: Path, name: str) -> tuple[pd.DataFrame, str | None]:
    """The table of an uploaded file (the template's data sheet when it has one); errors name
    the uploaded file, not the temporary copy."""
    sheet: str | None = None
    try:
        if path.suffix != ".csv":
            with pd.ExcelFile(path, engine="openpyxl") as book:
                names = [str(n) for n in book.sheet_names]
            sheet = DATA_SHEET if DATA_SHEET in names else names[0]
        return read_table(path, sheet=sheet if sheet is not None else 0), sheet
    except DataValidationError as exc:
        raise _renamed(exc, str(path), name) from None
    except Exception as exc:  # not a workbook at all: the reader's own words, file named
        detail = str(exc).splitlines()[0].replace(str(path), name) if str(exc) else ""
        problem = Problem(
            "table.unreadable", {"detail": detail or type(exc).__name__}, Location(file=name)
        )
        raise DataValidationError("table.invalid", [problem], file=name) from None


def _renamed(exc: DataValidationError, temporary: str, name: str) -> DataValidationError:
    def fix(value: Any) -> Any:
        return value.replace(temporary, name) if isinstance(value, str) else value

    problems = [
        replace(
            p,
            params={k: fix(v) for k, v in p.params.items()},
            location=replace(p.location, file=fix(p.location.file)),
        )
        for p in exc.problems
    ]
    params = {k: fix(v) for k, v in exc.params.items()}
    return DataValidationError(exc.key, problems, **params)


# -- the template and reminders --------------------------------------------------------------------


def template_bytes(scope: Scope, lang: str) -> tuple[str, bytes]:
    """The Excel collection template of the user's owed cells: (file name, content)."""
    table = scope.units.table
    chosen = table.index.isin(scope.collected)
    units = Units(
        table[chosen],
        scope.units.memberships[scope.units.memberships["unit"].isin(scope.collected)],
    )
    who = scope.department or "all"
    name = f"{scope.round.framework_id}-{scope.round.year}-{who}.xlsx"
    with tempfile.TemporaryDirectory(prefix="cityloop-template-") as folder:
        path = Path(folder) / "collection.xlsx"
        write_collection_template(
            path,
            scope.framework,
            units=units,
            department=scope.department,
            years=[scope.round.year],
            lang=lang,
        )
        return name, path.read_bytes()


def send_reminder(
    db: Database,
    principal: Principal,
    round_id: int,
    department: str,
    *,
    unit: str | None = None,
    message: str = "",
) -> ReminderRow:
    """Chase ``department`` for the round's missing values, in ``unit`` (default: the sender's
    own region; all regions for a user without one)."""
    require(principal, Action.CHASE_DATA)
    round_ = choose_round(db, round_id)
    assert round_ is not None  # choose_round raises for an unknown id
    units = db.units()
    target = unit or principal.scope
    if target is not None and units is not None:
        authorise(principal, Action.CHASE_DATA, unit=target, units=units)
    owing = {i.department for i in db.framework(round_.framework_id).indicators}
    if department not in owing:
        raise InputError("collect.unknown_department", department=department)
    if len(message) > MAX_MESSAGE:
        raise InputError("collect.message_too_long", limit=MAX_MESSAGE)
    return db.add_reminder(
        round_.id, department, target, message=message.strip(), actor=principal.username
    )


def reminders_for(
    db: Database, principal: Principal, scope: Scope, limit: int | None = None
) -> list[ReminderRow]:
    """The round's reminders that concern the user: to their department (a data officer),
    about a region that holds theirs or lies within it; newest first."""
    sent = db.reminders(scope.round.id, scope.department)
    concern = [
        r
        for r in sent
        if r.unit is None
        or principal.scope is None
        or can_see(scope.units, principal.scope, r.unit)
        or can_see(scope.units, r.unit, principal.scope)
    ]
    return concern[:limit] if limit is not None else concern
