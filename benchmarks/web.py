"""Benchmark: latency of the city overview page and the ranking API under concurrent clients.

Run: .venv/bin/python benchmarks/web.py [--cities 300 --clients 20 --requests 2000 --workers 2]
[--write]. Builds a SQLite database of the demo panel in a temporary folder, runs one
evaluation, serves the app with ``cityloop serve`` (loopback) in a subprocess and signs in
``--clients`` httpx clients that each send their next request when the last one is answered.
``--write`` adds the figures to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import numpy as np

from cityloop.accounts import HashParameters, Role
from cityloop.services import runs, users
from cityloop.services.store import load_demo
from cityloop.store import Database, Settings

FRAMEWORK = "gbt33356-2016"
PASSWORD = "Zhihui-Chengshi-2026"
DOCS = Path(__file__).parent.parent / "docs" / "benchmarks.md"
CLI = Path(sys.executable).parent / "cityloop"  # served as `scripts/run` serves it


def build(folder: Path, cities: int) -> tuple[str, list[str]]:
    """The database URL and the evaluated city codes."""
    url = f"sqlite:///{folder / 'cityloop.db'}"
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    start = time.perf_counter()
    load_demo(db, [FRAMEWORK], n_cities=cities, user="benchmark")
    run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="benchmark")
    cheap = HashParameters(time_cost=1, memory_cost=8)  # sign-in is not what is measured
    users.add_user(db, "bench", PASSWORD, Role.ADMINISTRATOR, actor="benchmark", params=cheap)
    totals = db.run_scores(run_id, max_level=0)
    latest = totals[(totals["year"] == totals["year"].max()) & totals["score"].notna()]
    codes = sorted(set(latest["unit"].astype(str)))
    db.dispose()
    print(f"built {len(codes)} cities × 5 years and one run in {time.perf_counter() - start:.1f} s")
    return url, codes


def serve(url: str, folder: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DATA_DIR": str(folder)}
    command = [str(CLI), "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code in {200, 303}
    return client


def load(clients: list[httpx.Client], path: Callable[[], str], total: int) -> dict[str, float]:
    """Send ``total`` requests from all clients at once; latency percentiles and throughput."""
    latencies: list[float] = []
    lock = threading.Lock()
    left = [total]

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            start = time.perf_counter()
            response = client.get(path())
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.text[:300]
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "rps": total / wall,
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="server processes (cityloop serve)")
    parser.add_argument("--write", action="store_true", help="add the figures to benchmarks.md")
    args = parser.parse_args()
    rng = random.Random(20261201)
    with tempfile.TemporaryDirectory() as tmp:
        url, codes = build(Path(tmp), args.cities)
        proc, base = serve(url, Path(tmp), args.workers)
        try:
            clients = [signed_in(base) for _ in range(args.clients)]
            targets = {
                "city overview page `/cities/{code}`": lambda: f"/cities/{rng.choice(codes)}",
                "ranking API `/api/ranking`": lambda: "/api/ranking",
            }
            results = {}
            for name, path in targets.items():
                load(clients, path, 200)  # warm-up: the run's tables are read and cached
                results[name] = load(clients, path, args.requests)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    rows = [
        f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['rps']:.0f} |"
        for name, r in results.items()
    ]
    header = "| request | p50 ms | p95 ms | p99 ms | requests/s |\n|---|---:|---:|---:|---:|"
    table = "\n".join([header, *rows])
    print(table)
    if args.write:
        write_docs(table, args, len(codes))


def write_docs(table: str, args: argparse.Namespace, cities: int) -> None:
    machine = f"{os.cpu_count()} cores (`nproc` {os.cpu_count()}), {cpu_model()}"
    command = (
        f".venv/bin/python benchmarks/web.py --cities {args.cities} --clients {args.clients} "
        f"--requests {args.requests} --workers {args.workers} --write"
    )
    section = f"""
## Web dashboards — `benchmarks/web.py`

{cities} demo cities × 5 years on SQLite, one evaluation run; the app served on loopback by
`cityloop serve --workers {args.workers}` (uvicorn, as `scripts/run` serves it);
{args.clients} signed-in clients, each sending its next request when the last is answered;
{args.requests} requests per row after 200 of warm-up. City pages are for random cities.
Target: p95 under 200 ms.

{table}

Machine: {machine}; Python {platform.python_version()}; {date.today().isoformat()}; load
average {os.getloadavg()[0]:.1f} when the run ended (the clients share the two cores with the
server).
Command: `{command}`
"""
    text = DOCS.read_text(encoding="utf-8")
    marker = "\n## Web dashboards — `benchmarks/web.py`"
    if marker in text:  # replace the previous figures, keep what follows
        head, _, rest = text.partition(marker)
        following = rest.find("\n## ")
        text = head + (rest[following:] if following >= 0 else "")
    DOCS.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")


if __name__ == "__main__":
    main()
