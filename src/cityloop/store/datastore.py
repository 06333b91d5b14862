"""A resource's data as the hub's read API serves it: a table resource's uploaded rows, or a
sensor resource's observations as rows (entity, attribute, time, value), filtered in SQL.

Only reads; rows are written by the catalogue's upload and by NGSI-LD ingest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from cityloop.datahub.datastore_query import ROW_ID, DataQuery, ckan_type
from cityloop.errors import InputError, Location, Problem
from cityloop.store.models import (
    DataResource,
    Department,
    Observation,
    Region,
    ResourceRow,
    ResourceStatus,
    SensorEntity,
)

if TYPE_CHECKING:  # store.sharing imports this module for its facade
    from cityloop.store.sharing import ResourceFacts

# A sensor resource's rows: one per observation, with the entity it belongs to.
SENSOR_FIELDS = {
    "entity_id": "text", "entity_type": "text", "attribute": "text",
    "observed_at": "timestamp", "value": "numeric", "text": "text",
}  # fmt: skip
_SENSOR_COLUMNS: dict[str, Any] = {
    "entity_id": SensorEntity.entity_id, "entity_type": SensorEntity.entity_type,
    "attribute": Observation.attribute, "observed_at": Observation.observed_at,
    "value": Observation.value, "text": Observation.text,
}  # fmt: skip


def field_types(resource: ResourceFacts) -> dict[str, str]:
    """Field name → CKAN type of a resource's rows, in order (``_id`` first for tables)."""
    if resource.entity_type is not None:
        return dict(SENSOR_FIELDS)
    declared = {str(f["name"]): ckan_type(str(f.get("type", "text"))) for f in resource.fields}
    return {ROW_ID: "int", **declared}


def table_frame(session: Session, resource_id: int) -> pd.DataFrame:
    """Every uploaded row of a table resource, ``_id`` = row number, in row order."""
    found = session.execute(
        select(ResourceRow.row_no, ResourceRow.data)
        .where(ResourceRow.resource_id == resource_id)
        .order_by(ResourceRow.row_no)
    ).all()
    frame = pd.DataFrame.from_records([r.data for r in found])
    frame.insert(0, ROW_ID, [r.row_no for r in found])
    return frame


def iso_utc(seconds: int) -> str:
    """Unix seconds as ISO 8601 UTC with a ``Z``."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _unix_seconds(values: list[Any]) -> list[int]:
    moments = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")
    if moments.isna().any():
        raise InputError(
            "ckan.query.refused",
            [Problem("ckan.query.timestamp", {"field": "observed_at"}, Location(column="filters"))],
        )
    return [int(m.timestamp()) for m in moments]


def _sensor_conditions(resource: ResourceFacts, query: DataQuery) -> list[ColumnElement[bool]]:
    # A resource's entities: those ingested for it, or (not tied to any) its unit's entities of
    # its NGSI-LD type.
    conditions: list[ColumnElement[bool]] = [
        or_(
            SensorEntity.resource_id == resource.id,
            and_(
                SensorEntity.resource_id.is_(None),
                SensorEntity.unit_code == resource.unit,
                SensorEntity.entity_type == resource.entity_type,
            ),
        )
    ]
    for name, values in query.filters.items():
        wanted = _unix_seconds(values) if name == "observed_at" else values
        conditions.append(_SENSOR_COLUMNS[name].in_(wanted))
    text_columns = ("entity_id", "attribute", "text")
    if isinstance(query.q, str):
        needle = query.q.lower()
        conditions.append(
            or_(
                *(
                    func.lower(_SENSOR_COLUMNS[c]).contains(needle, autoescape=True)
                    for c in text_columns
                )
            )
        )
    elif isinstance(query.q, dict):
        conditions.extend(
            func.lower(cast(_SENSOR_COLUMNS[name], String)).contains(
                needle.lower(), autoescape=True
            )
            for name, needle in query.q.items()
        )
    return conditions


def sensor_page(
    session: Session, resource: ResourceFacts, query: DataQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page of a sensor resource's observations as rows, and how many match in all.

    Filters, ``q``, sort and paging run in SQL: a resource may hold millions of observations.
    """
    conditions = _sensor_conditions(resource, query)
    joined = select(*_SENSOR_COLUMNS.values()).join(
        SensorEntity, SensorEntity.key == Observation.entity_key
    )
    total = session.scalar(
        select(func.count())
        .select_from(Observation)
        .join(SensorEntity, SensorEntity.key == Observation.entity_key)
        .where(*conditions)
    )
    order = [
        _SENSOR_COLUMNS[name].desc() if desc else _SENSOR_COLUMNS[name].asc()
        for name, desc in query.sort
    ] or [SensorEntity.entity_id, Observation.attribute, Observation.observed_at]
    found = session.execute(
        joined.where(*conditions).order_by(*order).limit(query.limit).offset(query.offset)
    ).all()
    records = [
        {
            "entity_id": r.entity_id,
            "entity_type": r.entity_type,
            "attribute": r.attribute,
            "observed_at": iso_utc(r.observed_at),
            "value": r.value,
            "text": r.text,
        }
        for r in found
    ]
    return records, int(total or 0)


def published_resources(session: Session) -> list[dict[str, Any]]:
    """Every published catalogue entry with its department's and unit's names, by id: what
    the open-data API describes (it decides which of them it lists)."""
    query = (
        select(
            DataResource,
            Department.name_zh.label("department_zh"),
            Department.name_en.label("department_en"),
            Region.name_zh.label("unit_zh"),
            Region.name_en.label("unit_en"),
        )
        .join(Department, Department.code == DataResource.department_code)
        .join(Region, Region.code == DataResource.unit_code)
        .where(DataResource.status == ResourceStatus.PUBLISHED)
        .order_by(DataResource.id)
    )
    entries: list[dict[str, Any]] = []
    for r, department_zh, department_en, unit_zh, unit_en in session.execute(query).all():
        entry = {c.key: getattr(r, c.key) for c in DataResource.__table__.columns}
        entry |= {"department_zh": department_zh, "department_en": department_en,
                  "unit_zh": unit_zh, "unit_en": unit_en}  # fmt: skip
        entries.append(entry)
    return entries
