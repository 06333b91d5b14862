"""The survey JSON API: list and open surveys, close one, read a survey's results (indices,
IPA, needs) and validate a questionnaire draft — the same checks as the pages.

POSTs need the session's CSRF token in the ``X-CSRF-Token`` header (``GET /api/me``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal
from cityloop.accounts.scope import visible_units
from cityloop.errors import InputError, Problem
from cityloop.i18n import t
from cityloop.services import survey_collect, survey_design, survey_results
from cityloop.services.survey_dashboard import survey_dashboard
from cityloop.store import Database
from cityloop.store.surveys import SurveyRow
from cityloop.web.guard import allowed, authorise_unit, units_of

router = APIRouter(prefix="/api", tags=["surveys"])

SurveyViewer = Annotated[Principal, allowed(Action.VIEW_SURVEYS)]
SurveyManager = Annotated[Principal, allowed(Action.MANAGE_SURVEYS)]


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def authorised_survey(
    request: Request, principal: Principal, action: Action, survey_id: int
) -> SurveyRow:
    """The survey, if the user may ``action`` on its city: 404 unknown, 403 outside."""
    row = db_of(request).surveys.get(survey_id)
    if row is None:
        raise HTTPException(status_code=404, detail=t("surveyweb.unknown_survey", survey=survey_id))
    authorise_unit(request, principal, action, row.unit)
    return row


def visible_surveys(request: Request, principal: Principal) -> list[survey_results.SurveySummary]:
    """The stored surveys of the cities the user may see, newest first."""
    seen = visible_units(units_of(request), principal.scope)
    return [s for s in survey_results.list_surveys(db_of(request)) if s.row.unit in seen]


# -- models ----------------------------------------------------------------------------------------


class SurveyOut(BaseModel):
    id: int
    slug: str
    public_path: str
    unit: str
    questionnaire_id: str
    questionnaire_version: str
    year: int
    status: str
    responses: int
    weighted: bool  # population margins are stored
    created_by: str
    created_at: datetime


class SurveyIn(BaseModel):
    unit: str = Field(max_length=64)
    questionnaire_id: str = Field(max_length=100)
    version: str | None = Field(default=None, max_length=64)
    year: int = Field(ge=2000, le=2100)


class EstimateOut(BaseModel):
    kind: str
    key: str
    name: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    n_eff: float | None


class ChangeOut(BaseModel):
    kind: str
    key: str
    name: str
    year: int
    previous_year: int
    change: float | None
    low: float | None
    high: float | None


class IpaOut(BaseModel):
    item: str
    domain: str
    name: str
    satisfaction: float
    importance: float
    importance_source: str
    quadrant: str
    priority: int


class NeedOut(BaseModel):
    subject: str
    domain: str
    level: str
    application: str
    name: str
    share: float
    low: float
    high: float
    respondents: int


class CandidateOut(BaseModel):
    rank: int
    code: str
    name: str
    level: str
    term: str
    demand: float
    subjects: list[str]


class ResultsOut(BaseModel):
    survey: SurveyOut
    responses: int
    today: int
    by_source: dict[str, int]
    weighted: bool
    weighting_note: str
    design_effect: float | None
    n_eff: float | None
    experience_score: dict[str, float] | None
    indices: list[EstimateOut]
    districts: list[EstimateOut]
    yoy: list[ChangeOut]
    ipa: list[IpaOut]
    needs: list[NeedOut]
    candidates: list[CandidateOut]


class DraftIn(BaseModel):
    yaml_text: str = Field(max_length=survey_design.MAX_DRAFT_CHARS)


class ProblemOut(BaseModel):
    line: int | None
    path: str
    message: str


class DraftCheckOut(BaseModel):
    valid: bool
    id: str | None = None
    version: str | None = None
    problems: list[ProblemOut] = []
    notes: list[str] = []


def survey_out(row: SurveyRow, responses: int) -> SurveyOut:
    return SurveyOut(
        id=row.id, slug=row.slug, public_path=f"/s/{row.slug}", unit=row.unit,
        questionnaire_id=row.questionnaire_id, questionnaire_version=row.questionnaire_version,
        year=row.year, status=row.status.value, responses=responses, weighted=bool(row.margins),
        created_by=row.created_by, created_at=row.created_at,
    )  # fmt: skip


def problems_out(refused: InputError) -> list[ProblemOut]:
    """Each fault of a refused draft with its line and path (``sections[0].questions[2]``)."""
    problems = refused.problems or [Problem(refused.key, refused.params)]
    return [
        ProblemOut(line=p.location.row, path=p.location.column or "", message=t(p.key, **p.params))
        for p in problems
    ]


# -- routes ----------------------------------------------------------------------------------------


@router.get("/surveys", response_model=list[SurveyOut])
def list_surveys(request: Request, principal: SurveyViewer) -> list[SurveyOut]:
    """The surveys of the cities the user may see, newest first."""
    return [survey_out(s.row, s.responses) for s in visible_surveys(request, principal)]


@router.post("/surveys", response_model=SurveyOut, status_code=201)
def open_survey(request: Request, principal: SurveyManager, body: SurveyIn) -> SurveyOut:
    """Open a survey of a city with a shipped or stored questionnaire; 422 names the fault."""
    authorise_unit(request, principal, Action.MANAGE_SURVEYS, body.unit)
    row = survey_collect.open_survey(
        db_of(request), body.unit, body.questionnaire_id,
        year=body.year, actor=principal.username, version=body.version,
    )  # fmt: skip
    return survey_out(row, 0)


@router.post("/surveys/{survey_id}/close", response_model=SurveyOut)
def close_survey(request: Request, principal: SurveyManager, survey_id: int) -> SurveyOut:
    """Stop taking answers; those received stay."""
    authorised_survey(request, principal, Action.MANAGE_SURVEYS, survey_id)
    row = survey_collect.close_survey(db_of(request), survey_id, actor=principal.username)
    return survey_out(row, db_of(request).surveys.response_count(survey_id))


@router.get("/surveys/{survey_id}/results", response_model=ResultsOut)
def results(request: Request, principal: SurveyViewer, survey_id: int) -> ResultsOut:
    """Counts, weighted indices with intervals, YoY, IPA, needs and candidate applications."""
    authorised_survey(request, principal, Action.VIEW_SURVEYS, survey_id)
    board = survey_dashboard(db_of(request), survey_id)
    rows: dict[str, Any] = {
        "indices": [_estimate(r, "key") for r in board.indices],
        "districts": [_estimate(r, "group") for r in board.districts],
    }
    return ResultsOut(
        survey=survey_out(board.results.survey, board.counts.total),
        responses=board.counts.total,
        today=board.counts.today,
        by_source=board.counts.by_source,
        weighted=board.weighted,
        weighting_note=board.weighting_note,
        design_effect=board.design_effect,
        n_eff=board.n_eff,
        experience_score=board.experience,
        yoy=[ChangeOut(**r) for r in board.yoy],
        ipa=[IpaOut(**r) for r in board.ipa],
        needs=[NeedOut(**r) for r in board.needs],
        candidates=[CandidateOut(**r) for r in board.candidates],
        **rows,
    )


@router.post("/questionnaires/validate", response_model=DraftCheckOut)
def validate_draft(request: Request, principal: SurveyManager, body: DraftIn) -> DraftCheckOut:
    """Check a questionnaire draft: every problem with its line and path, or valid."""
    try:
        q, notes = survey_design.check_draft(db_of(request), body.yaml_text)
    except InputError as refused:
        return DraftCheckOut(valid=False, problems=problems_out(refused))
    return DraftCheckOut(valid=True, id=q.id, version=q.spec.version, notes=notes)


def _estimate(row: dict[str, Any], key: str) -> EstimateOut:
    return EstimateOut(
        kind=row["kind"], key=str(row[key]), name=str(row["name"]), value=row["value"],
        low=row["low"], high=row["high"], n=int(row["n"]), n_eff=row["n_eff"],
    )  # fmt: skip
