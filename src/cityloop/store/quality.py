"""Aggregates of the data hub's tables for the data-quality dashboard, computed in SQL, and the
record of endpoint probes: ``db.quality`` (a ``QualityStore``).

Observations, access-log rows and table rows are counted by the database (GROUP BY resource
or entity); only per-resource and per-entity sums ever reach Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import (
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)

from cityloop.store.models import (
    AccessEntry,
    DataResource,
    Department,
    Observation,
    ResourceCheck,
    SensorEntity,
    SharingRequest,
    UTCDateTime,
    table_of,
)

if TYPE_CHECKING:
    from cityloop.store.database import Database

RESOURCE_COLUMNS = (
    "id", "code", "name_zh", "name_en", "description", "classification", "fields",
    "update_frequency", "format", "sharing_type", "sharing_condition", "sharing_method",
    "not_shared_reason", "open_type", "open_condition", "licence", "keywords", "entity_type",
    "api_url", "status", "data_updated_at",
)  # fmt: skip

# Filled declared cells of a unit's table resources. The JSON functions differ by dialect;
# the query is the same: declared field names × the keys of each row's object, non-blank.
_CELLS = {
    "sqlite": """
WITH decl AS (
  SELECT DISTINCT d.id AS resource_id, json_extract(f.value, '$.name') AS name
  FROM data_resources d JOIN json_each(d.fields) f
  WHERE d.unit_code = :unit AND d.entity_type IS NULL AND d.created_at <= :at
), cells AS (
  SELECT r.resource_id, COUNT(*) AS n
  FROM resource_rows r JOIN json_each(r.data) c
  JOIN decl ON decl.resource_id = r.resource_id AND decl.name = c.key
  WHERE c.value IS NOT NULL AND TRIM(CAST(c.value AS TEXT)) <> ''
  GROUP BY r.resource_id
)""",
    "postgresql": """
WITH decl AS (
  SELECT DISTINCT d.id AS resource_id, f.value ->> 'name' AS name
  FROM data_resources d CROSS JOIN LATERAL json_array_elements(d.fields) f
  WHERE d.unit_code = :unit AND d.entity_type IS NULL AND d.created_at <= :at
), cells AS (
  SELECT r.resource_id, COUNT(*) AS n
  FROM resource_rows r CROSS JOIN LATERAL json_each_text(r.data) c
  JOIN decl ON decl.resource_id = r.resource_id AND decl.name = c.key
  WHERE c.value IS NOT NULL AND TRIM(c.value) <> ''
  GROUP BY r.resource_id
)""",
}
_CELLS_SELECT = """
, stored AS (
  SELECT r.resource_id, COUNT(*) AS n FROM resource_rows r
  WHERE r.resource_id IN (SELECT resource_id FROM decl) GROUP BY r.resource_id
)
SELECT decl.resource_id, COUNT(*) AS declared,
       COALESCE(MAX(stored.n), 0) AS "rows", COALESCE(MAX(cells.n), 0) AS filled
