"""The data-quality dashboard: ``/quality`` (per department), the drill-down of one department
``/quality/{code}/{department}``, the xlsx export and the JSON API ``/api/quality/{code}``.

Thin: the report comes from ``services.data_quality``; a data officer gets it through
``for_reader`` (every department's numbers, their own department's resources only).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from cityloop.accounts import AccessDenied, Action, Principal
from cityloop.accounts.scope import visible_units
from cityloop.i18n import current_language, pick, t
from cityloop.services import data_quality as service
from cityloop.services.data_quality import QualityReport
from cityloop.store import Database
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.templating import render

router = APIRouter()

QualityViewer = Annotated[Principal, allowed(Action.VIEW_DATA_QUALITY)]
WindowDays = Annotated[int, Query(ge=1, le=service.MAX_WINDOW_DAYS)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEASURES = ("completeness", "timeliness", "sharing", "uptime")  # the four the issue names


def report_for(request: Request, principal: Principal, code: str, window: int) -> QualityReport:
    """The report of ``code`` as this reader may see it (403 outside their regions)."""
    authorise_unit(request, principal, Action.VIEW_DATA_QUALITY, code)
    db: Database = request.app.state.db
    report = service.quality_report(db, code, window_days=window)
    return service.for_reader(report, principal.role, principal.department)


def unit_choices(request: Request, principal: Principal) -> list[dict[str, str]]:
    """The units with a catalogue that the reader may see, by code, with their names."""
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    db: Database = request.app.state.db
    table = units.table
    return [
        {"code": code, "name": _name(table, code)}
        for code in db.quality.units_with_resources()
        if code in seen
    ]


@router.get("/quality", response_class=HTMLResponse, include_in_schema=False)
def quality_page(
    request: Request,
    principal: QualityViewer,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    window: WindowDays = service.DEFAULT_WINDOW_DAYS,
) -> HTMLResponse:
    choices = unit_choices(request, principal)
    code = unit or (choices[0]["code"] if choices else None)
    context: dict[str, Any] = {"choices": choices, "unit": code, "window": window, "report": None}
    if code is not None:
        report = report_for(request, principal, code, window)
        context |= {
            "report": report,
            "unit_name": _name(units_of(request).table, code),
            "measures": MEASURES,
            "chart": _chart(report),
        }
    return render(request, "quality.html", context)


@router.get("/quality/{code}/export.xlsx", include_in_schema=False)
def export(
    request: Request,
    principal: QualityViewer,
    code: str,
    window: WindowDays = service.DEFAULT_WINDOW_DAYS,
) -> Response:
    report = report_for(request, principal, code, window)
    name = f"data-quality-{code}.xlsx"
    with tempfile.TemporaryDirectory(prefix="cityloop-quality-") as folder:
        path = service.export_report(report, Path(folder) / name, current_language())
        content = path.read_bytes()
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/quality/{code}/{department}", response_class=HTMLResponse, include_in_schema=False)
def department_page(
    request: Request,
    principal: QualityViewer,
    code: str,
    department: str,
    window: WindowDays = service.DEFAULT_WINDOW_DAYS,
) -> HTMLResponse:
    report = report_for(request, principal, code, window)
    row = next((d for d in report.departments if d.department == department), None)
    if row is None:
        detail = t("dataquality.unknown_department", department=department, unit=code)
        raise HTTPException(status_code=404, detail=detail)
    if not row.detail:
        raise AccessDenied(
            "dataquality.denied.department",
            action=Action.VIEW_DATA_QUALITY,
            role=principal.role,
            department=row.name,
        )
    listed = [r for r in report.resources if r.department == department]
    listed.sort(key=lambda r: (-len(r.problems), r.code))
    context = {
        "report": report,
        "row": row,
        "resources": listed,
        "failing": [r for r in listed if "endpoint_failing" in r.problems],
        "unit_name": _name(units_of(request).table, code),
        "window": window,
    }
    return render(request, "quality_department.html", context)


@router.get("/api/quality/{code}", tags=["data hub"], response_model=QualityReport)
def quality_api(
    request: Request,
    principal: QualityViewer,
    code: str,
    window: WindowDays = service.DEFAULT_WINDOW_DAYS,
) -> Response:
    """The unit's data-quality report: departments, the unit total and the resources the
    reader may see (a data officer: their own department's)."""
    report = report_for(request, principal, code, window)
    return Response(report.model_dump_json(), media_type="application/json")


def _name(table: Any, code: str) -> str:
    if code not in table.index:
        return code
    en = table.at[code, "name_en"] if "name_en" in table else ""
    return pick({"zh": str(table.at[code, "name_zh"]), "en": en if isinstance(en, str) else ""})


def _chart(report: QualityReport) -> dict[str, Any]:
    """Grouped bars: one series per measure, one group per department (values in %)."""
    rows = report.departments
    return {
        "departments": [d.name for d in rows],
        "series": [
            {
                "name": t(f"dataquality.measure.{m}"),
                "values": [
                    None if getattr(d, m) is None else round(100 * getattr(d, m), 1) for d in rows
                ],
            }
            for m in MEASURES
        ],
    }
