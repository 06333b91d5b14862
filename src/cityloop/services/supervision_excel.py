"""Progress by Excel: the prefilled template of a unit's tracked projects (only those the user
may report on) and its upload, applied all or nothing, unchanged projects skipped.

One progress report per project per upload; every refused row is named by sheet and row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cityloop.accounts import AccessDenied, Action, Principal, authorise
from cityloop.errors import InputError, Location, Problem
from cityloop.services.supervision import ProgressUpdate, may_update, progress_update
from cityloop.store import Database
from cityloop.store.tracking import Payment, ProgressChange, StoredProject
from cityloop.supervision import GateKind, Risk, RiskLevel
from cityloop.supervision.progress_sheet import (
    SheetProject,
    SheetRow,
    read_progress_workbook,
    write_progress_workbook,
)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # as the project catalogue's workbook import
SAME = 1e-9  # two percentages or amounts this close are the same


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: the projects that got a report and those left unchanged."""

    applied: list[str]
    unchanged: list[str]


def _checked_unit(db: Database, unit: str, actor: Principal) -> None:
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("store.unknown_region", value=unit)
    authorise(actor, Action.MANAGE_PROJECTS, unit=unit, units=units)


def _sheet_project(db: Database, p: StoredProject) -> SheetProject:
    payments = tuple(
        (e.day, e.amount, e.note) for e in db.tracking.payments(p.unit, p.record.code)
        if e.corrects is None
    )  # fmt: skip
    return SheetProject(p.record.code, p.status.value, p.record, p.milestone_positions, payments)


def progress_template(
    db: Database, unit: str, *, actor: Principal, lang: str = "zh-CN", today: date
) -> bytes:
    """The progress workbook of ``unit`` prefilled with the projects ``actor`` may report on
    (a project manager: their own), headers in ``lang``, report dates set to ``today``.

    Raises
    ------
    AccessDenied
        The role may not manage projects, or the unit is outside the user's region.
    """
    _checked_unit(db, unit, actor)
    projects = [p for p in db.tracking.projects(unit) if may_update(actor, p)]
    return write_progress_workbook(
        [_sheet_project(db, p) for p in projects], lang=lang, today=today
    )


def _row_problem(row: SheetRow, column: str, key: str, **params: Any) -> Problem:
    return Problem(key, {"code": row.code, **params},
                   Location(sheet=row.title, row=row.row, column=column))  # fmt: skip


def _update(p: StoredProject, rows: Sequence[SheetRow], payments: Sequence[Any]) -> dict[str, Any]:
    """The report ``rows`` make on ``p``, without what already stands stored (may be empty)."""
    r = p.record
    update: dict[str, Any] = {"milestones": [], "gates": [], "spend": [], "risks": []}
    stored_milestones = dict(zip(p.milestone_positions, r.milestones, strict=True))
    gates = {g.kind: g for g in r.gates}
    paid = Counter((e.day, round(e.amount, 6), e.note) for e in payments if e.corrects is None)
    risks: Counter[tuple[Any, RiskLevel | None]] = Counter((x.text, x.level) for x in r.risks)
    for row in rows:
        c = row.cells
        if row.sheet == "progress":
            update["report_date"] = c.get("report_date")
            if c.get("percent_complete") is not None and abs(
                c["percent_complete"] - r.percent_complete) > SAME:  # fmt: skip
                update["percent_complete"] = c["percent_complete"]
            if c.get("status") is not None and c["status"] != p.status.value:
                update["status"] = c["status"]
            if c.get("note"):
                update["note"] = c["note"]
        elif row.sheet == "milestones":
            position = int(c["position"]) if c.get("position") is not None else 0
            m = stored_milestones.get(position)
            percent, completed = c.get("percent_complete"), c.get("completed_date")
            if m is None or (percent is not None and abs(percent - m.percent_complete) > SAME) \
                    or completed != m.completed_date:  # fmt: skip
                update["milestones"].append({"position": position, "percent_complete": percent,
                                             "completed_date": completed})  # fmt: skip
        elif row.sheet == "gates":
            g = gates.get(GateKind(c["gate"])) if c.get("gate") else None
            passed, skipped = c.get("passed_date"), bool(c.get("skipped"))
            if g is None or (g.passed_date, g.skipped) != (passed, skipped):
                update["gates"].append({"kind": c.get("gate"), "passed_date": passed,
                                        "skipped": skipped})  # fmt: skip
        elif row.sheet == "payments":
            key = (c.get("day"), round(c.get("amount") or 0.0, 6), c.get("note") or "")
            if paid[key] > 0:
                paid[key] -= 1  # the same payment as one stored: not entered twice
            else:
                update["spend"].append({"day": c.get("day"), "amount": c.get("amount"),
                                        "note": c.get("note") or ""})  # fmt: skip
        else:
            level = RiskLevel(c["level"]) if c.get("level") else None
            if risks[(c.get("text"), level)] > 0:
                risks[(c.get("text"), level)] -= 1
            else:
                update["risks"].append({"text": c.get("text"), "level": c.get("level")})
    return update


