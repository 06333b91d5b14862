"""Sensor entities and their observations in the store: write a checked NGSI-LD batch in one
transaction, and read entities, type summaries and an attribute's series.

``db.sensors`` (a ``SensorStore``) is the facade. Writes are set-based: one SELECT resolves the
batch's entity keys, one executemany upserts the entities, one the observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.datahub.ngsild import EntityState
from cityloop.errors import InputError
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.bulk import as_list
from cityloop.store.models import (
    AccessEntry,
    DataResource,
    Observation,
    OpenType,
    ResourceClass,
    ResourceStatus,
    SensorEntity,
    SharingType,
    UpdateFrequency,
    table_of,
)
from cityloop.store.surveys import Sessions

CHUNK = 20_000  # observations per executemany: bounded memory, few round trips
SQLITE_CACHE_KIB = 256 * 1024  # 256 MiB of page cache for the writing connection
# WAL pages before the writing connection checkpoints (SQLite's default is 1,000, 4 MB):
# successive batches touch the same index pages, and a rarer checkpoint copies each once.
SQLITE_CHECKPOINT_PAGES = 16_384
ID_CHUNK = 900  # entity ids per IN list (SQLite's old limit of bound variables is 999)


@dataclass(frozen=True)
class SensorResource:
    """A catalogue resource whose data are observations of one NGSI-LD entity type."""

    id: int
    unit: str
    code: str
    department: str
    entity_type: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class SensorBatch:
    """A checked batch to store for one unit and resource, and the access it was."""

    unit: str
    resource_id: int
    entities: Sequence[EntityState]
    observations: pd.DataFrame  # cityloop.datahub.ngsild.OBSERVATION_COLUMNS
    operation: str
    status: int
    actor: str = ""
    key_id: int | None = None
    department: str | None = None
    client: str = ""


@dataclass(frozen=True)
class BatchWritten:
    """What a batch did: entities new to the unit, entities updated, observation rows written."""

    created: list[str]
    updated: list[str]
    observations: int


@dataclass(frozen=True)
class EntityRow:
    """A stored entity with its latest state and how many observations it has, up to when."""

    entity_id: str
    entity_type: str
    resource_id: int | None
    longitude: float | None
    latitude: float | None
    latest: dict[str, Any]
    updated_at: datetime
    observations: int
    last_observed: int | None  # Unix seconds


@dataclass(frozen=True)
class TypeSummary:
    """One entity type of a unit: how many entities and observations, and the last one's time."""

    entity_type: str
    entities: int
    observations: int
    last_observed: int | None


def _upsert(session: Session, table: Table, index: list[str], changing: list[str]) -> Any:
    """INSERT … ON CONFLICT (``index``) DO UPDATE SET ``changing`` = the new values."""
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(
            index_elements=index, set_={c: pg.excluded[c] for c in changing}
        )
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(
        index_elements=index, set_={c: lite.excluded[c] for c in changing}
    )


def sensor_resource(session: Session, resource_id: int) -> SensorResource | None:
    """A resource that holds observations; None when unknown or not a sensor resource."""
    row = session.get(DataResource, resource_id)
    if row is None or row.entity_type is None:
        return None
    return SensorResource(
        row.id, row.unit_code, row.code, row.department_code, row.entity_type,
        row.name_zh, row.name_en,
    )  # fmt: skip


def sensor_resources(session: Session, unit: str | None = None) -> list[SensorResource]:
    """The resources that hold observations, of one unit or all, by unit then code."""
    query = select(DataResource.id).where(DataResource.entity_type.is_not(None))
    if unit is not None:
        query = query.where(DataResource.unit_code == unit)
    ids = session.scalars(query.order_by(DataResource.unit_code, DataResource.code)).all()
    return [r for r in (sensor_resource(session, i) for i in ids) if r is not None]


