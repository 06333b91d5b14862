"""Catalogue rows for the sharing and data-access tests: one unit's resources of two
departments (open, conditional, unconditional, not shareable, draft, a sensor series) with
table rows and observations, written with Core inserts.

``seed_sharing`` returns the ids by role, so tests say ``seeded.conditional``, not ``3``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from cityloop.store import Database, Settings
from cityloop.store.models import (
    DataResource,
    Department,
    Observation,
    Region,
    ResourceRow,
    SensorEntity,
    table_of,
)
from tests.store.databases import BACKENDS, new_database_url

OWNER = "ecology_environment"  # owns every resource but the open one
ASKER = "transport"  # the web fixtures' officer's department; owns the open resource
CREATED = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
T0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded resources of one unit."""

    unit: str
    open: int  # ASKER's open table (published, unconditional, 开放)
    conditional: int  # OWNER's conditional table
    unconditional: int  # OWNER's unconditional, not open table
    not_shareable: int  # OWNER's 不予共享 table
    draft: int  # OWNER's unpublished conditional table
    sensor: int  # OWNER's conditional AirQualityObserved series


def resource(code: str, department: str, **overrides: Any) -> dict[str, Any]:
    """A published, conditional, closed table resource with ``overrides``."""
    row: dict[str, Any] = {
        "code": code, "department_code": department, "name_zh": f"资源{code}",
        "name_en": f"Resource {code}", "description": f"测试资源 {code}",
        "classification": "department",
        "fields": [{"name": "district", "label_zh": "区", "type": "string"},
                   {"name": "count", "label_zh": "数量", "type": "integer"}],
        "update_frequency": "daily", "format": "csv", "sharing_type": "conditional",
        "sharing_condition": "仅用于政务", "sharing_method": "api", "not_shared_reason": "",
        "open_type": "closed", "open_condition": "", "licence": "", "keywords": ["测试"],
        "entity_type": None, "api_url": "", "status": "published", "created_by": "test",
        "created_at": CREATED, "updated_at": CREATED, "data_updated_at": None,
    }  # fmt: skip
    return {**row, **overrides}


def ensure_unit(db: Database, unit: str) -> None:
    """The region ``unit`` (a city) and both departments, added when missing."""
    with db.transaction() as conn:
        if conn.execute(select(Region.code).where(Region.code == unit)).first() is None:
            row = {"code": unit, "name_zh": f"测试市{unit}", "name_en": f"Test {unit}",
                   "level": "city", "parent_code": None}  # fmt: skip
            conn.execute(insert(table_of(Region)), [row])
        known = set(conn.execute(select(Department.code)).scalars())
        new = [{"code": d, "name_zh": f"{d}局", "name_en": d} for d in (OWNER, ASKER)]
        new = [d for d in new if d["code"] not in known]
        if new:
            conn.execute(insert(table_of(Department)), new)


def rows_of(count: int) -> list[dict[str, Any]]:
    """Table rows: districts 区1… with counts 10, 20, …"""
    return [{"district": f"区{i}", "count": 10 * i} for i in range(1, count + 1)]


def seed_sharing(db: Database, unit: str, *, prefix: str = "A", table_rows: int = 25) -> Seeded:
    """Write the six resources of ``unit`` (codes ``<prefix>1…``), their rows and a sensor."""
    ensure_unit(db, unit)
    specs = [
        resource(f"{prefix}1", ASKER, sharing_type="unconditional", sharing_condition="",
                 open_type="open", licence="CC-BY-4.0", keywords=["交通", "开放"]),
        resource(f"{prefix}2", OWNER),
        resource(f"{prefix}3", OWNER, sharing_type="unconditional", sharing_condition=""),
        resource(f"{prefix}4", OWNER, sharing_type="none", sharing_condition="",
                 sharing_method="", not_shared_reason="涉密"),
        resource(f"{prefix}5", OWNER, status="draft"),
        resource(f"{prefix}6", OWNER, entity_type="AirQualityObserved", fields=[]),
    ]  # fmt: skip
    resources = table_of(DataResource)
    with db.transaction() as conn:
        ids = [
            int(i)
            for i in conn.execute(
                insert(resources).returning(resources.c.id, sort_by_parameter_order=True),
                [{**r, "unit_code": unit} for r in specs],
            ).scalars()
        ]
        table = [
            {"resource_id": rid, "row_no": n, "data": row}
            for rid in ids[:5]
            for n, row in enumerate(rows_of(table_rows), start=1)
        ]
        conn.execute(insert(table_of(ResourceRow)), table)
        entities = table_of(SensorEntity)
        keys = [
            int(k)
            for k in conn.execute(
                insert(entities).returning(entities.c.key, sort_by_parameter_order=True),
                [
                    {
                        "unit_code": unit,
                        "entity_id": f"urn:ngsi-ld:AirQualityObserved:{unit}-{n}",
                        "entity_type": "AirQualityObserved",
                        "resource_id": ids[5],
                        "longitude": None,
                        "latitude": None,
                        "latest": {},
                        "created_at": CREATED,
                        "updated_at": CREATED,
                    }
                    for n in (1, 2)
                ],
            ).scalars()
        ]
        observations = [
            {
                "entity_key": key,
                "attribute": attribute,
                "observed_at": T0 + 3600 * h,
                "value": float(h + 10 * n),
                "text": None,
            }
            for n, key in enumerate(keys)
            for attribute in ("pm25", "no2")
            for h in range(6)
        ]
        conn.execute(insert(table_of(Observation)), observations)
    return Seeded(unit, *ids)


_units = itertools.count(1)


def fresh_unit() -> str:
    """A unit code no other test of the module has used (tests share one database)."""
    return f"98{next(_units):04d}"


@pytest.fixture(scope="module", params=BACKENDS)
def sharing_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One migrated database per backend for a whole module: migrating costs seconds, so the
    tests share it and keep apart by seeding their own unit (``fresh_unit``)."""
    folder = tmp_path_factory.mktemp(f"sharing-{request.param}")
    for url in new_database_url(str(request.param), folder):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        yield db
        db.dispose()
