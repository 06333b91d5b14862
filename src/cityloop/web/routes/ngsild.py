"""The NGSI-LD API (ETSI GS CIM 009 subset) for sensors: create and upsert entities one by one,
in batches and as subscription notifications; read the latest state and the temporal series.

No session: an API key (``Authorization: Bearer …`` or ``X-API-Key``) decides the unit and the
resource. Errors are ProblemDetails (``application/json``) with the NGSI-LD error types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from cityloop.datahub.ngsild import PayloadForm
from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import sensor_ingest, sensor_query
from cityloop.services.sensor_ingest import IngestDeniedError, IngestOutcome
from cityloop.store import Database
from cityloop.store.keys import KeyGrant
from cityloop.store.models import KeyScope


class ProblemOut(BaseModel):
    """An NGSI-LD error: ProblemDetails (RFC 7807) with the NGSI-LD error type."""

    type: str
    title: str
    detail: str


class BatchResultOut(BaseModel):
    """207: the ids stored, and each refused entity with its ProblemDetails."""

    success: list[str]
    errors: list[dict[str, Any]]


# Every operation refuses a request as a whole with ProblemDetails, not the app's ``detail``.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemOut} for status in (400, 401, 403, 413)
}
PARTLY_STORED: dict[int | str, dict[str, Any]] = {207: {"model": BatchResultOut}}
router = APIRouter(prefix="/ngsi-ld/v1", tags=["NGSI-LD"], responses=PROBLEMS)

MAX_BODY = 8 * 1024 * 1024  # 8 MiB: a batch of ~10,000 normalized entities
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
BAD_DATA = ERRORS + "BadRequestData"
TENANT_HEADER = "NGSILD-Tenant"
READ_SCOPES = (KeyScope.READ, KeyScope.INGEST)


class BodyTooLargeError(Exception):
    """The request body is over ``MAX_BODY``."""


def problem(status: int, kind: str, title: str, detail: str) -> JSONResponse:
    """An NGSI-LD ProblemDetails answer (RFC 7807)."""
    body = {"type": kind, "title": title, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/json")


def refused(exc: Exception) -> JSONResponse:
    """The answer to a request refused as a whole: 413, 401/403 or 400."""
    if isinstance(exc, BodyTooLargeError):
        detail = t("sensors.api.too_large", limit=MAX_BODY)
        return problem(
            413, ERRORS + "RequestEntityTooLarge", t("sensors.api.too_large_title"), detail
        )
    if isinstance(exc, IngestDeniedError):
        title = t("sensors.api.unauthorised" if exc.status == 401 else "sensors.api.forbidden")
        answer = problem(exc.status, "about:blank", title, exc.render())
        if exc.status == 401:
            answer.headers["WWW-Authenticate"] = 'Bearer realm="cityloop-ngsi-ld"'
        return answer
    assert isinstance(exc, InputError)
    return problem(400, BAD_DATA, t("sensors.api.bad_data"), exc.render())


def api_key(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>`` or of ``X-API-Key``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


async def read_body(request: Request) -> bytes:
    """The body, refused once it passes ``MAX_BODY`` (whatever Content-Length claimed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


async def ingest(request: Request, form: PayloadForm) -> IngestOutcome | JSONResponse:
    """Run the ingest service for this request, or the refusal of the whole request."""
    db: Database = request.app.state.db
    try:
        body = await read_body(request)
        return await run_in_threadpool(
            sensor_ingest.ingest_with_key, db, body, request.headers.get("content-type"),
            key=api_key(request), tenant=request.headers.get(TENANT_HEADER), form=form,
            client=client_of(request),
        )  # fmt: skip
    except (BodyTooLargeError, IngestDeniedError, InputError) as exc:
        return refused(exc)


def multi_status(outcome: IngestOutcome) -> JSONResponse:
    """207: the ids stored and each refused entity with its reason (BatchOperationResult)."""
    errors = [
        {
            "entityId": r.entity_id,
            "error": {"type": BAD_DATA, "title": t("sensors.api.bad_data"), "detail": r.render()},
        }
        for r in outcome.refusals
    ]
    return JSONResponse({"success": outcome.accepted, "errors": errors}, status_code=207)


@router.post("/entities", status_code=201, response_model=None)
async def create_entity(request: Request) -> Response:
    """Create one entity; a repeat of an existing id appends its observations (time series)."""
    outcome = await ingest(request, PayloadForm.ENTITY)
    if isinstance(outcome, JSONResponse):
        return outcome
    if outcome.refusals:
        reason = outcome.refusals[0].render()
        return problem(400, BAD_DATA, t("sensors.api.bad_data"), reason)
    location = f"/ngsi-ld/v1/entities/{outcome.accepted[0]}"
    return Response(status_code=201, headers={"Location": location})


@router.post(
    "/entityOperations/create", status_code=201, response_model=None, responses=PARTLY_STORED
)
async def batch_create(request: Request) -> Response:
    """Batch create: 201 with the ids when every entity is stored, else 207."""
    outcome = await ingest(request, PayloadForm.BATCH)
    if isinstance(outcome, JSONResponse):
        return outcome
    if outcome.refusals:
        return multi_status(outcome)
    return JSONResponse(outcome.accepted, status_code=201)


@router.post(
    "/entityOperations/upsert",
    status_code=201,
    response_model=None,
    responses={**PARTLY_STORED, 204: {"description": "Every entity existed and was updated"}},
)
async def batch_upsert(request: Request) -> Response:
    """Batch upsert: 201 with the new ids, 204 when all existed, 207 when some are refused."""
    outcome = await ingest(request, PayloadForm.BATCH)
    if isinstance(outcome, JSONResponse):
        return outcome
    if outcome.refusals:
        return multi_status(outcome)
    if outcome.created:
        return JSONResponse(outcome.created, status_code=201)
    return Response(status_code=204)


@router.post("/notify", status_code=204, response_model=None, responses=PARTLY_STORED)
async def notify(request: Request) -> Response:
    """A subscription's notification (``{"type": "Notification", "data": [...]}``)."""
    outcome = await ingest(request, PayloadForm.NOTIFICATION)
    if isinstance(outcome, JSONResponse):
        return outcome
    return multi_status(outcome) if outcome.refusals else Response(status_code=204)


def read_grant(request: Request) -> KeyGrant:
    db: Database = request.app.state.db
    return sensor_ingest.key_grant(
        db, api_key(request), tenant=request.headers.get(TENANT_HEADER), scopes=READ_SCOPES
    )


@router.get("/entities", response_model=None)
def query_entities(
    request: Request,
    entity_type: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=sensor_query.MAX_LIMIT)] = 20,
    options: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The latest state of the key's resource's entities (``options=keyValues``: simplified)."""
    try:
        grant = read_grant(request)
    except IngestDeniedError as exc:
        return refused(exc)
    key_values = "keyValues" in options.split(",")
    found = sensor_query.ngsi_entities(
        request.app.state.db, grant, entity_type=entity_type, limit=limit, key_values=key_values
    )
    return JSONResponse(found)


def unix_time(value: str | None, name: str) -> int | None:
    """An ISO 8601 query parameter as Unix seconds; InputError when it is not one."""
    if value is None:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise InputError("sensors.api.bad_time", name=name, value=value) from None


def time_window(
    timerel: str | None, at: str | None, end: str | None
) -> tuple[int | None, int | None]:
    """(start, end) of an NGSI-LD temporal query (``before``, ``after`` or ``between``)."""
    first, last = unix_time(at, "timeAt"), unix_time(end, "endTimeAt")
    if timerel is None:
        return None, None
    if timerel == "between":
        if first is None or last is None:
            raise InputError("sensors.api.between_needs_both")
        return first, last
    if timerel in ("before", "after") and first is not None:
        return (None, first) if timerel == "before" else (first, None)
    raise InputError("sensors.api.bad_timerel", value=timerel)


@router.get(
    "/temporal/entities/{entity_id}", response_model=None, responses={404: {"model": ProblemOut}}
)
def temporal_entity(
    request: Request,
    entity_id: str,
    attrs: Annotated[str | None, Query(max_length=1000)] = None,
    timerel: Annotated[str | None, Query(max_length=16)] = None,
    time_at: Annotated[str | None, Query(alias="timeAt", max_length=40)] = None,
    end_time_at: Annotated[str | None, Query(alias="endTimeAt", max_length=40)] = None,
    options: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """An entity's observations as NGSI-LD temporal representation (or ``temporalValues``)."""
    try:
        grant = read_grant(request)
        start, end = time_window(timerel, time_at, end_time_at)
    except (IngestDeniedError, InputError) as exc:
        return refused(exc)
    names = [a for a in (attrs or "").split(",") if a] or None
    body: dict[str, Any] | None = sensor_query.temporal_entity(
        request.app.state.db, grant, entity_id, attrs=names, start=start, end=end,
        temporal_values="temporalValues" in options.split(","),
    )  # fmt: skip
    if body is None:
        detail = t("sensors.api.unknown_entity", entity=entity_id)
        return problem(404, ERRORS + "ResourceNotFound", t("sensors.api.not_found"), detail)
    return JSONResponse(body)
