"""Put the SYNTHETIC demo sensors into a city: register one catalogue resource per entity type
and send the generated payloads through the real ingest path (``sensor_ingest.ingest``).

A city that already has sensor entities is left as it is, so running it again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from cityloop.demo.sensors import DEMO_SENSOR_SEED, DemoSensors, Fleet, demo_window
from cityloop.services.sensor_ingest import ingest
from cityloop.store import Database
from cityloop.store.audit import utc_now
from cityloop.store.sensors import SensorResource

# Entity type → (resource code, owning department, Chinese name, English name).
DEMO_RESOURCES = {
    "AirQualityObserved": ("IOT-AQ", "ecology_environment", "空气质量监测站实时数据",
                           "Air quality stations (real time)"),
    "TrafficFlowObserved": ("IOT-TRAFFIC", "transport", "道路交通流量实时数据",
                            "Road traffic flow (real time)"),
    "ParkingSpot": ("IOT-PARKING", "transport", "路内泊位状态实时数据",
                    "On-street parking spots (real time)"),
    "Streetlight": ("IOT-LIGHTS", "urban_management", "智慧路灯运行状态",
                    "Smart street lights"),
    "WasteContainer": ("IOT-WASTE", "urban_management", "垃圾箱满溢监测",
                       "Waste container filling levels"),
}  # fmt: skip
DEMO_FLEET = Fleet()
DEMO_DAYS = 14  # what the demo site loads at startup; benchmarks and derived tests use more


@dataclass(frozen=True)
class DemoSensorsLoaded:
    """What the demo load did: the resources (by type), entities and observations stored."""

    resources: dict[str, SensorResource]
    entities: int
    observations: int
    skipped: bool


def register_demo_resources(db: Database, unit: str, actor: str) -> dict[str, SensorResource]:
    """The unit's sensor resource of each demo type: the first one the catalogue already has
    (the demo catalogue registers them), else one added from ``DEMO_RESOURCES``."""
    existing: dict[str, SensorResource] = {}
    for resource in db.sensors.resources(unit):
        existing.setdefault(resource.entity_type, resource)
    return {
        kind: existing.get(kind)
        or db.sensors.register_resource(
            unit=unit, code=code, department=department, entity_type=kind,
            name_zh=name_zh, name_en=name_en, actor=actor,
        )
        for kind, (code, department, name_zh, name_en) in DEMO_RESOURCES.items()
    }  # fmt: skip


def load_demo_sensors(
    db: Database,
    unit: str,
    *,
    actor: str,
    days: int = DEMO_DAYS,
    end: datetime | None = None,
    fleet: Fleet = DEMO_FLEET,
    seed: int = DEMO_SENSOR_SEED,
) -> DemoSensorsLoaded:
    """Load ``days`` days of hourly SYNTHETIC sensor data up to ``end`` (default: now) into
    ``unit``, unless the unit has sensor entities already."""
    resources = register_demo_resources(db, unit, actor)
    if db.sensors.types(unit):
        return DemoSensorsLoaded(resources, 0, 0, skipped=True)
    start, hours = demo_window(end or utc_now(), days)
    entities = observations = 0
    for kind, batch in DemoSensors(unit, start, hours, fleet=fleet, seed=seed).payloads():
        outcome = ingest(
            db, json.dumps(batch).encode("utf-8"), "application/ld+json", unit=unit,
            resource_id=resources[kind].id, actor=actor, client="demo",
        )  # fmt: skip
        entities += len(outcome.created)
        observations += outcome.observations
    return DemoSensorsLoaded(resources, entities, observations, skipped=False)
