"""Derived-indicator pages and API: each framework's formulas with the values computed per unit
and year, the compute button, and one value's provenance with a daily chart of its series.

Thin: computing and reading are ``cityloop.services.derived``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.frameworks import Framework
from cityloop.i18n import pick, t
from cityloop.services import derived
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.routes.surveys import city_names
from cityloop.web.templating import render

router = APIRouter()

ValueViewer = Annotated[Principal, allowed(Action.VIEW_VALUES)]
Deriver = Annotated[Principal, allowed(Action.DERIVE_INDICATORS)]
FLASH = "derived_flash"
DEFAULT_FRAMEWORK = "cityloop-operations-2026"


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def visible_cities(request: Request, principal: Principal) -> list[str]:
    units = units_of(request)
    seen = visible_units(units, principal.scope)
    cities = units.table.index[units.table["level"] == "city"]
    return sorted(str(c) for c in cities if c in seen)


def formulas_of(fw: Framework) -> list[dict[str, Any]]:
    return [
        {
            "code": d.code,
            "name": pick(d.indicator.name.as_dict()),
            "unit": d.indicator.unit,
            "formula": d.formula.text,
            "timezone": d.timezone,
            "note": pick(d.indicator.derived.note.as_dict())
            if d.indicator.derived is not None and d.indicator.derived.note is not None
            else "",
        }
        for d in derived.derived_indicators(fw)
    ]


def stored_values(request: Request, principal: Principal, fw: Framework) -> list[dict[str, Any]]:
    seen = set(visible_units(units_of(request), principal.scope))
    return [
        {
            "unit": c.unit, "year": c.year, "indicator": c.indicator, "value": c.value,
            "entered_at": c.entered_at.isoformat(timespec="seconds"), "entered_by": c.entered_by,
        }
        for c in derived.stored_derived(db_of(request), fw)
        if c.unit in seen
    ]  # fmt: skip


# -- pages ---------------------------------------------------------------------------------------


@router.get("/derived", response_class=HTMLResponse, include_in_schema=False)
def overview(
    request: Request, principal: ValueViewer, framework: str = DEFAULT_FRAMEWORK
) -> HTMLResponse:
    fw = derived.derived_framework(db_of(request), framework)
    context = {
        "frameworks": [
            (f.id, pick(f.spec.title.as_dict())) for f in derived.frameworks_with_formulas()
        ],
        "fw": fw,
        "title": pick(fw.spec.title.as_dict()),
        "formulas": formulas_of(fw),
        "values": stored_values(request, principal, fw),
        "names": city_names(request),
        "cities": visible_cities(request, principal),
        "deriver": can(principal.role, Action.DERIVE_INDICATORS),
        "this_year": datetime.now(UTC).year,
        "flash": request.session.pop(FLASH, None),
    }
    return render(request, "derived.html", context)


@router.post("/derived/{fid}/compute", include_in_schema=False)
def compute(
    request: Request,
    principal: Deriver,
    fid: str,
    unit: Annotated[str, Form(max_length=64)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    authorise_unit(request, principal, Action.DERIVE_INDICATORS, unit)
    report = derived.derive(db_of(request), fid, [unit], year, actor=principal.username)
    request.session[FLASH] = {
        "unit": unit, "year": year, "written": len(report.values),
        "inserted": report.counts.inserted, "updated": report.counts.updated,
        "skipped": [f"{s.indicator}: {s.render()}" for s in report.skipped],
    }  # fmt: skip
    return RedirectResponse(f"/derived?framework={fid}", status_code=303)


@router.get(
    "/derived/{fid}/{code}/{indicator}", response_class=HTMLResponse, include_in_schema=False
)
def provenance_page(
    request: Request, principal: ValueViewer, fid: str, code: str, indicator: str, year: int
) -> HTMLResponse:
    authorise_unit(request, principal, Action.VIEW_VALUES, code)
    view = derived.provenance_view(db_of(request), fid, code, year, indicator)
    context = {
        "view": view,
        "name": pick(view.item.indicator.name.as_dict()),
        "city": city_names(request).get(code, code),
        "charts": {ref: _chart(frame) for ref, frame in view.series.items()},
        "chart_labels": {k: t(f"derived.chart.{k}") for k in ("mean", "min", "max")},
        "entities": {ref: frame.to_dict("records") for ref, frame in view.entities.items()},
    }
    return render(request, "derived_provenance.html", context)


def _chart(frame: Any) -> dict[str, list[Any]]:
    """A daily profile as JSON-safe columns for the chart (NaN as null)."""
    return {
        column: [None if isinstance(v, float) and math.isnan(v) else v for v in frame[column]]
        for column in ("day", "mean", "min", "max", "readings")
    }


# -- JSON API --------------------------------------------------------------------------------------


class FormulaOut(BaseModel):
    code: str
    name: str
    unit: str
    formula: str
    timezone: str
    note: str


class StoredOut(BaseModel):
    unit: str
    year: int
    indicator: str
    value: float
    entered_at: str
    entered_by: str


class DerivedListOut(BaseModel):
    framework: str
    formulas: list[FormulaOut]
    values: list[StoredOut]


class ComputeIn(BaseModel):
    units: list[str] = Field(min_length=1, max_length=500)
    year: int = Field(ge=2000, le=2100)


class ComputedOut(BaseModel):
    unit: str
    indicator: str
    value: float
    provenance: dict[str, Any]


class SkippedOut(BaseModel):
    unit: str
    indicator: str
    reason: str
    message: str


class ReportOut(BaseModel):
    framework: str
    year: int
    values: list[ComputedOut]
    skipped: list[SkippedOut]
    inserted: int
    updated: int
    unchanged: int


class ProvenanceOut(BaseModel):
    framework: str
    unit: str
    year: int
    indicator: str
    formula: str
    timezone: str
    value: float | None
    provenance: dict[str, Any]
    daily: dict[str, dict[str, list[Any]]]
    entities: dict[str, list[dict[str, Any]]]


@router.get("/api/derived/{fid}", response_model=DerivedListOut, tags=["derived"])
def api_list(request: Request, principal: ValueViewer, fid: str) -> DerivedListOut:
    """The framework's derived indicators and the values computed for the user's units."""
    fw = derived.derived_framework(db_of(request), fid)
    return DerivedListOut(
        framework=fw.id,
        formulas=[FormulaOut(**f) for f in formulas_of(fw)],
        values=[StoredOut(**v) for v in stored_values(request, principal, fw)],
    )


@router.post("/api/derived/{fid}/compute", response_model=ReportOut, tags=["derived"])
def api_compute(request: Request, principal: Deriver, fid: str, body: ComputeIn) -> ReportOut:
    """Compute the derived indicators for ``units`` and ``year`` now; 403 for a unit outside
    the user's regions, 422 naming the fault for an unknown framework or unit."""
    for unit in body.units:
        authorise_unit(request, principal, Action.DERIVE_INDICATORS, unit)
    report = derived.derive(db_of(request), fid, body.units, body.year, actor=principal.username)
    return ReportOut(
        framework=report.framework, year=report.year,
        values=[ComputedOut(unit=v.unit, indicator=v.indicator, value=v.value,
                            provenance=v.provenance) for v in report.values],
        skipped=[SkippedOut(unit=s.unit, indicator=s.indicator, reason=s.reason,
                            message=s.render()) for s in report.skipped],
        inserted=report.counts.inserted, updated=report.counts.updated,
        unchanged=report.counts.unchanged,
    )  # fmt: skip


@router.get("/api/derived/{fid}/{code}/{indicator}", response_model=ProvenanceOut, tags=["derived"])
def api_provenance(
    request: Request, principal: ValueViewer, fid: str, code: str, indicator: str, year: int
) -> ProvenanceOut:
    """One derived value with its provenance, the entities and the daily series under it."""
    authorise_unit(request, principal, Action.VIEW_VALUES, code)
    view = derived.provenance_view(db_of(request), fid, code, year, indicator)
    return ProvenanceOut(
        framework=view.framework.id, unit=code, year=year, indicator=indicator,
        formula=view.item.formula.text, timezone=view.item.timezone,
        value=None if view.stored is None else view.stored.value,
        provenance=view.provenance,
        daily={ref: _chart(frame) for ref, frame in view.series.items()},
        entities={ref: frame.to_dict("records") for ref, frame in view.entities.items()},
    )  # fmt: skip