def write_batch(session: Session, batch: SensorBatch) -> BatchWritten:
    """Upsert the batch's entities and observations, stamp the resource, log the access.

    Re-sending a batch adds nothing: an observation is keyed by (entity, attribute, time) and a
    repeat overwrites the value with the same value.
    """
    now = utc_now()
    if session.get_bind().dialect.name == "sqlite":
        # Each batch lands all over the observations' primary-key index; with SQLite's default
        # 2 MB page cache a table of a million rows re-reads its index pages from the file at
        # every batch (measured: 6,000/s instead of >15,000/s at 1M rows, ngsi_ingest.py).
        session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
        session.execute(text(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}"))
    latest = {e.entity_id: e for e in batch.entities}  # a later snapshot of an id wins
    known = _entity_keys(session, batch.unit, list(latest))
    if latest:
        changing = ["entity_type", "resource_id", "longitude", "latitude", "latest", "updated_at"]
        upsert = _upsert(session, table_of(SensorEntity), ["unit_code", "entity_id"], changing)
        rows = [
            {
                "unit_code": batch.unit, "entity_id": e.entity_id, "entity_type": e.entity_type,
                "resource_id": batch.resource_id, "longitude": e.longitude,
                "latitude": e.latitude, "latest": e.key_values,
                "created_at": now, "updated_at": now,
            }
            for e in latest.values()
        ]  # fmt: skip
        session.execute(upsert, rows)
    created = [i for i in latest if i not in known]
    keys = {**known, **_entity_keys(session, batch.unit, created)} if created else known
    written = _insert_observations(session, batch.observations, keys)
    session.execute(
        update(DataResource).where(DataResource.id == batch.resource_id).values(data_updated_at=now)
    )
    session.add(
        AccessEntry(
            at=now, resource_id=batch.resource_id, key_id=batch.key_id,
            department_code=batch.department, actor=batch.actor[:64],
            operation=batch.operation, status=batch.status, rows=written,
            client=batch.client[:100],
        )
    )  # fmt: skip
    updated = [i for i in latest if i in known]
    return BatchWritten(created, updated, written)


def _entity_keys(session: Session, unit: str, entity_ids: Sequence[str]) -> dict[str, int]:
    """Keys of the unit's entities among ``entity_ids`` (one SELECT per ``ID_CHUNK`` ids)."""
    found: dict[str, int] = {}
    query = select(SensorEntity.entity_id, SensorEntity.key).where(
        SensorEntity.unit_code == unit, SensorEntity.entity_id.in_(bindparam("ids", expanding=True))
    )
    for start in range(0, len(entity_ids), ID_CHUNK):
        chunk = list(entity_ids[start : start + ID_CHUNK])
        found.update({r.entity_id: r.key for r in session.execute(query, {"ids": chunk})})
    return found


# Observations go to the driver directly, as in ``cityloop.store.bulk``: building SQLAlchemy's
# parameters row by row cost more than SQLite's own insert (measured: benchmarks/ngsi_ingest.py).
OBSERVATION_UPSERT = {
    "sqlite": (
        "INSERT INTO observations (entity_key, attribute, observed_at, value, text) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (entity_key, attribute, observed_at) "
        "DO UPDATE SET value = excluded.value, text = excluded.text"
    ),
    # PostgreSQL: each column travels as one array; one statement per chunk.
    "postgresql": (
        "INSERT INTO observations (entity_key, attribute, observed_at, value, text) "
        "SELECT * FROM unnest(%b::integer[], %b::varchar[], %b::bigint[], "
        "%b::double precision[], %b::varchar[]) "
        "ON CONFLICT (entity_key, attribute, observed_at) "
        "DO UPDATE SET value = excluded.value, text = excluded.text"
    ),
}


def _insert_observations(session: Session, frame: pd.DataFrame, keys: dict[str, int]) -> int:
    """Insert (or overwrite) the observations: INSERT … ON CONFLICT DO UPDATE, per chunk.

    A batch holds each (entity, attribute, time) once (``parse_entities`` drops repeats), as
    PostgreSQL requires of one statement.
    """
    if frame.empty:
        return 0
    conn = session.connection()
    dialect = conn.dialect.name
    columns = [
        frame["entity_id"].map(keys).astype("int64").tolist(),
        frame["attribute"].tolist(),
        frame["observed_at"].astype("int64").tolist(),
        as_list(frame["value"]),
        as_list(frame["text"]),
    ]
    for start in range(0, len(frame), CHUNK):
        parts = [values[start : start + CHUNK] for values in columns]
        if dialect == "sqlite":
            conn.exec_driver_sql(OBSERVATION_UPSERT[dialect], list(zip(*parts, strict=True)))
        else:
            conn.exec_driver_sql(OBSERVATION_UPSERT[dialect], tuple(parts))
    return len(frame)


def record_access(
    session: Session,
    *,
    resource_id: int,
    operation: str,
    status: int,
    rows: int,
    actor: str = "",
    key_id: int | None = None,
    department: str | None = None,
    client: str = "",
) -> None:
    """Add one access-log row (a read through the NGSI-LD API; writes log in ``write_batch``)."""
    session.add(
        AccessEntry(
            at=utc_now(), resource_id=resource_id, key_id=key_id, department_code=department,
            actor=actor[:64], operation=operation, status=status, rows=rows, client=client[:100],
        )
    )  # fmt: skip


# -- reads -----------------------------------------------------------------------------------------


def _counts() -> Any:
    """Per entity key: observations and the last observation time (a subquery)."""
    return (
        select(
            Observation.entity_key,
            func.count().label("n"),
            func.max(Observation.observed_at).label("last"),
        )
        .group_by(Observation.entity_key)
        .subquery()
    )


def list_entities(
    session: Session,
    unit: str,
    entity_type: str | None = None,
    limit: int | None = None,
    resource_id: int | None = None,
) -> list[EntityRow]:
    """A unit's entities (of one type, of one resource), by id, with latest state and counts."""
    counts = _counts()
    query = (
        select(SensorEntity, counts.c.n, counts.c.last)
        .outerjoin(counts, counts.c.entity_key == SensorEntity.key)
        .where(SensorEntity.unit_code == unit)
        .order_by(SensorEntity.entity_id)
    )
    if entity_type is not None:
        query = query.where(SensorEntity.entity_type == entity_type)
    if resource_id is not None:
        query = query.where(SensorEntity.resource_id == resource_id)
    if limit is not None:
        query = query.limit(limit)
    return [_entity_row(e, n, last) for e, n, last in session.execute(query)]


def get_entity(session: Session, unit: str, entity_id: str) -> EntityRow | None:
    """One entity of a unit; None when unknown."""
    counts = _counts()
    found = session.execute(
        select(SensorEntity, counts.c.n, counts.c.last)
        .outerjoin(counts, counts.c.entity_key == SensorEntity.key)
        .where(SensorEntity.unit_code == unit, SensorEntity.entity_id == entity_id)
    ).first()
    return None if found is None else _entity_row(*found)


def _entity_row(e: SensorEntity, n: int | None, last: int | None) -> EntityRow:
    return EntityRow(
        e.entity_id, e.entity_type, e.resource_id, e.longitude, e.latitude, dict(e.latest),
        e.updated_at, int(n or 0), None if last is None else int(last),
    )  # fmt: skip


def type_summary(session: Session, unit: str) -> list[TypeSummary]:
    """Per entity type of a unit: entities, observations and the last observation time."""
    counts = _counts()
    query = (
        select(
            SensorEntity.entity_type,
            func.count(SensorEntity.key),
            func.coalesce(func.sum(counts.c.n), 0),
            func.max(counts.c.last),
        )
        .outerjoin(counts, counts.c.entity_key == SensorEntity.key)
        .where(SensorEntity.unit_code == unit)
        .group_by(SensorEntity.entity_type)
        .order_by(SensorEntity.entity_type)
    )
    return [
        TypeSummary(kind, int(n), int(obs), None if last is None else int(last))
        for kind, n, obs, last in session.execute(query)
    ]


def attribute_counts(session: Session, unit: str, entity_id: str) -> dict[str, int]:
    """An entity's attributes and how many observations each has."""
    query = (
        select(Observation.attribute, func.count())
        .join(SensorEntity, SensorEntity.key == Observation.entity_key)
        .where(SensorEntity.unit_code == unit, SensorEntity.entity_id == entity_id)
        .group_by(Observation.attribute)
        .order_by(Observation.attribute)
    )
    return {name: int(n) for name, n in session.execute(query)}


def read_series(
    session: Session,
    unit: str,
    entity_id: str,
    attribute: str,
    start: int | None = None,
    end: int | None = None,
) -> pd.DataFrame:
    """An attribute's observations in ``[start, end]`` (Unix seconds), oldest first: columns
    ``observed_at``, ``value``, ``text``."""
    query = (
        select(Observation.observed_at, Observation.value, Observation.text)
        .join(SensorEntity, SensorEntity.key == Observation.entity_key)
        .where(
            SensorEntity.unit_code == unit,
            SensorEntity.entity_id == entity_id,
            Observation.attribute == attribute,
        )
        .order_by(Observation.observed_at)
    )
    if start is not None:
        query = query.where(Observation.observed_at >= start)
    if end is not None:
        query = query.where(Observation.observed_at <= end)
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["observed_at", "value", "text"])
    return frame.astype({"observed_at": "int64", "value": "float64"})


