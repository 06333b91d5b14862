"""Sensor entities and observations for tests and benchmarks, bulk-inserted with Core.

Independent of the NGSI-LD ingest: the derived-indicator tests need rows, not payloads.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from cityloop.store import Database
from cityloop.store.audit import utc_now
from cityloop.store.bulk import as_list, insert_rows
from cityloop.store.models import Observation, SensorEntity, table_of


def add_readings(db: Database, unit: str, entity_type: str, readings: pd.DataFrame) -> int:
    """Store ``readings`` (``entity_id, attribute, observed_at`` and ``value`` and/or ``text``)
    of ``entity_type`` entities in ``unit``, adding the entities; return the rows stored."""
    ids = sorted(set(readings["entity_id"].astype(str)))
    now = utc_now()
    with db.transaction() as conn:
        first = int(conn.execute(select(func.coalesce(func.max(SensorEntity.key), 0))).scalar_one())
        keys = {entity: first + 1 + i for i, entity in enumerate(ids)}
        insert_rows(
            conn,
            table_of(SensorEntity),
            {"key": list(keys.values()), "entity_id": ids},
            {"unit_code": unit, "entity_type": entity_type, "latest": {}}
            | {"created_at": now, "updated_at": now},
        )
        value = readings["value"] if "value" in readings else pd.Series([None] * len(readings))
        text = readings["text"] if "text" in readings else pd.Series([None] * len(readings))
        return insert_rows(
            conn,
            table_of(Observation),
            {
                "entity_key": [keys[str(e)] for e in readings["entity_id"]],
                "attribute": readings["attribute"].astype(str).tolist(),
                "observed_at": readings["observed_at"].astype("int64").tolist(),
                "value": as_list(value.reset_index(drop=True)),
                "text": as_list(text.reset_index(drop=True)),
            },
        )
