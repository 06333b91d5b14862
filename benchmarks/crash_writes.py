"""Benchmark: many kill -9 cycles of a writer on each backend and workload; counts acknowledged
writes, lost writes and integrity failures (both must be 0) and the time taken.

Run: .venv/bin/python benchmarks/crash_writes.py [--cycles 100] [--max-delay 1.5]
[--backends sqlite postgresql] [--workloads values surveys runs] [--postgres-url URL]
[--server-kills 20]. The writers are those of tests/durability (data entry, survey
submissions, evaluation runs), forked from a forkserver and killed at a uniformly random
moment up to ``--max-delay`` seconds after they start writing. ``--server-kills`` also
kills a PostgreSQL server of its own (started in a temporary folder with fsync and
synchronous commit ON, unlike the test server) in the middle of the writes, with SIGKILL to
every process of it, then starts it again (crash recovery).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.durability.checks import integrity_problems  # noqa: E402
from tests.durability.crashes import (  # noqa: E402
    Tally,
    current_values_disagree,
    forkserver,
    kill_cycle,
    open_database,
    verify,
)
from tests.durability.writer import WORKLOADS, Job, prepare  # noqa: E402
from tests.store.databases import new_database_url  # noqa: E402

INTEGRITY_EVERY = 25  # cycles between full integrity checks (and one after the last)


def kill_clients(backend: str, url: str, folder: Path, args: argparse.Namespace) -> list[str]:
    """Kill cycles of the writer process on ``url``; one table line per workload."""
    chance = random.Random(args.seed)
    context = forkserver()
    prepared = prepare(url)
    db = open_database(url)
    lines = []
    try:
        for workload in args.workloads:
            tally, failures, started = Tally(), 0, time.perf_counter()
            for cycle in range(args.cycles):
                tag = f"{workload}{cycle}"
                job = Job(url, workload, folder / f"{tag}.acks", tag)
                acks = kill_cycle(context, job, chance.uniform(0.0, args.max_delay))
                found = verify(db, prepared, workload, acks, tag)
                tally.cycles += 1
                tally.acknowledged += found.acknowledged
                tally.lost += found.lost
                tally.partial += found.partial
                if (cycle + 1) % INTEGRITY_EVERY == 0 or cycle + 1 == args.cycles:
                    failures += bool(integrity_problems(db) + current_values_disagree(db))
            lines.append(_line(backend, "writer", workload, tally, failures, started))
            print(lines[-1], flush=True)
    finally:
        db.dispose()
    return lines


def kill_servers(folder: Path, args: argparse.Namespace) -> list[str]:
    """Cycles that SIGKILL a durable PostgreSQL server of our own while a writer writes."""
    chance = random.Random(args.seed)
    context = forkserver()
    server = DurableServer(folder / "pg")
    url = server.start()
    lines = []
    try:
        prepared = prepare(url)
        for workload in args.workloads:
            tally, failures, started = Tally(), 0, time.perf_counter()
            for cycle in range(args.server_kills):
                tag = f"server-{workload}{cycle}"
                job = Job(url, workload, folder / f"{tag}.acks", tag)
                acks = kill_cycle(
                    context, job, chance.uniform(0.0, args.max_delay), before_kill=server.kill
                )
                server.start()
                db = open_database(url)
                found = verify(db, prepared, workload, acks, tag)
                failures += bool(integrity_problems(db) + current_values_disagree(db))
                db.dispose()
                tally.cycles += 1
                tally.acknowledged += found.acknowledged
                tally.lost += found.lost
                tally.partial += found.partial
            lines.append(_line("postgresql", "server", workload, tally, failures, started))
            print(lines[-1], flush=True)
    finally:
        server.stop()
    return lines


class DurableServer:
    """A PostgreSQL cluster of our own in ``folder`` (scripts/start-postgres makes it) run
    with durable settings: the test server's fsync=off would lose commits in a server crash."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""

    def _pg_ctl(self, *command: str) -> None:
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        owner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*owner, str(bindir / "pg_ctl"), "-D", str(self.folder / "data"), *command],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip

    def start(self) -> str:
        if not self.url:
            script = ROOT / "scripts" / "start-postgres"
            self.url = subprocess.run(["bash", str(script), str(self.folder)], check=True,
                                      capture_output=True, text=True).stdout.strip()  # fmt: skip
            self._pg_ctl("-m", "immediate", "stop")
        settings = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' -c fsync=on "
            "-c synchronous_commit=on -c full_page_writes=on -c max_connections=50"
        )
        self._pg_ctl("-l", str(self.folder / "server.log"), "-w", "-t", "120", "start",
                     "-o", settings)  # fmt: skip
        return self.url

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend of this cluster, as a crash would."""
        postmaster = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)],
                                  capture_output=True, text=True).stdout.split()  # fmt: skip
        for pid in [postmaster, *map(int, children)]:
            os.kill(pid, signal.SIGKILL)
        while Path(f"/proc/{postmaster}").exists():
            time.sleep(0.01)

    def stop(self) -> None:
        script = ROOT / "scripts" / "start-postgres"
        subprocess.run(["bash", str(script), "--stop", str(self.folder)], check=False)


def _line(
    backend: str, killed: str, workload: str, tally: Tally, failures: int, started: float
) -> str:
    return (
        f"| {backend} | {killed} | {workload} | {tally.cycles} | {tally.acknowledged:,} | "
        f"{len(tally.lost)} | {len(tally.partial)} | {failures} | "
        f"{time.perf_counter() - started:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--max-delay", type=float, default=1.5)
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--postgres-url")
    parser.add_argument("--server-kills", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    if args.postgres_url:
        os.environ["CITYLOOP_TEST_POSTGRES_URL"] = args.postgres_url
    print("| backend | killed | workload | cycles | acknowledged | lost | partial | "
          "integrity failures | time |\n|---|---|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            for url in new_database_url(backend, folder):
                lines += kill_clients(backend, url, folder, args)
        if args.server_kills:
            Path(tmp).chmod(0o755)  # the server runs as the postgres user when we are root
            lines += kill_servers(Path(tmp), args)
    sys.exit(1 if not lines or any(_failed(line) for line in lines) else 0)


def _failed(line: str) -> bool:
    """Whether a table line counts a lost write, a partial write or an integrity failure."""
    cells = [c.strip() for c in line.strip("|").split("|")]
    return cells[5:8] != ["0", "0", "0"]


if __name__ == "__main__":
    main()
