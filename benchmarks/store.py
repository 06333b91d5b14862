"""Benchmark: storing 300 cities × 5 years × 70 indicators, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/store.py [--cities 300 --indicators 70] [--url URL ...]
Each URL's database is wiped first. Figures go to docs/storage.md by hand.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cityloop.datahub.indicator_table import validate_values
from cityloop.datahub.units import build_units
from cityloop.demo.generator import generate_demo
from cityloop.frameworks import Framework, FrameworkFile, compile_framework, departments
from cityloop.services.store import backup, restore
from cityloop.store import Database, Origin, OriginKind, Settings, migrate

T = TypeVar("T")


def framework(n_indicators: int) -> Framework:
    """A two-level framework of ``n_indicators`` percentages under 7 dimensions."""
    spec = FrameworkFile.model_validate(
        {
            "id": "bench",
            "version": "1",
            "title": {"zh": "基准"},
            "dimensions": [{"code": f"D{d}", "name": {"zh": f"维度{d}"}} for d in range(7)],
            "indicators": [
                {
                    "code": f"I{i:03d}",
                    "name": {"zh": f"指标{i}"},
                    "parent": f"D{i % 7}",
                    "unit": "%",
                    "value_type": "percentage",
                    "direction": "higher",
                    "source_kind": "statistics",
                    "department": "statistics",
                }
                for i in range(n_indicators)
            ],
        }
    )
    return compile_framework(spec, departments=departments())


def timed(label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = fn()
    print(f"  {label:<44} {time.perf_counter() - start:6.2f} s")
    return out


def run(url: str, fw: Framework, cities: int, folder: Path) -> None:
    db = Database.open(Settings(database_url=url))
    with db.transaction() as conn:
        if migrate.current_revision(conn) is not None:
            migrate.downgrade(conn, "base")
    db.upgrade()
    data = generate_demo([fw], n_cities=cities, seed=11)
    units = build_units(data.units)
    frame = data.values[fw.id]
    table = validate_values(frame, fw, units)
    print(f"{db.engine.dialect.name}: {len(table.frame):,} values, {len(units.codes)} units")
    origin = Origin(OriginKind.FILE, "bench.csv")
    timed("load units", lambda: db.load_units(units, "bench"))
    timed(
        "first upload (values + history + audit)", lambda: db.upsert_values(table, fw, "b", origin)
    )
    timed("same file again (nothing changes)", lambda: db.upsert_values(table, fw, "b", origin))
    changed = frame.copy()
    changed.loc[changed.index[::100], "value"] = changed["value"].iloc[::100] * 0.5
    table2 = validate_values(changed, fw, units)
    timed("1 % of the cells changed", lambda: db.upsert_values(table2, fw, "b", origin))
    timed("values_frame (every current value)", lambda: db.values_frame(fw.id))
    manifest = timed("backup", lambda: backup(db, folder / "bench.zip"))
    print(
        f"  ({manifest.total_rows():,} rows, {(folder / 'bench.zip').stat().st_size / 1e6:.1f} MB)"
    )
    timed(
        "restore --force (verify, wipe, load, verify)",
        lambda: restore(db, folder / "bench.zip", force=True),
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", type=int, default=300)
    parser.add_argument("--indicators", type=int, default=70)
    parser.add_argument("--url", action="append", default=[])
    args = parser.parse_args()
    fw = framework(args.indicators)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        urls = args.url or [f"sqlite:///{folder / 'bench.db'}"]
        if not args.url and os.environ.get("CITYLOOP_TEST_POSTGRES_URL"):
            urls.append(os.environ["CITYLOOP_TEST_POSTGRES_URL"])
        for url in urls:
            run(url, fw, args.cities, folder)


if __name__ == "__main__":
    main()
