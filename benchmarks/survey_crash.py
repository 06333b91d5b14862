"""Benchmark: kill -9 the server in the middle of a survey load, restart it, and check that every
acknowledged submission is stored and the database is sound.

Run: .venv/bin/python benchmarks/survey_crash.py --backend sqlite|postgresql [--rate 1000
--seconds 20 --kill-after 10 --workers 2] [--write]. Same set-up as ``survey_load.py``; the
server's whole process group gets SIGKILL ``--kill-after`` seconds into the load (the load
goes on against the dead port, so those requests fail), then the server is started again and
a second, short load shows it takes answers. Stored ⊇ acknowledged must hold exactly; stored
but unacknowledged rows (committed, answer lost in the kill) are counted too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from cityloop.store import Database, Settings
from survey_load import (
    DOCS,
    Target,
    build,
    free_port,
    fresh_database,
    run_load,
    start_server,
    stop_server,
    summarise,
    tokens,
)


def integrity(url: str) -> str:
    """SQLite's ``PRAGMA integrity_check``; on PostgreSQL, a full read of the table's index
    and heap (a count through each) that must agree."""
    db = Database.open(Settings(database_url=url))
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                return str(conn.execute(text("PRAGMA integrity_check")).scalar_one())
            conn.execute(text("SET enable_indexscan = off; SET enable_bitmapscan = off"))
            heap = conn.execute(text("SELECT count(*) FROM survey_responses")).scalar_one()
            conn.execute(text("SET enable_indexscan = on; SET enable_seqscan = off"))
            index = conn.execute(
                text("SELECT count(*) FROM survey_responses WHERE survey_id > 0")
            ).scalar_one()
            return "ok" if heap == index else f"heap {heap} ≠ index {index}"
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--kill-after", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.backend, Path(tmp), args.postgres_url) as url,
    ):
        slug, survey_id = build(url)
        target = Target(url, Path(tmp), slug, survey_id, free_port())
        issued = tokens(url, slug, int(args.rate * args.seconds) + 2000)
        first, after = issued[:-2000], issued[-2000:]
        proc = start_server(target, args.workers, 5.0)
        killed = threading.Timer(args.kill_after, os.killpg, (proc.pid, signal.SIGKILL))
        killed.start()
        results, wall = run_load(target, first, args.rate, 1, args.connections)
        proc.wait()
        figures = summarise(results, wall)
        proc = start_server(target, args.workers, 5.0)
        try:
            again, again_wall = run_load(target, after, 200, 1, 32)
        finally:
            stop_server(proc)
        later = summarise(again, again_wall)
        db = Database.open(Settings(database_url=url))
        stored = db.surveys.receipts(survey_id)
        db.dispose()
        check = integrity(url)
    acked = figures["receipts"] | later["receipts"]
    lost = acked - stored
    line = (
        f"| {args.backend} | {args.workers} | {args.rate:,.0f}/s, kill -9 at {args.kill_after:.0f}"
        f" s of {args.seconds:.0f} s | {figures['acknowledged']:,} | "
        f"{sum(figures['errors'].values()):,} | {later['acknowledged']:,} | {len(stored):,} | "
        f"{len(lost)} | {len(stored - acked)} | {check} |"
    )
    print(line)
    if args.write:
        with DOCS.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    if lost or check != "ok":
        sys.exit(1)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"took {time.perf_counter() - started:.0f} s", file=sys.stderr)
