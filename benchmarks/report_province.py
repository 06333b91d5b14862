"""Benchmark: the province evaluation report of a 300-city province (SYNTHETIC): build the
document with ``province_report`` and render it in every format, each timed separately.

Run: .venv/bin/python benchmarks/report_province.py [--cities 300]
The demo caps a province below 99 cities (two-digit city codes), so the demo's 320 cities are
all moved into one province (440000) at the store level before the evaluation; every value
stays synthetic. Target: report + PDF under 60 s (the PDF is the slowest format).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cityloop.datahub.units import build_units
from cityloop.reports import ReportFormat, render
from cityloop.services import runs
from cityloop.services.report_province import province_report
from cityloop.services.store import load_demo
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
PROVINCE = "440000"


def one_province(db: Database, cities: int) -> int:
    """Move the first ``cities`` demo cities into ``PROVINCE``; return how many it has."""
    units = db.units()
    assert units is not None
    table = units.table.reset_index()
    city_rows = table.index[table["level"] == "city"][:cities]
    table.loc[city_rows, "parent"] = PROVINCE
    db.load_units(build_units(table, source="<benchmark>"), "benchmark")
    return len(city_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cities", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}"))
        db.upgrade()
        load_demo(db, [FRAMEWORK], n_cities=max(320, args.cities), user="benchmark")
        moved = one_province(db, args.cities)
        run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="benchmark")
        start = time.perf_counter()
        doc = province_report(db, PROVINCE, run_id=run_id)
        built = time.perf_counter() - start
        db.dispose()
    print(f"{moved} cities in {PROVINCE}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    print(f"province_report: {built:.2f} s")
    for fmt in (ReportFormat.PDF, ReportFormat.DOCX, ReportFormat.XLSX, ReportFormat.HTML):
        start = time.perf_counter()
        content = render(doc, fmt)
        took = time.perf_counter() - start
        total = f"; report + {fmt.value} {built + took:.2f} s" if fmt is ReportFormat.PDF else ""
        print(f"{fmt.value} ({len(content) / 1e6:.2f} MB): {took:.2f} s{total}")


if __name__ == "__main__":
    main()
