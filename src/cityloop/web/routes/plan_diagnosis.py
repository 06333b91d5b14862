"""The diagnosis pages: ``/plan/diagnosis`` (the cities a user may diagnose) and
``/plan/diagnosis/{code}`` (emphasis chart, reasons, weak dimensions, urgent/important, the
application list by term), and the API ``/api/plan/diagnosis/{code}``.

Thin adapter over ``cityloop.services.plan_diagnosis.diagnose``; the chart reads the same JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cityloop.accounts import Action, Principal
from cityloop.accounts.scope import visible_units
from cityloop.i18n import pick
from cityloop.services import plan_diagnosis as service
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.services.plan_diagnosis import DiagnosisReport
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.templating import render

router = APIRouter()
PlanViewer = Annotated[Principal, allowed(Action.VIEW_PLANS)]


def report_of(
    request: Request,
    principal: Principal,
    code: str,
    framework: str | None,
    year: int | None,
    run: int | None,
) -> DiagnosisReport:
    authorise_unit(request, principal, Action.VIEW_PLANS, code)
    return service.diagnose(
        request.app.state.db,
        code,
        framework_id=framework or DEFAULT_FRAMEWORK,
        year=year,
        run_id=run,
    )


@router.get("/plan/diagnosis", response_class=HTMLResponse, include_in_schema=False)
def diagnosis_index(request: Request, principal: PlanViewer) -> Response:
    units = units_of(request)
    table = units.table
    seen = visible_units(units, principal.scope)
    cities = sorted(c for c in table.index[table["level"] == "city"] if c in seen)
    rows = [
        (
            str(c),
            pick({"zh": str(table.at[c, "name_zh"]), "en": str(table.at[c, "name_en"] or "")}),
        )
        for c in cities
    ]
    return render(request, "plan_diagnosis_index.html", {"cities": rows})


@router.get("/plan/diagnosis/{code}", response_class=HTMLResponse, include_in_schema=False)
def diagnosis_page(
    request: Request,
    principal: PlanViewer,
    code: str,
    framework: str | None = None,
    year: int | None = None,
    run: int | None = None,
) -> Response:
    report = report_of(request, principal, code, framework, year, run)
    chart = {
        "types": [ts.name for ts in report.types],
        "parts": {
            part: [round(100 * ts.parts[part], 2) for ts in report.types] for part in service.PARTS
        },
        "share": [round(100 * ts.share, 2) for ts in report.types],
    }
    return render(request, "plan_diagnosis.html", {"r": report, "chart": chart})


@router.get("/api/plan/diagnosis/{code}", tags=["planning"], response_model=DiagnosisReport)
def diagnosis_api(
    request: Request,
    principal: PlanViewer,
    code: str,
    framework: str | None = None,
    year: int | None = None,
    run: int | None = None,
) -> Response:
    """The diagnosis of city ``code``: plan-type shares, reasons, weak and strong dimensions,
    urgent and important indicators, applications by term, minimum shares for the optimiser."""
    report = report_of(request, principal, code, framework, year, run)
    return Response(report.model_dump_json(), media_type="application/json")