FROM decl LEFT JOIN stored ON stored.resource_id = decl.resource_id
LEFT JOIN cells ON cells.resource_id = decl.resource_id
GROUP BY decl.resource_id
"""


@dataclass(frozen=True)
class Window:
    """The unit and the time window ``[start, end)`` an aggregate looks at."""

    unit: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> tuple[int, int]:
        """``start`` and ``end`` as Unix seconds (observations keep time that way)."""
        return int(self.start.timestamp()), int(self.end.timestamp())


@dataclass(frozen=True)
class NewCheck:
    """One probe result to record."""

    resource_id: int
    at: datetime
    ok: bool
    latency_ms: float | None
    detail: str


class QualityStore:
    """Read-only aggregates for the dashboard, plus writing probe results."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def units_with_resources(self) -> list[str]:
        """Codes of the units whose catalogue has at least one resource."""
        query = select(DataResource.unit_code).distinct().order_by(DataResource.unit_code)
        with self.db.reader() as s:
            return [str(code) for code in s.scalars(query)]

    def departments(self) -> pd.DataFrame:
        """Department names by code: ``name_zh``, ``name_en``."""
        query = select(Department.code, Department.name_zh, Department.name_en)
        return self._frame(query, {}, ["code", "name_zh", "name_en"]).set_index("code")

    def resources(self, window: Window) -> pd.DataFrame:
        """The unit's resources registered by the window's end, indexed by id, with the
        catalogue columns and ``department``."""
        columns = [getattr(DataResource, c) for c in RESOURCE_COLUMNS]
        query = select(*columns, DataResource.department_code.label("department")).where(
            DataResource.unit_code == window.unit, DataResource.created_at <= window.end
        )
        names = [*RESOURCE_COLUMNS, "department"]
        frame = self._frame(query.order_by(DataResource.id), {}, names).set_index("id")
        frame["data_updated_at"] = pd.to_datetime(frame["data_updated_at"], utc=True)
        return frame

    def table_cells(self, window: Window) -> pd.DataFrame:
        """Per table resource (index: id): ``declared`` fields, stored ``rows`` and ``filled``
        (non-blank cells of declared fields)."""
        at = bindparam("at", window.end, type_=UTCDateTime())
        with self.db.reader() as s:
            sql = text(_CELLS[s.get_bind().dialect.name] + _CELLS_SELECT).bindparams(at)
            found = s.execute(sql, {"unit": window.unit}).all()
        frame = pd.DataFrame(found, columns=["resource_id", "declared", "rows", "filled"])
        return frame.astype(int).set_index("resource_id")

    def sensor_readings(self, window: Window, period_seconds: Mapping[str, int]) -> pd.DataFrame:
        """Per (sensor resource, entity): ``periods`` (distinct periods of the resource's
        frequency with an observation in the window; ``irregular``: the whole window is one
        period) and ``last_observed`` (Unix seconds, NaN without one)."""
        start, end = window.seconds
        period = case(
            *((DataResource.update_frequency == k, literal(v)) for k, v in period_seconds.items()),
            else_=literal(max(end - start, 1)),
        )
        bucket = (Observation.observed_at - start) // period
        belongs = or_(
            SensorEntity.resource_id == DataResource.id,
            and_(
                SensorEntity.resource_id.is_(None),
                SensorEntity.entity_type == DataResource.entity_type,
                SensorEntity.unit_code == DataResource.unit_code,
            ),
        )
        query = (
            select(
                DataResource.id,
                SensorEntity.key,
                func.count(func.distinct(bucket)),
                func.max(Observation.observed_at),
            )
            .join(SensorEntity, belongs)
            .outerjoin(
                Observation,
                and_(
                    Observation.entity_key == SensorEntity.key,
                    Observation.observed_at >= start,
                    Observation.observed_at < end,
                ),
            )
            .where(
                DataResource.unit_code == window.unit,
                DataResource.entity_type.is_not(None),
                DataResource.created_at <= window.end,
            )
            .group_by(DataResource.id, SensorEntity.key)
        )
        names = ["resource_id", "entity_key", "periods", "last_observed"]
        frame = self._frame(query, {}, names)
        return frame.astype({"periods": int, "last_observed": float})

    def checks(self, window: Window) -> pd.DataFrame:
        """Probes in the window per resource (index: id): ``probes``, ``ok_probes``,
        ``latency_ms`` (mean), and the latest probe's ``last_ok``, ``last_detail``, ``last_at``."""
        c = ResourceCheck
        in_window = and_(
            c.resource_id == DataResource.id,
            DataResource.unit_code == window.unit,
            c.at >= window.start,
            c.at < window.end,
        )
        sums = (
            select(
                c.resource_id,
                func.count(),
                func.sum(case((c.ok, 1), else_=0)),
                func.avg(c.latency_ms),
                func.max(c.at).label("last_at"),
            )
            .join(DataResource, in_window)
            .group_by(c.resource_id)
        )
        names = ["resource_id", "probes", "ok_probes", "latency_ms", "last_at"]
        frame = self._frame(sums, {}, names).set_index("resource_id")
        latest = sums.subquery()
        last = select(c.resource_id, c.id, c.ok, c.detail).join(
            latest, and_(latest.c.resource_id == c.resource_id, latest.c.last_at == c.at)
        )
        tail = self._frame(last, {}, ["resource_id", "id", "last_ok", "last_detail"])
        tail = tail.sort_values("id").drop_duplicates("resource_id", keep="last")
        frame = frame.join(tail.set_index("resource_id")[["last_ok", "last_detail"]])
        return frame.astype({"probes": int, "ok_probes": int, "latency_ms": float})

    def access(self, window: Window) -> pd.DataFrame:
        """The hub's API calls on each resource in the window (index: id): ``requests`` and
        ``served`` (answered with a status below 500)."""
        a = AccessEntry
        query = (
            select(a.resource_id, func.count(), func.sum(case((a.status < 500, 1), else_=0)))
            .join(DataResource, a.resource_id == DataResource.id)
            .where(DataResource.unit_code == window.unit, a.at >= window.start, a.at < window.end)
            .group_by(a.resource_id)
        )
        frame = self._frame(query, {}, ["resource_id", "requests", "served"])
        return frame.astype(int).set_index("resource_id")

    def sharing_requests(self, window: Window) -> pd.DataFrame:
        """Requests for the unit's resources asked in the window: ``department`` (the owner),
        ``status``, ``requested_at``, ``decided_at`` (a few hundred a month: rows, not sums)."""
        r = SharingRequest
        query = (
            select(r.id, DataResource.department_code, r.status, r.requested_at, r.decided_at)
            .join(DataResource, r.resource_id == DataResource.id)
            .where(
                DataResource.unit_code == window.unit,
                r.requested_at >= window.start,
                r.requested_at < window.end,
            )
        )
        names = ["id", "department", "status", "requested_at", "decided_at"]
        frame = self._frame(query, {}, names)
        frame["status"] = frame["status"].astype(str)
        return frame

    def endpoints(self, unit: str) -> list[tuple[int, str]]:
        """(resource id, api_url) of the unit's resources that name a service endpoint."""
        query = (
            select(DataResource.id, DataResource.api_url)
            .where(DataResource.unit_code == unit, DataResource.api_url != "")
            .order_by(DataResource.id)
        )
        with self.db.reader() as s:
            return [(int(i), str(u)) for i, u in s.execute(query).all()]

    def check_count(self, unit: str) -> int:
        """How many probe results the unit's resources have."""
        query = (
            select(func.count())
            .select_from(ResourceCheck)
            .join(DataResource, ResourceCheck.resource_id == DataResource.id)
            .where(DataResource.unit_code == unit)
        )
        with self.db.reader() as s:
            return int(s.execute(query).scalar_one())

    def record_checks(self, checks: Sequence[NewCheck]) -> int:
        """Store probe results in one transaction; return how many."""
        if not checks:
            return 0
        rows = [
            {"resource_id": c.resource_id, "at": c.at, "ok": c.ok,
             "latency_ms": c.latency_ms, "detail": c.detail[:300]}
            for c in checks
        ]  # fmt: skip
        with self.db.transaction() as conn:
            conn.execute(insert(table_of(ResourceCheck)), rows)
        return len(rows)

    def _frame(self, query: Any, params: dict[str, Any], names: list[str]) -> pd.DataFrame:
        with self.db.reader() as s:
            return pd.DataFrame(s.execute(query, params).all(), columns=names)
