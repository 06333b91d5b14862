"""The data collection JSON API: rounds, completeness, owed cells, writing values (JSON or a
file) all or nothing, and reminders — the same checks as the pages.

POSTs need the session cookie and the session's CSRF token in the ``X-CSRF-Token`` header
(``csrf_token`` of ``GET /api/me``); the app checks it for every API write.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal
from cityloop.collection import CellsRefusedError, deadline_day
from cityloop.errors import InputError, Problem
from cityloop.i18n import t
from cityloop.services import collection as service
from cityloop.store import Database, OriginKind, WriteCounts
from cityloop.web.guard import allowed

router = APIRouter(prefix="/api/collection", tags=["collection"])
MAX_CELLS = 20_000


class RoundOut(BaseModel):
    id: int
    framework_id: str
    year: int
    deadline: str  # the deadline day, YYYY-MM-DD (China Standard Time)
    note: str
    opened_by: str
    opened_at: datetime


class RoundIn(BaseModel):
    framework_id: str = Field(max_length=64)
    year: int
    deadline: date
    note: str = Field(default="", max_length=2000)


class ShareOut(BaseModel):
    code: str
    name: str
    owed: int
    present: int
    missing: int
    share: float
    last_reminder_at: datetime | None = None


class StatusOut(BaseModel):
    round: RoundOut
    days_left: int
    overdue: bool
    owed: int
    present: int
    share: float
    departments: list[ShareOut]
    units: list[ShareOut]


class OwedCellOut(BaseModel):
    unit: str
    unit_name: str
    indicator: str
    name: str
    department: str
    measure: str
    value: float | None
    source: str
    note: str
    entered_by: str
    entered_at: str


class CellIn(BaseModel):
    unit: str = Field(max_length=64)
    indicator: str = Field(max_length=64)
    value: str | float = Field(union_mode="left_to_right")
    source: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


class ValuesIn(BaseModel):
    round: int
    cells: list[CellIn] = Field(max_length=MAX_CELLS)


class CountsOut(BaseModel):
    inserted: int
    updated: int
    unchanged: int


class ReminderIn(BaseModel):
    round: int
    department: str = Field(max_length=64)
    unit: str | None = Field(default=None, max_length=64)
    message: str = Field(default="", max_length=service.MAX_MESSAGE)


class ReminderOut(BaseModel):
    id: int
    round_id: int
    department: str
    unit: str | None
    message: str
    sent_by: str
    sent_at: datetime


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _round_out(row: Any) -> RoundOut:
    day = deadline_day(row.deadline)
    return RoundOut(**{**row.__dict__, "deadline": day.isoformat()})


def _scope(request: Request, principal: Principal, round_id: int | None) -> service.Scope:
    round_ = service.choose_round(_db(request), round_id)
    if round_ is None:
        raise InputError("collect.no_round")
    return service.scope_of(_db(request), principal, round_, datetime.now(UTC))


@router.get("/rounds", response_model=list[RoundOut])
def rounds(
    request: Request,
    principal: Annotated[Principal, allowed(Action.VIEW_VALUES)],
) -> list[RoundOut]:
    return [_round_out(r) for r in _db(request).rounds()]


@router.post("/rounds", response_model=RoundOut)
def open_round(
    request: Request,
    body: RoundIn,
    principal: Annotated[Principal, allowed(Action.MANAGE_FRAMEWORKS)],
) -> RoundOut:
    opened = service.open_round(
        _db(request), principal, body.framework_id, body.year, body.deadline, note=body.note
    )
    return _round_out(opened)


@router.get("/status", response_model=StatusOut)
def status(
    request: Request,
    principal: Annotated[Principal, allowed(Action.VIEW_VALUES)],
    round: int | None = None,
) -> StatusOut:
    scope = _scope(request, principal, round)
    progress = service.progress(_db(request), scope)
    departments = service.by_department(_db(request), principal, scope, progress)
    return StatusOut(
        round=_round_out(scope.round),
        days_left=scope.deadline.days_left,
        overdue=progress.overdue(scope.deadline),
        owed=progress.owed,
        present=progress.present,
        share=progress.share,
        departments=[_share(d) for d in departments],
        units=[_share(u) for u in service.by_unit(scope, progress)],
    )


def _share(share: service.Share) -> ShareOut:
    sent = share.last_reminder.sent_at if share.last_reminder else None
    return ShareOut(
        code=share.code,
        name=share.name,
        owed=share.owed,
        present=share.present,
        missing=share.missing,
        share=share.share,
        last_reminder_at=sent,
    )


@router.get("/owed", response_model=list[OwedCellOut])
def owed(
    request: Request,
    principal: Annotated[Principal, allowed(Action.VIEW_VALUES)],
    round: int | None = None,
) -> list[OwedCellOut]:
    table = service.owed_table(_db(request), _scope(request, principal, round))
    # A missing value is NaN here; pydantic writes NaN as JSON null.
    records = table[list(OwedCellOut.model_fields)].to_dict("records")
    return [OwedCellOut.model_validate(row) for row in records]


def _refusal(refused: InputError) -> JSONResponse:
    """422 (or 403 when a cell was not the user's to write) with every located problem."""
    status = 403 if isinstance(refused, CellsRefusedError) and refused.denied else 422
    return JSONResponse(
        {"detail": refused.render().partition("\n")[0], "problems": _problems(refused.problems)},
        status_code=status,
    )


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "key": p.key,
            "row": p.location.row,
            "sheet": p.location.sheet,
            "column": p.location.column,
            "message": t(p.key, **p.params),
        }
        for p in problems
    ]


@router.post("/values", response_model=CountsOut, responses={403: {}, 422: {}})
def post_values(
    request: Request,
    body: ValuesIn,
    principal: Annotated[Principal, allowed(Action.ENTER_VALUES)],
) -> CountsOut | JSONResponse:
    """Write cells all or nothing; a problem's ``row`` is the cell's position in ``cells``
    (from 0) and its ``column`` the field."""
    scope = _scope(request, principal, body.round)
    cells = [
        service.CellInput(c.unit, c.indicator, str(c.value), c.source, c.note) for c in body.cells
    ]
    try:
        counts = service.save_cells(_db(request), principal, scope, cells, OriginKind.API)
    except InputError as refused:
        return _refusal(refused)
    return _counts(counts)


def _counts(counts: WriteCounts) -> CountsOut:
    return CountsOut(inserted=counts.inserted, updated=counts.updated, unchanged=counts.unchanged)


@router.post("/upload", response_model=CountsOut, responses={403: {}, 422: {}})
def post_upload(
    request: Request,
    principal: Annotated[Principal, allowed(Action.UPLOAD_VALUES)],
    file: Annotated[UploadFile, File()],
    round: Annotated[int, Form()],
) -> CountsOut | JSONResponse:
    scope = _scope(request, principal, round)
    try:
        data = file.file.read(service.MAX_UPLOAD_BYTES + 1)
        counts = service.save_upload(_db(request), principal, scope, data, file.filename)
    except InputError as refused:
        return _refusal(refused)
    return _counts(counts)


@router.post("/reminders", response_model=ReminderOut)
def post_reminder(
    request: Request,
    body: ReminderIn,
    principal: Annotated[Principal, allowed(Action.CHASE_DATA)],
) -> ReminderOut:
    sent = service.send_reminder(
        _db(request), principal, body.round, body.department, unit=body.unit, message=body.message
    )
    return ReminderOut(**sent.__dict__)
