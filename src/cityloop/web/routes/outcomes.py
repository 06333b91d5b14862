"""Outcome-assessment pages and JSON API (成效评估): a unit's latest (or a chosen) report with
verdicts, spend, cost per unit and a forest plot; running an assessment; feeding the measured
effects back into the unit's catalogue.

Thin: the work is in ``cityloop.services.outcomes``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from cityloop.accounts import Action, Principal, can
from cityloop.errors import InputError
from cityloop.i18n import current_language, pick, t
from cityloop.services import outcomes as service
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.outcomes import (
    EffectChange,
    OutcomeReport,
    OutcomeReportNotFoundError,
    OutcomeReportSummary,
)
from cityloop.store import Database
from cityloop.supervision.outcomes_verdict import Verdict
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.templating import render

router = APIRouter()
Reader = Annotated[Principal, allowed(Action.VIEW_PLANS)]
Planner = Annotated[Principal, allowed(Action.PLAN_PROGRAMME)]
PAGE = "/supervision/{code}/outcomes"
API = "/api/supervision/{code}/outcomes"
# Verdicts that call for attention are drawn red, the good ones green, the rest amber.
TONE = {
    Verdict.BIG_PLAN_SMALL_RESULT: "red",
    Verdict.NO_EFFECT: "red",
    Verdict.BELOW_RANGE: "amber",
    Verdict.INCONCLUSIVE: "amber",
    Verdict.WITHIN_RANGE: "green",
    Verdict.DELIVERED: "green",
}


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def unit_name(request: Request, code: str) -> str:
    row = units_of(request).table.loc[code]
    return pick({"zh": str(row["name_zh"]), "en": str(row.get("name_en") or "")})


def report_of(request: Request, code: str, report_id: int) -> OutcomeReport:
    """The unit's report ``report_id``; 404 when it has none by that id."""
    try:
        return service.outcome_report(db_of(request), report_id, unit=code)
    except OutcomeReportNotFoundError as missing:
        raise HTTPException(status_code=404, detail=missing.render()) from None


def indicator_names(db: Database, report: OutcomeReport | None) -> dict[str, str]:
    """Indicator code → name in the reader's language, for the report's framework."""
    if report is None:
        return {}
    framework = db.framework(report.framework_id)
    lang = current_language()
    return {code: framework.name(code, lang) for code in framework.indicator_codes}


def forest_data(report: OutcomeReport, names: dict[str, str]) -> dict[str, Any]:
    """The forest plot: one row per project × indicator, promised band and measured CI."""
    rows = [
        {"label": f"{pick({'zh': p.name_zh, 'en': p.name_en or p.name_zh})} · "
                  f"{names.get(i.indicator, i.indicator)}",
         "low": i.low, "likely": i.likely, "high": i.high, "estimate": i.estimate,
         "ci_low": i.ci_low, "ci_high": i.ci_high, "tone": TONE[i.verdict],
         "verdict": t(i.verdict.label_key)}
        for p in report.projects
        for i in p.indicators
    ]  # fmt: skip
    return {
        "rows": rows,
        "names": {key: t(f"outcome.web.forest.{key}") for key in ("band", "likely", "measured")},
        "axis": t("outcome.web.forest.axis"),
    }


def page_context(
    request: Request, principal: Principal, code: str, report_id: int | None
) -> dict[str, Any]:
    """What ``supervision_outcomes.html`` shows: the chosen (default: latest) report."""
    db = db_of(request)
    reports = service.outcome_reports(db, code)
    chosen = report_id if report_id is not None else (reports[0].id if reports else None)
    report = None if chosen is None else report_of(request, code, chosen)
    names = indicator_names(db, report)
    return {
        "code": code,
        "name": unit_name(request, code),
        "reports": reports,
        "report": report,
        "names": names,
        "tone": TONE,
        "forest": forest_data(report, names) if report and report.projects else None,
        "may_assess": can(principal.role, Action.PLAN_PROGRAMME),
        "today": date.today().isoformat(),
        "changes": None,
    }


async def posted_form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, values.get("csrf_token", ""))
    return values


def form_date(value: str) -> date:
    """The form's ``as_of`` (YYYY-MM-DD); a clear error naming it when missing or malformed."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError("outcome.web.bad_date", value=value) from None


# -- pages ----------------------------------------------------------------------------------------


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
def outcomes_page(
    request: Request, principal: Reader, code: str, report: int | None = None
) -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return render(
        request, "supervision_outcomes.html", page_context(request, principal, code, report)
    )


@router.post(PAGE + "/assess", include_in_schema=False)
async def outcomes_assess(request: Request, principal: Planner, code: str) -> Response:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    form = await posted_form(request)
    as_of = form_date(form.get("as_of", ""))
    made = service.assess_outcomes(db_of(request), code, actor=principal, as_of=as_of)
    target = f"/supervision/{code}/outcomes?report={made.id}"
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post(PAGE + "/feedback", response_class=HTMLResponse, include_in_schema=False)
async def outcomes_feedback(request: Request, principal: Planner, code: str) -> HTMLResponse:
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    await posted_form(request)
    changes = service.feed_back(db_of(request), code, actor=principal)
    if "hx-request" in request.headers:
        return render(request, "supervision_outcome_feedback.html", {"changes": changes})
    context = page_context(request, principal, code, None) | {"changes": changes}
    return render(request, "supervision_outcomes.html", context)


# -- JSON API -------------------------------------------------------------------------------------


class AssessRequest(BaseModel):
    """Assess the unit's projects delivered on or before ``as_of`` (default today)."""

    model_config = ConfigDict(extra="forbid")

    as_of: date | None = None
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)
    framework_id: str = DEFAULT_FRAMEWORK


@router.get(API, tags=["outcomes"])
def api_reports(request: Request, principal: Reader, code: str) -> list[OutcomeReportSummary]:
    """The unit's stored outcome reports, newest first."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return service.outcome_reports(db_of(request), code)


@router.get(API + "/{report}", tags=["outcomes"])
def api_report(request: Request, principal: Reader, code: str, report: int) -> OutcomeReport:
    """One stored report of the unit: each delivered project's verdict and measured effects."""
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return report_of(request, code, report)


@router.post(API + "/assess", status_code=201, tags=["outcomes"])
def api_assess(
    request: Request, principal: Planner, code: str, body: AssessRequest
) -> OutcomeReport:
    """Assess the unit's delivered projects and keep the report."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    return service.assess_outcomes(
        db_of(request), code, actor=principal, framework_id=body.framework_id,
        as_of=body.as_of, confidence=body.confidence,
    )  # fmt: skip


@router.post(API + "/feedback", tags=["outcomes"])
def api_feedback(request: Request, principal: Planner, code: str) -> list[EffectChange]:
    """Feed every unit's latest measured effects into the unit's catalogue; the changes."""
    authorise_unit(request, principal, Action.PLAN_PROGRAMME, code)
    return service.feed_back(db_of(request), code, actor=principal)
