"""Benchmark: NGSI-LD ingest of 1,000,000 observations in batches through the ingest service.

Each batch is one POST's payload: ``--entities`` AirQualityObserved stations (normalized
NGSI-LD, SYNTHETIC values) with ``--attributes`` numeric attributes each, one hour per batch.
Payloads are built before the clock starts; the clock covers ``sensor_ingest.ingest`` (parse,
validate, extract, one transaction per batch). Then, if ``cityloop.services.derived`` is there,
the time to compute the derived indicators of the first framework with formulas.

Run: .venv/bin/python benchmarks/ngsi_ingest.py [--observations 1000000] [--postgres URL]
     [--write-docs]   (appends/replaces the section in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from cityloop.services import sensor_ingest
from cityloop.services import store as store_service
from cityloop.store import Database, Settings
from survey_load import fresh_database  # benchmarks/ is sys.path[0] when run as a script

DOCS = Path(__file__).parent.parent / "docs" / "benchmarks.md"
SECTION = "## NGSI-LD sensor ingest — `benchmarks/ngsi_ingest.py`"
ATTRIBUTES = ("pm25", "pm10", "no2", "o3", "co", "so2", "temperature", "relativeHumidity",
              "windSpeed", "airQualityIndex", "precipitation", "reliability")  # fmt: skip
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    backend: str
    observations: int
    batches: int
    seconds: float
    cpu_seconds: float
    load: float
    size_mb: float | None
    derive_seconds: float | None
    derive_note: str


def payloads(n_batches: int, entities: int, attributes: int, seed: int = 7) -> list[bytes]:
    """One normalized NGSI-LD batch per hour: ``entities`` stations × ``attributes`` numbers."""
    rng = np.random.default_rng(seed)
    names = ATTRIBUTES[:attributes]
    coords = rng.normal((113.26, 23.13), 0.05, (entities, 2)).round(6).tolist()
    out = []
    for b in range(n_batches):
        at = datetime.fromtimestamp(START.timestamp() + 3600 * b, UTC).isoformat()[:19] + "Z"
        values = rng.gamma(4, 10, (entities, attributes)).round(2)
        values[:, names.index("airQualityIndex") if "airQualityIndex" in names else 0] //= 1
        if "relativeHumidity" in names:
            values[:, names.index("relativeHumidity")] = rng.random(entities).round(3)
        if "reliability" in names:
            values[:, names.index("reliability")] = rng.random(entities).round(3)
        batch: list[dict[str, Any]] = []
        for i in range(entities):
            entity: dict[str, Any] = {
                "id": f"urn:ngsi-ld:AirQualityObserved:bench-{i:05d}",
                "type": "AirQualityObserved",
                "dateObserved": {"type": "Property", "value": at},
                "location": {"type": "GeoProperty",
                             "value": {"type": "Point", "coordinates": coords[i]}},
            }  # fmt: skip
            for k, name in enumerate(names):
                v = values[i, k]
                entity[name] = {"type": "Property", "value": int(v) if name == "airQualityIndex"
                                else float(v), "observedAt": at}  # fmt: skip
            batch.append(entity)
        out.append(json.dumps(batch).encode())
    return out


def prepare(url: str) -> tuple[Database, str, int]:
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    store_service.load_demo(db, n_cities=31, user="bench")
    units = db.units()
    assert units is not None
    table = units.table
    unit = str(sorted(table.index[table["level"] == "city"])[0])
    resource = db.sensors.register_resource(
        unit=unit, code="BENCH-AQ", department="ecology_environment",
        entity_type="AirQualityObserved", name_zh="基准测试", name_en="Benchmark", actor="bench",
    )  # fmt: skip
    return db, unit, resource.id


def derive_time(db: Database, unit: str) -> tuple[float | None, str]:
    """Seconds to compute the first framework's derived indicators for ``unit`` in 2025."""
    try:
        from cityloop.services import derived
    except ImportError:
        return None, "cityloop.services.derived is not there"
    frameworks = derived.frameworks_with_formulas()
    if not frameworks:
        return None, "no framework has formulas"
    fw = frameworks[0]
    db.register_framework(fw, "bench")
    began = time.perf_counter()
    report = derived.derive(db, fw.id, [unit], START.year, actor="bench")
    return time.perf_counter() - began, f"{fw.id}: {len(report.values)} values"


