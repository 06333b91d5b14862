"""The sensors page: a unit's NGSI-LD entity types with counts and last observations, the latest
state of one type's entities, a chart of one attribute, and the payload upload form.

Thin: reads come from ``services.sensor_query``, uploads go through ``services.sensor_ingest``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from cityloop.accounts import AccessDenied, Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.errors import InputError
from cityloop.services import sensor_ingest, sensor_query
from cityloop.services.sensor_query import SensorOverview, iso
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed, authorise_unit, units_of
from cityloop.web.routes.ngsild import router as ngsild_router
from cityloop.web.templating import render

router = APIRouter()
router.include_router(ngsild_router)  # the key-only NGSI-LD API comes with the page

QualityViewer = Annotated[Principal, allowed(Action.VIEW_DATA_QUALITY)]
CatalogueManager = Annotated[Principal, allowed(Action.MANAGE_CATALOGUE)]
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
UnitQuery = Annotated[str | None, Query(max_length=64)]
NameQuery = Annotated[str | None, Query(max_length=300)]


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def chosen_unit(request: Request, principal: Principal, unit: str | None) -> str:
    """The unit asked for (checked against the user's regions), else the first visible unit
    with sensor resources, else the user's own unit."""
    if unit is None:
        seen = visible_units(units_of(request), principal.scope)
        with_sensors = sorted({r.unit for r in db_of(request).sensors.resources()} & seen)
        fallback = principal.scope or min(seen, default="")
        unit = with_sensors[0] if with_sensors else fallback
    authorise_unit(request, principal, Action.VIEW_DATA_QUALITY, unit)
    return unit


def page_context(request: Request, principal: Principal, board: SensorOverview) -> dict[str, Any]:
    table = units_of(request).table
    resources = db_of(request).sensors.resources(board.unit)
    uploadable = [
        r for r in resources if sensor_ingest.may_upload(principal.role, principal.department, r)
    ]
    return {
        "board": board,
        "unit_name": str(table.at[board.unit, "name_zh"]) if board.unit in table.index else "",
        "chart": board.chart(),
        "iso": iso,
        "uploader": can(principal.role, Action.MANAGE_CATALOGUE) and bool(uploadable),
        "resources": uploadable,
        "outcome": None,
        "errors": [],
    }


@router.get("/sensors", response_class=HTMLResponse, include_in_schema=False)
def sensors_page(
    request: Request,
    principal: QualityViewer,
    unit: UnitQuery = None,
    entity_type: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    entity: NameQuery = None,
    attribute: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    code = chosen_unit(request, principal, unit)
    board = sensor_query.sensor_overview(
        db_of(request), code, entity_type=entity_type, entity_id=entity, attribute=attribute
    )
    return render(request, "sensors.html", page_context(request, principal, board))


@router.post("/sensors/upload", response_class=HTMLResponse, include_in_schema=False)
async def upload_payload(
    request: Request,
    principal: CatalogueManager,
    resource: Annotated[int, Form()],
    payload: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    check_csrf(request, csrf_token)
    db = db_of(request)
    target = sensor_ingest.sensor_resource(db, resource)
    authorise_unit(request, principal, Action.MANAGE_CATALOGUE, target.unit)
    if not sensor_ingest.may_upload(principal.role, principal.department, target):
        raise AccessDenied(
            "accounts.denied.department", action=Action.MANAGE_CATALOGUE, role=principal.role,
            department=target.department, own=principal.department or "—",
        )  # fmt: skip
    body = await payload.read(MAX_UPLOAD_BYTES + 1)
    board = sensor_query.sensor_overview(db, target.unit, entity_type=target.entity_type)
    context = page_context(request, principal, board)
    if len(body) > MAX_UPLOAD_BYTES:
        error = InputError("sensors.api.too_large", limit=MAX_UPLOAD_BYTES)
        return render(request, "sensors.html", {**context, "errors": [error.render()]}, 413)
    kind = "application/ld+json" if (payload.filename or "").endswith(".jsonld") else None
    try:
        outcome = sensor_ingest.ingest(
            db, body, kind, unit=target.unit, resource_id=target.id,
            actor=principal.username, department=principal.department, client="web",
        )  # fmt: skip
    except InputError as exc:
        return render(request, "sensors.html", {**context, "errors": [exc.render()]}, 422)
    board = sensor_query.sensor_overview(db, target.unit, entity_type=target.entity_type)
    context = page_context(request, principal, board)
    return render(request, "sensors.html", {**context, "outcome": outcome})


@router.get("/api/sensors", tags=["sensors"])
def sensors_api(
    request: Request,
    principal: QualityViewer,
    unit: UnitQuery = None,
    entity_type: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    entity: NameQuery = None,
    attribute: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """A unit's entity types, one type's entities (latest state) and one attribute's series."""
    code = chosen_unit(request, principal, unit)
    board = sensor_query.sensor_overview(
        db_of(request), code, entity_type=entity_type, entity_id=entity, attribute=attribute
    )
    return JSONResponse(
        {
            "unit": board.unit,
            "types": [
                {"type": s.entity_type, "entities": s.entities, "observations": s.observations,
                 "last_observed": iso(s.last_observed)}
                for s in board.types
            ],
            "entity_type": board.entity_type,
            "entities": [
                {"id": e.entity_id, "type": e.entity_type, "observations": e.observations,
                 "last_observed": iso(e.last_observed), "longitude": e.longitude,
                 "latitude": e.latitude, "latest": e.latest}
                for e in board.entities
            ],
            "attribute": board.attribute,
            "series": board.chart(),
        }
    )  # fmt: skip