def _changes(update: dict[str, Any]) -> bool:
    return any(update.get(k) for k in ("milestones", "gates", "spend", "risks", "note")) or any(
        k in update for k in ("percent_complete", "status")
    )


def _change(checked: ProgressUpdate) -> ProgressChange:
    return ProgressChange(
        report_date=checked.report_date, percent_complete=checked.percent_complete,
        milestones={m.position: (m.percent_complete, m.completed_date)
                    for m in checked.milestones},
        gates={g.kind: (g.passed_date, g.skipped) for g in checked.gates},
        payments=[Payment(s.day, s.amount, s.note) for s in checked.spend],
        risks=[Risk(x.text, x.level) for x in checked.risks],
        status=checked.status, note=checked.note,
    )  # fmt: skip


def upload_progress(
    db: Database, unit: str, data: bytes, filename: str, *, actor: Principal
) -> UploadResult:
    """Apply a filled progress workbook to ``unit``'s projects, all or nothing.

    Rows are grouped by project into one report each (dated by the progress sheet's report
    date); a project whose rows equal what is stored is left unchanged (a payment or risk
    equal to a stored one is not entered again). Every report is checked, then all are
    recorded in one transaction.

    Raises
    ------
    AccessDenied
        The role may not manage projects, the unit is outside the user's region, or a project
        manager's workbook has rows for a project that is not theirs (the first row named).
    InputError
        The file is too large or no xlsx workbook, a cell cannot be read, a project is
        unknown, a report is invalid (each fault named by sheet, row and column); nothing is
        written.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("supervision.upload.too_large", file=filename, limit=MAX_UPLOAD_BYTES)
    _checked_unit(db, unit, actor)
    rows = read_progress_workbook(data, filename)
    projects = {p.record.code: p for p in db.tracking.projects(unit)}
    by_code: dict[str, list[SheetRow]] = defaultdict(list)
    found: list[Problem] = []
    for row in rows:
        if row.code not in projects:
            found.append(_row_problem(row, "code", "supervision.upload.unknown_project", unit=unit))
        else:
            by_code[row.code].append(row)
    denied = [rs[0] for code, rs in by_code.items() if not may_update(actor, projects[code])]
    if denied:
        first = denied[0]
        raise AccessDenied(
            "supervision.upload.denied_row", action=Action.MANAGE_PROJECTS, role=actor.role,
            code=first.code, sheet=first.title, row=first.row,
            department=projects[first.code].owner_department or "—", own=actor.department or "—",
        )  # fmt: skip
    reports: list[tuple[str, ProgressChange]] = []
    unchanged: list[str] = []
    for code, group in by_code.items():
        update = _update(projects[code], group, db.tracking.payments(unit, code))
        if not _changes(update):
            unchanged.append(code)
            continue
        progress_rows = [r for r in group if r.sheet == "progress"]
        if len(progress_rows) != 1 or update.get("report_date") is None:
            where = progress_rows[-1] if progress_rows else group[0]
            found.append(_row_problem(where, "report_date", "supervision.upload.report_date"))
            continue
        try:
            reports.append((code, _change(progress_update(update))))
        except InputError as exc:
            found += [_row_problem(group[0], p.location.column or "", p.key, **p.params)
                      for p in exc.problems]  # fmt: skip
    if found:
        raise InputError("supervision.sheet.invalid", found, file=filename)
    if reports:
        db.tracking.record_many(unit, reports, actor=actor.username)
    return UploadResult(applied=[code for code, _ in reports], unchanged=sorted(unchanged))


__all__ = ["MAX_UPLOAD_BYTES", "UploadResult", "progress_template", "upload_progress"]
