"""Benchmark: a mixed-workload soak of the served app on loopback — throughput, latency, errors,
the server's memory over time, and whether every acknowledged write is stored.

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--backend sqlite|postgres]
[--workers 2] [--citizens 3] [--pdf-every 8] [--postgres-url URL]. Builds the web tests'
populated site (62 demo cities, a user per role) with the citizen survey open in a fresh
database in a temporary folder, serves it with uvicorn on 127.0.0.1 and drives the actors of
``tests/load/workload.py`` (citizens answering the survey, the officer uploading value files,
the analyst running evaluations and downloading reports, the viewer reading dashboards) until
the time is up. The server's resident memory (its process group: uvicorn and workers) is
sampled every 10 s. Prints one line per
request kind, the memory figures, and the acknowledged writes missing from the database (must be
none); exits 1 on an unexpected status or a lost write. PostgreSQL comes from ``--postgres-url``
or /tmp/pgurl; a fresh database is made and dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the workload lives in tests/

from tests.load.workload import (
    Mix,
    Recorder,
    build_site,
    describe,
    free_port,
    group_rss_mb,
    lost_writes,
    run_workload,
    start_server,
    stop_server,
    summary,
    unexpected,
)

from survey_load import fresh_database  # benchmarks/ is sys.path[0] when run as a script

SAMPLE_SECONDS = 10.0
WARM_UP_MINUTES = 2.0


class MemorySampler(threading.Thread):
    """Resident memory of a process group every ``SAMPLE_SECONDS``: (minutes since start, MB)."""

    def __init__(self, group: int) -> None:
        super().__init__(daemon=True)
        self.group = group
        self.samples: list[tuple[float, float]] = []
        self.processes: dict[int, list[float]] = {}  # pid → its samples (MB)
        self.done = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while True:
            each = group_rss_mb(self.group)
            self.samples.append(((time.monotonic() - start) / 60, sum(each.values())))
            for pid, mb in each.items():
                self.processes.setdefault(pid, []).append(mb)
            if self.done.wait(SAMPLE_SECONDS):
                return


def memory_figures(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Mean RSS of the first and of the last minute, and the least-squares slope (MB per
    minute) over the whole run and after the warm-up (``WARM_UP_MINUTES``: the first report,
    PDF and evaluation load their libraries and fonts once)."""
    minutes = np.asarray([m for m, _ in samples])
    mb = np.asarray([v for _, v in samples])
    end = minutes[-1]
    first = mb[minutes <= min(1.0, end / 2)].mean()
    last = mb[minutes >= max(end - 1.0, end / 2)].mean()
    warm = minutes >= min(WARM_UP_MINUTES, end / 2)
    return {
        "first_min_mb": float(first),
        "last_min_mb": float(last),
        "slope_mb_per_min": slope(minutes, mb),
        "warm_slope_mb_per_min": slope(minutes[warm], mb[warm]),
    }


def slope(minutes: np.ndarray, mb: np.ndarray) -> float:
    return float(np.polyfit(minutes, mb, 1)[0]) if len(minutes) > 1 else 0.0


def soak(url: str, folder: Path, seconds: float, workers: int, mix: Mix) -> int:
    target = build_site(url, folder)
    port = free_port()
    proc = start_server(url, folder, port, workers)
    target = replace(target, base=f"http://127.0.0.1:{port}")
    sampler = MemorySampler(proc.pid)
    sampler.start()
    started = time.monotonic()
    try:
        rec: Recorder = run_workload(target, seconds, mix)
        wall = time.monotonic() - started
    finally:
        sampler.done.set()
        sampler.join()
        stop_server(proc)
    lost = lost_writes(url, target, rec)
    report(rec, wall, memory_figures(sampler.samples), lost, sampler.samples)
    for pid, mb in sampler.processes.items():
        print(f"process {pid}: {mb[0]:.0f} → {max(mb):.0f} (highest) → {mb[-1]:.0f} MB")
    return 1 if lost or unexpected(rec) else 0


def report(
    rec: Recorder,
    wall: float,
    memory: dict[str, float],
    lost: list[str],
    samples: list[tuple[float, float]],
) -> None:
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {wall:.0f} s of load")
    print("| kind | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    table = summary(rec, wall)
    for kind, f in table.items():
        print(
            f"| {kind} | {f['count']:,.0f} | {f['rate']:.2f} | {f['p50']:.0f} | "
            f"{f['p95']:.0f} | {f['p99']:.0f} | {f['errors']:.0f} |"
        )
    total = sum(f["count"] for f in table.values())
    print(f"all: {total:,.0f} requests, {total / wall:.1f} req/s")
    print(f"unexpected statuses: {unexpected(rec) or 'none'}")
    print(f"acknowledged writes: {describe(rec)}; missing from the database: {lost or 'none'}")
    print(
        f"server RSS: first minute {memory['first_min_mb']:.0f} MB, last minute "
        f"{memory['last_min_mb']:.0f} MB, slope {memory['slope_mb_per_min']:+.2f} MB/min "
        f"(after {WARM_UP_MINUTES:.0f} min of warm-up {memory['warm_slope_mb_per_min']:+.2f})"
    )
    print("RSS samples (min, MB):", json.dumps([(round(m, 2), round(v)) for m, v in samples]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--citizens", type=int, default=Mix.citizens)
    parser.add_argument("--pdf-every", type=int, default=Mix.pdf_every)
    args = parser.parse_args()
    backend = "postgresql" if args.backend == "postgres" else "sqlite"
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(backend, Path(tmp), args.postgres_url) as url,
    ):
        mix = Mix(citizens=args.citizens, pdf_every=args.pdf_every)
        code = soak(url, Path(tmp), args.minutes * 60, args.workers, mix)
    sys.exit(code)


if __name__ == "__main__":
    main()
