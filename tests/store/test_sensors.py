"""Sensor entities and observations in the store, on SQLite and PostgreSQL: a batch is written
in one transaction, re-sending it changes no counts, and the reads see what was written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cityloop.datahub.ngsild import PayloadForm, parse_entities, read_entities
from cityloop.demo.sensors import DemoSensors, Fleet
from cityloop.store import Database
from cityloop.store.models import AccessEntry, DataResource, Observation, SensorEntity
from cityloop.store.sensors import SensorBatch, SensorResource
from tests.store.samples import Demo

START = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def sensor_db(db: Database, mini_demo: Demo) -> tuple[Database, str, SensorResource]:
    db.load_units(mini_demo.units, "test")
    from cityloop.frameworks import departments
    from cityloop.store.models import Department

    with db.session() as s:
        s.add_all(
            Department(code=c, name_zh=d["zh"], name_en=d.get("en", ""))
            for c, d in departments().items()
        )
    unit = str(mini_demo.units.codes[1])
    resource = db.sensors.register_resource(
        unit=unit, code="AQ", department="ecology_environment", entity_type="AirQualityObserved",
        name_zh="空气", name_en="Air", actor="test",
    )  # fmt: skip
    return db, unit, resource


def batch_of(unit: str, resource: SensorResource, hours: int = 6) -> SensorBatch:
    demo = DemoSensors(unit, START, hours, fleet=Fleet(stations=3))
    entities = list(demo.air_quality())
    raw = read_entities(json.dumps(entities).encode(), None, PayloadForm.BATCH)
    parsed = parse_entities(raw, received_at=START, allowed_type="AirQualityObserved")
    assert parsed.refusals == []
    return SensorBatch(unit, resource.id, parsed.entities, parsed.observations, "ngsi_upsert", 201)


def counts(db: Database) -> tuple[int, int, int]:
    with db.reader() as s:
        return (
            s.scalar(select(func.count()).select_from(SensorEntity)) or 0,
            s.scalar(select(func.count()).select_from(Observation)) or 0,
            s.scalar(select(func.count()).select_from(AccessEntry)) or 0,
        )


def test_a_batch_is_stored_and_resending_it_changes_no_counts(sensor_db: tuple) -> None:
    db, unit, resource = sensor_db
    batch = batch_of(unit, resource)
    first = db.sensors.write(batch)
    assert len(first.created) == 3 and first.updated == []
    assert first.observations == len(batch.observations) == 3 * 6 * 6  # 5 numbers + 1 level
    entities, observations, accesses = counts(db)
    assert (entities, observations, accesses) == (3, first.observations, 1)
    again = db.sensors.write(batch)
    assert again.created == [] and len(again.updated) == 3
    assert counts(db)[:2] == (entities, observations)  # only the access log grew
    with db.reader() as s:
        stamped = s.get(DataResource, resource.id)
        assert stamped is not None and stamped.data_updated_at is not None


def test_reads_see_the_latest_state_counts_and_series(sensor_db: tuple) -> None:
    db, unit, resource = sensor_db
    db.sensors.write(batch_of(unit, resource, hours=4))
    (summary,) = db.sensors.types(unit)
    assert (summary.entity_type, summary.entities, summary.observations) == (
        "AirQualityObserved", 3, 3 * 4 * 6,
    )  # fmt: skip
    last = int(START.timestamp()) + 3 * 3600
    assert summary.last_observed == last
    rows = db.sensors.entities(unit, "AirQualityObserved")
    assert [r.observations for r in rows] == [24, 24, 24]
    first = rows[0]
    assert first.latest["dateObserved"].startswith("2025-03-01T03:00")  # the last snapshot
    assert first.longitude is not None and first.latitude is not None
    series = db.sensors.series(unit, first.entity_id, "pm25")
    assert series["observed_at"].tolist() == [last - 3600 * k for k in (3, 2, 1, 0)]
    window = db.sensors.series(unit, first.entity_id, "pm25", last - 3600, last)
    assert len(window) == 2
    assert set(db.sensors.attributes(unit, first.entity_id)) == {
        "pm25", "pm10", "no2", "temperature", "airQualityIndex", "airQualityLevel",
    }  # fmt: skip
    levels = db.sensors.series(unit, first.entity_id, "airQualityLevel")
    assert levels["value"].isna().all() and levels["text"].notna().all()
    assert db.sensors.entity(unit, "nobody") is None
    assert db.sensors.entities("other-unit") == []
