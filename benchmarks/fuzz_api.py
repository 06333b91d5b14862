"""Long API fuzz: the CI fuzz of tests/web/test_api_fuzz.py with many more examples per operation,
on a fresh populated site of each backend; prints, per identity, operations, calls, server errors,
schema violations and time, then every distinct finding (with a curl line to reproduce it).

Run: .venv/bin/python benchmarks/fuzz_api.py [--examples 200] [--backend sqlite|postgresql|both]
[--postgres URL] (PostgreSQL: a server URL, default ``CITYLOOP_TEST_POSTGRES_URL``; a database
is created and dropped). Exit status 1 when anything was found. Figures go to
docs/reliability.md (section "API fuzzing") by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests package

from tests.store.databases import POSTGRES_ENV, new_database_url
from tests.web.test_api_fuzz import FuzzRun, build_fuzz_site, fuzz, report

SLOWEST = 10


def run_backend(backend: str, examples: int) -> FuzzRun:
    """Build the fuzz site on ``backend``, fuzz it, print the figures; the run's findings."""
    with tempfile.TemporaryDirectory(prefix=f"fuzz-api-{backend}-") as folder:
        for url in new_database_url(backend, Path(folder)):
            started = time.perf_counter()
            fuzz_site = build_fuzz_site(url, Path(folder))
            built = time.perf_counter() - started
            started = time.perf_counter()
            run = fuzz(fuzz_site, examples)
            spent = time.perf_counter() - started
            fuzz_site.site.db.dispose()
    print(f"\n== {backend}: {examples} examples per operation (site built in {built:.0f} s)")
    print(
        f"{'identity':<12} {'operations':>10} {'calls':>7} {'5xx':>5} {'violations':>10} {'s':>7}"
        f" {'timeouts':>8}"
    )
    for name, tally in run.tallies.items():
        print(
            f"{name:<12} {len(tally.operations):>10} {tally.calls:>7} {tally.server_errors:>5} "
            f"{tally.violations:>10} {tally.seconds:>7.0f} {tally.timeouts:>8}"
        )
    calls = sum(t.calls for t in run.tallies.values())
    errors = sum(t.server_errors for t in run.tallies.values())
    violations = sum(t.violations for t in run.tallies.values())
    operations = len({op for t in run.tallies.values() for op in t.operations})
    print(
        f"{'all':<12} {operations:>10} {calls:>7} {errors:>5} {violations:>10} {spent:>7.0f}"
        f"   ({calls / spent:.1f} calls/s)"
    )
    print("slowest operations (s, every identity):")
    for label, seconds in sorted(run.seconds.items(), key=lambda item: -item[1])[:SLOWEST]:
        print(f"  {seconds:6.0f}  {label}")
    if run.findings:
        print(f"\n{len(run.findings)} distinct findings:\n{report(run)}")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", help=f"PostgreSQL server URL (default: ${POSTGRES_ENV})")
    args = parser.parse_args()
    if args.postgres:
        os.environ[POSTGRES_ENV] = args.postgres
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load = os.getloadavg()
    print(
        f"API fuzz {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    found = [bool(run_backend(backend, args.examples).findings) for backend in backends]
    return 1 if any(found) else 0


if __name__ == "__main__":
    sys.exit(main())