def run(url: str, backend: str, n_obs: int, entities: int, attributes: int) -> Result:
    per_batch = entities * attributes
    n_batches = max(1, n_obs // per_batch)
    print(f"[{backend}] building {n_batches} payloads of {per_batch} observations …", flush=True)
    bodies = payloads(n_batches, entities, attributes)
    db, unit, resource_id = prepare(url)
    sensor_ingest.ingest(db, bodies[0], None, unit=unit, resource_id=resource_id, actor="bench")
    written = 0
    began, cpu_began = time.perf_counter(), time.process_time()
    for body in bodies[1:]:
        outcome = sensor_ingest.ingest(
            db, body, "application/ld+json", unit=unit, resource_id=resource_id, actor="bench"
        )
        assert not outcome.refusals, outcome.refusals[:1]
        written += outcome.observations
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    load = os.getloadavg()[0]
    size = None
    if backend == "sqlite":
        path = Path(db.engine.url.database or "")
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    else:
        with db.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            size = size / 1e6
    derive_seconds, note = derive_time(db, unit)
    db.dispose()
    return Result(backend, written, n_batches - 1, seconds, cpu, load, size, derive_seconds, note)


def table(results: list[Result], entities: int, attributes: int) -> str:
    lines = [
        "| backend | observations | batches | seconds | observations/s | batches/s | "
        "observations per CPU-second | load average | database size | derived indicators |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        derive = f"{r.derive_seconds:.2f} s ({r.derive_note})" if r.derive_seconds is not None \
            else f"not measured: {r.derive_note}"  # fmt: skip
        size = f"{r.size_mb:,.0f} MB" if r.size_mb is not None else "—"
        lines.append(
            f"| {r.backend} | {r.observations:,} | {r.batches:,} | {r.seconds:.1f} | "
            f"**{r.observations / r.seconds:,.0f}** | {r.batches / r.seconds:.1f} | "
            f"{r.observations / r.cpu_seconds:,.0f} | {r.load:.1f} | {size} | {derive} |"
        )
    return "\n".join(lines)


def write_docs(body: str, entities: int, attributes: int) -> None:
    cpu = os.cpu_count()
    section = (
        f"{SECTION}\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {cpu} cores, "
        f"Python {platform.python_version()}. Each batch is one payload of {entities:,} "
        f"normalized AirQualityObserved entities × {attributes} numeric attributes "
        f"({entities * attributes:,} observations), ingested by `sensor_ingest.ingest`: JSON "
        "parse, per-entity Smart Data Models schema validation (fastjsonschema), extraction, "
        "then one transaction (entity upsert, observation upsert ON CONFLICT, access log). "
        "The first batch (schema compilation, new entities) is not timed. Target: ≥ 20,000 "
        "observations/s on SQLite. *Observations per CPU-second* is what one core gives the "
        "ingest (the process's CPU time; the database's own waits are not in it): the wall "
        "figure depends on what else the machine runs (the load average at the end of the run "
        "is shown).\n\n" + body + "\n"
    )
    text_now = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if SECTION in text_now:
        head, _, rest = text_now.partition(SECTION)
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text_now = head + section + ("\n" + tail if tail else "")
    else:
        text_now = text_now.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text_now, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--attributes", type=int, default=10, choices=range(1, 13))
    parser.add_argument("--postgres", default=os.environ.get("CITYLOOP_TEST_POSTGRES_URL"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    results = []
    backends = ("sqlite", "postgresql") if args.postgres else ("sqlite",)
    for backend in backends:
        with (
            tempfile.TemporaryDirectory() as folder,
            fresh_database(backend, Path(folder), args.postgres) as url,
        ):
            results.append(run(url, backend, args.observations, args.entities, args.attributes))
    body = table(results, args.entities, args.attributes)
    print(body)
    if args.write_docs:
        write_docs(body, args.entities, args.attributes)


if __name__ == "__main__":
    main()