def register_sensor_resource(
    session: Session,
    *,
    unit: str,
    code: str,
    department: str,
    entity_type: str,
    name_zh: str,
    name_en: str,
    actor: str,
) -> SensorResource:
    """The unit's catalogue resource ``code`` for observations of ``entity_type``, added as a
    published, conditionally shared, not-open realtime resource if absent (demo and tests)."""
    found = session.scalars(
        select(DataResource).where(DataResource.unit_code == unit, DataResource.code == code)
    ).first()
    if found is not None:
        if found.entity_type != entity_type:
            raise InputError("sensors.resource.other_type", code=code, type=found.entity_type)
        resource = sensor_resource(session, found.id)
        assert resource is not None
        return resource
    now = utc_now()
    row = DataResource(
        unit_code=unit, code=code, department_code=department, name_zh=name_zh,
        name_en=name_en, description="", classification=ResourceClass.THEME, fields=[],
        update_frequency=UpdateFrequency.REALTIME, format="NGSI-LD",
        sharing_type=SharingType.CONDITIONAL, open_type=OpenType.CLOSED,
        keywords=["NGSI-LD", entity_type], entity_type=entity_type,
        status=ResourceStatus.PUBLISHED, created_by=actor, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    # A catalogue entry like any other: its creation is audited as catalogue.add_resource's is.
    after = {"unit": unit, "code": code, "department": department, "entity_type": entity_type,
             "status": row.status.value, "sharing_type": row.sharing_type.value}  # fmt: skip
    record_audit(session, actor, "create", "data_resources", str(row.id), after=after, at=now)
    resource = sensor_resource(session, row.id)
    assert resource is not None
    return resource


class SensorStore:
    """``db.sensors``: sensor resources, entities and observations, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def resource(self, resource_id: int) -> SensorResource | None:
        with self._db.reader() as s:
            return sensor_resource(s, resource_id)

    def resources(self, unit: str | None = None) -> list[SensorResource]:
        with self._db.reader() as s:
            return sensor_resources(s, unit)

    def register_resource(self, **fields: Any) -> SensorResource:
        """See ``register_sensor_resource``."""
        with self._db.session() as s:
            return register_sensor_resource(s, **fields)

    def write(self, batch: SensorBatch) -> BatchWritten:
        with self._db.session() as s:
            return write_batch(s, batch)

    def log_access(self, **entry: Any) -> None:
        """See ``record_access``."""
        with self._db.session() as s:
            record_access(s, **entry)

    def entities(
        self,
        unit: str,
        entity_type: str | None = None,
        limit: int | None = None,
        resource_id: int | None = None,
    ) -> list[EntityRow]:
        with self._db.reader() as s:
            return list_entities(s, unit, entity_type, limit, resource_id)

    def entity(self, unit: str, entity_id: str) -> EntityRow | None:
        with self._db.reader() as s:
            return get_entity(s, unit, entity_id)

    def types(self, unit: str) -> list[TypeSummary]:
        with self._db.reader() as s:
            return type_summary(s, unit)

    def attributes(self, unit: str, entity_id: str) -> dict[str, int]:
        with self._db.reader() as s:
            return attribute_counts(s, unit, entity_id)

    def series(
        self,
        unit: str,
        entity_id: str,
        attribute: str,
        start: int | None = None,
        end: int | None = None,
    ) -> pd.DataFrame:
        with self._db.reader() as s:
            return read_series(s, unit, entity_id, attribute, start, end)
