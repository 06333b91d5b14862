"""Read stored sensor data: NGSI-LD representations for key holders (latest state, temporal
series) and the sensors page's overview of a unit (types, entities, one attribute's series).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from cityloop.datahub.ngsild import to_normalized
from cityloop.store import Database
from cityloop.store.keys import KeyGrant
from cityloop.store.sensors import EntityRow, TypeSummary

DAY = 86_400
MAX_LIMIT = 1000  # NGSI-LD query page size cap
PAGE_ENTITIES = 50  # entities listed on the sensors page


def iso(seconds: int | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC date-time (``…Z``)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ngsi_entities(
    db: Database,
    grant: KeyGrant,
    *,
    entity_type: str | None = None,
    limit: int = 20,
    key_values: bool = False,
) -> list[dict[str, Any]]:
    """The latest state of the entities of the key's resource (NGSI-LD ``GET /entities``)."""
    rows = db.sensors.entities(
        grant.unit, entity_type, min(max(limit, 1), MAX_LIMIT), resource_id=grant.resource_id
    )
    db.sensors.log_access(
        resource_id=grant.resource_id, operation="ngsi_query", status=200, rows=len(rows),
        actor=f"key#{grant.key_id}", key_id=grant.key_id, department=grant.department,
    )  # fmt: skip
    return [r.latest if key_values else to_normalized(r.latest) for r in rows]


def temporal_entity(
    db: Database,
    grant: KeyGrant,
    entity_id: str,
    *,
    attrs: list[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    temporal_values: bool = False,
) -> dict[str, Any] | None:
    """An entity of the key's resource in the NGSI-LD temporal representation; None if unknown.

    Each attribute is a list of instances ``{"type": "Property", "value", "observedAt"}``, or
    with ``temporal_values`` one ``{"type": "Property", "values": [[value, time], …]}``.
    """
    row = db.sensors.entity(grant.unit, entity_id)
    if row is None or row.resource_id != grant.resource_id:
        return None  # another resource's entity is as unknown to this key as a missing one
    names = attrs or list(db.sensors.attributes(grant.unit, entity_id))
    body: dict[str, Any] = {"id": row.entity_id, "type": row.entity_type}
    total = 0
    for name in names:
        series = db.sensors.series(grant.unit, entity_id, name, start, end)
        if series.empty:
            continue
        total += len(series)
        values = series["value"].astype(object).where(series["value"].notna(), series["text"])
        times = [iso(int(s)) for s in series["observed_at"]]
        if temporal_values:
            pairs = [[v, when] for v, when in zip(values.tolist(), times, strict=True)]
            body[name] = {"type": "Property", "values": pairs}
        else:
            body[name] = [
                {"type": "Property", "value": v, "observedAt": when}
                for v, when in zip(values.tolist(), times, strict=True)
            ]
    db.sensors.log_access(
        resource_id=grant.resource_id, operation="ngsi_temporal", status=200, rows=total,
        actor=f"key#{grant.key_id}", key_id=grant.key_id, department=grant.department,
    )  # fmt: skip
    return body


@dataclass(frozen=True)
class SensorOverview:
    """The sensors page of one unit: its types, the chosen type's entities, the chosen entity's
    attributes and the chosen attribute's last ``days`` days up to its last observation."""

    unit: str
    types: list[TypeSummary]
    entity_type: str | None
    entities: list[EntityRow]
    entity: EntityRow | None
    attributes: dict[str, int]
    attribute: str | None
    days: int
    series: pd.DataFrame  # observed_at (Unix seconds), value, text

    def chart(self) -> dict[str, Any]:
        """The series as the ECharts builder ``sensorSeries`` reads it."""
        numeric = self.series["value"].notna().any()
        column = "value" if numeric else "text"
        points = [
            [int(s) * 1000, v if numeric else str(v)]
            for s, v in zip(self.series["observed_at"], self.series[column], strict=True)
        ]
        return {
            "entity": self.entity.entity_id if self.entity else "",
            "attribute": self.attribute or "",
            "numeric": bool(numeric),
            "points": points,
        }


def sensor_overview(
    db: Database,
    unit: str,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    attribute: str | None = None,
    days: int = 7,
) -> SensorOverview:
    """What the sensors page shows; each choice left out falls to the first one there is."""
    types = db.sensors.types(unit)
    known = [s.entity_type for s in types]
    kind = entity_type if entity_type in known else (known[0] if known else None)
    entities = db.sensors.entities(unit, kind, PAGE_ENTITIES) if kind else []
    entity = next((e for e in entities if e.entity_id == entity_id), None)
    if entity is None and entity_id is not None:
        found = db.sensors.entity(unit, entity_id)
        entity = found if found is not None and found.entity_type == kind else None
    entity = entity or (entities[0] if entities else None)
    attributes = db.sensors.attributes(unit, entity.entity_id) if entity else {}
    chosen = attribute if attribute in attributes else next(iter(attributes), None)
    series = pd.DataFrame({"observed_at": [], "value": [], "text": []})
    if entity is not None and chosen is not None and entity.last_observed is not None:
        start = entity.last_observed - days * DAY
        series = db.sensors.series(unit, entity.entity_id, chosen, start, entity.last_observed)
    return SensorOverview(unit, types, kind, entities, entity, attributes, chosen, days, series)
