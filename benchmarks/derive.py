"""Benchmark: time to compute the derived indicators of one city over a year of ~1,000,000
SYNTHETIC sensor observations (fixed seed), on SQLite or PostgreSQL.

Run: .venv/bin/python benchmarks/derive.py [--url URL] [--scale 1.0]
The observations are bulk-inserted with Core (not through the NGSI-LD ingest) and are labelled
synthetic: they test speed, not air quality. Figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from cityloop.datahub.units import build_units
from cityloop.demo.generator import generate_demo
from cityloop.frameworks import load_framework
from cityloop.services import derived
from cityloop.store import Database, Settings
from cityloop.store.audit import utc_now
from cityloop.store.bulk import insert_rows
from cityloop.store.models import Observation, SensorEntity, table_of

FRAMEWORK = "cityloop-operations-2026"
YEAR = 2025
SEED = 20260
HOUR = 3600
# entity type, attribute, entities, seconds between readings: 20 + 50 + 40 stations hourly and
# 100 lamps daily = 175,200 + 438,000 + 350,400 + 36,500 = 1,000,100 readings a year.
SERIES = (
    ("AirQualityObserved", "pm25", 20, HOUR),
    ("TrafficFlowObserved", "averageVehicleSpeed", 50, HOUR),
    ("ParkingSpot", "status", 40, HOUR),
    ("Streetlight", "status", 100, 24 * HOUR),
)


def fill(db: Database, city: str, scale: float) -> int:
    """Insert the synthetic year for ``city``; return the number of observations."""
    rng = np.random.default_rng(SEED)
    start = derived.year_window(YEAR, "Asia/Shanghai").start
    now, key, total = utc_now(), 0, 0
    with db.transaction() as conn:
        for entity_type, attribute, count, step in SERIES:
            n_entities = max(1, round(count * scale))
            keys = list(range(key + 1, key + 1 + n_entities))
            key += n_entities
            insert_rows(
                conn, table_of(SensorEntity),
                {"key": keys, "entity_id": [f"urn:ngsi-ld:{entity_type}:{k}" for k in keys]},
                {"unit_code": city, "entity_type": entity_type, "latest": {},
                 "created_at": now, "updated_at": now},
            )  # fmt: skip
            times = start + np.arange(0, 365 * 86400, step)
            entity = np.repeat(keys, len(times))
            stamp = np.tile(times, n_entities)
            if attribute == "status":
                states = (
                    ["ok", "defectiveLamp"]
                    if entity_type == "Streetlight"
                    else ["free", "occupied"]
                )
                text = rng.choice(states, len(stamp), p=[0.93, 0.07]).tolist()
                value: list[float | None] = [None] * len(stamp)
            else:
                text = [None] * len(stamp)
                value = rng.gamma(4, 15, len(stamp)).tolist()
            total += insert_rows(
                conn, table_of(Observation),
                {"entity_key": entity.tolist(), "attribute": [attribute] * len(stamp),
                 "observed_at": stamp.tolist(), "value": value, "text": text},
            )  # fmt: skip
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--scale", type=float, default=1.0, help="entities × this")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cityloop-derive-"))
    db = Database.open(Settings(database_url=args.url or f"sqlite:///{folder / 'bench.db'}"))
    db.upgrade()
    data = generate_demo([load_framework(FRAMEWORK)], n_cities=31, years=(YEAR,), seed=7)
    units = build_units(data.units)
    db.load_units(units, "bench")
    city = str(units.table.index[units.table["level"] == "city"][0])
    began = time.perf_counter()
    n = fill(db, city, args.scale)
    loaded = time.perf_counter() - began
    print(f"{n:,} synthetic observations stored in {loaded:.1f} s ({db.url})")
    metrics = {"sharing_ratio": 0.8, "completeness": 0.9, "timeliness": 0.7, "uptime": 0.99,
               "open_share": 0.4}  # fmt: skip
    for attempt in ("first (writes)", "again (unchanged)"):
        began = time.perf_counter()
        report = derived.derive(
            db, FRAMEWORK, [city], YEAR, actor="bench", metrics=lambda *_: metrics
        )
        took = time.perf_counter() - began
        print(f"derive {attempt}: {took:.2f} s, {len(report.values)} values, "
              f"{len(report.skipped)} skipped, {report.counts}")  # fmt: skip
    for v in report.values:
        print(
            f"  {v.indicator:<18} {v.value:>10.4g}  observations={v.provenance['observations']:,}"
        )
    db.dispose()


if __name__ == "__main__":
    main()
