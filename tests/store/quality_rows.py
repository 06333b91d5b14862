"""Data-hub rows for the data-quality tests, written with Core bulk inserts: a unit, departments,
resources, table rows, sensor entities and observations, probes, access-log rows, requests.

``seed_catalogue`` writes the small hand-worked catalogue whose figures the tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from cityloop.store import Database
from cityloop.store.models import (
    AccessEntry,
    DataResource,
    Department,
    Observation,
    Region,
    ResourceCheck,
    ResourceRow,
    SensorEntity,
    SharingRequest,
    table_of,
)

NOW = datetime(2026, 3, 13, 4, 0, tzinfo=UTC)  # a Friday, noon in China
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def resource(code: str, department: str, **overrides: Any) -> dict[str, Any]:
    """A complete catalogue row (a daily, shareable, open, published table) with overrides."""
    row: dict[str, Any] = {
        "code": code, "department_code": department, "name_zh": f"资源{code}",
        "name_en": f"Resource {code}", "description": "描述", "classification": "department",
        "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "number"}],
        "update_frequency": "daily", "format": "xlsx", "sharing_type": "unconditional",
        "sharing_condition": "", "sharing_method": "api", "not_shared_reason": "",
        "open_type": "open", "open_condition": "", "licence": "CC-BY-4.0", "keywords": ["k"],
        "entity_type": None, "api_url": "", "status": "published", "created_by": "test",
        "created_at": NOW - 90 * DAY, "updated_at": NOW - 90 * DAY, "data_updated_at": None,
    }  # fmt: skip
    return {**row, **overrides}


def ensure_unit(db: Database, unit: str, departments: Sequence[str]) -> None:
    """The region ``unit`` (a city) and the departments, added when missing."""
    with db.transaction() as conn:
        if conn.execute(select(Region.code).where(Region.code == unit)).first() is None:
            row = {"code": unit, "name_zh": f"测试市{unit}", "name_en": f"Test {unit}",
                   "level": "city", "parent_code": None}  # fmt: skip
            conn.execute(insert(table_of(Region)), [row])
        known = set(conn.execute(select(Department.code)).scalars())
        new = [
            {"code": d, "name_zh": f"{d}局", "name_en": d} for d in departments if d not in known
        ]
        if new:
            conn.execute(insert(table_of(Department)), new)


def add_resources(db: Database, unit: str, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert catalogue rows for ``unit``; return their ids in order."""
    table = table_of(DataResource)
    with db.transaction() as conn:
        found = conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [{**r, "unit_code": unit} for r in rows],
        )
        return [int(i) for i in found.scalars()]


def add(db: Database, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Bulk-insert ``rows`` into ``model``'s table."""
    if rows:
        with db.transaction() as conn:
            conn.execute(insert(table_of(model)), list(rows))


def add_entities(db: Database, unit: str, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert sensor entities of ``unit``; return their keys in order."""
    table = table_of(SensorEntity)
    full = [
        {"unit_code": unit, "longitude": None, "latitude": None, "latest": {},
         "created_at": NOW - 90 * DAY, "updated_at": NOW, "resource_id": None, **r}
        for r in rows
    ]  # fmt: skip
    with db.transaction() as conn:
        found = conn.execute(
            insert(table).returning(table.c.key, sort_by_parameter_order=True), full
        )
        return [int(k) for k in found.scalars()]


def hourly(
    entity: int, start: datetime, hours: int, attribute: str = "occupancy"
) -> list[dict[str, Any]]:
    """One observation an hour for ``hours`` hours from ``start``."""
    first = int(start.timestamp())
    return [
        {"entity_key": entity, "attribute": attribute, "observed_at": first + 3600 * h,
         "value": float(h % 2), "text": None}
        for h in range(hours)
    ]  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    """Ids of the hand-worked catalogue: transport's table and sensor resources, health's."""

    unit: str
    table: int
    sensor: int
    health: int


def seed_catalogue(db: Database, unit: str, *, now: datetime = NOW) -> Seeded:
    """The hand-worked catalogue (figures in tests/datahub/test_quality.py and the docs):

    transport · table (daily, 2 rows, 3 of 4 cells filled, updated 2 h ago, endpoint probed
    4 times with 3 ok and the last ok, hub API 4 calls with one 500) · sensor (realtime, 2
    entities, one reporting every hour of the window, one silent; conditional, closed);
    health · table (monthly, not shared, draft, no rows, updated 60 days ago).
    Requests for transport's table: approved in 2 working days, refused in 8, pending for 10
    days, withdrawn.
    """
    ensure_unit(db, unit, ["transport", "health"])
    table_id, sensor_id, health_id = add_resources(db, unit, [
        resource("T1", "transport", data_updated_at=now - 2 * HOUR,
                 api_url="http://127.0.0.1:9/t1"),
        resource("T2", "transport", entity_type="ParkingSpot", update_frequency="realtime",
                 sharing_type="conditional", sharing_condition="仅限交通管理",
                 open_type="closed", fields=[]),
        resource("H1", "health", update_frequency="monthly", sharing_type="none",
                 not_shared_reason="涉及个人隐私", open_type="closed", status="draft",
                 fields=[{"name": "x", "type": "string"}], data_updated_at=now - 60 * DAY),
    ])  # fmt: skip
    add(db, ResourceRow, [
        {"resource_id": table_id, "row_no": 1, "data": {"a": "1", "b": 2}},
        {"resource_id": table_id, "row_no": 2, "data": {"a": "1", "b": "", "extra": "x"}},
    ])  # fmt: skip
    full, _silent = add_entities(db, unit, [
        {"entity_id": "urn:ngsi-ld:ParkingSpot:1", "entity_type": "ParkingSpot",
         "resource_id": sensor_id},
        {"entity_id": "urn:ngsi-ld:ParkingSpot:2", "entity_type": "ParkingSpot"},
    ])  # fmt: skip
    add(db, Observation, hourly(full, now - 30 * DAY, 30 * 24))
    add(db, ResourceCheck, [
        {"resource_id": table_id, "at": now - (4 - i) * HOUR, "ok": ok,
         "latency_ms": 20.0 + i, "detail": "HTTP 200" if ok else "HTTP 500"}
        for i, ok in enumerate([True, False, True, True])
    ])  # fmt: skip
    add(db, AccessEntry, [
        {"at": now - i * HOUR, "resource_id": table_id, "operation": "datastore_search",
         "status": status, "rows": 1}
        for i, status in enumerate([200, 200, 403, 500], start=1)
    ])  # fmt: skip
    asked = now - 12 * DAY  # Sunday 1 March (China), so working days start Monday
    add(db, SharingRequest, [
        _request(table_id, "approved", asked, asked + 3 * DAY),  # Wednesday: 2 working days
        _request(table_id, "refused", asked, asked + 11 * DAY),  # next Thursday: 8
        _request(table_id, "pending", now - 10 * DAY, None),
        _request(table_id, "withdrawn", asked, None),
    ])  # fmt: skip
    return Seeded(unit, table_id, sensor_id, health_id)


def _request(
    resource_id: int, status: str, asked: datetime, decided: datetime | None
) -> dict[str, Any]:
    return {
        "resource_id": resource_id, "requester_department": "health", "purpose": "测试",
        "requested_by": "test", "requested_at": asked, "status": status,
        "decided_by": None if decided is None else "test", "decided_at": decided,
        "decision_reason": "",
    }  # fmt: skip
