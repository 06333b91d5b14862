"""Benchmark: public survey submissions at a constant rate, and whether every one acknowledged
is stored.

Run: .venv/bin/python benchmarks/survey_load.py --backend sqlite|postgresql [--rate 1000
--seconds 60 --workers 2 --loaders 1 --connections 128] [--write]. Builds a fresh database with
one open survey (the citizen questionnaire), serves it with ``cityloop serve`` on loopback
(rate limit raised through ``CITYLOOP_SURVEY_RATE_PER_MINUTE``), pre-issues one signed token
per request, and drives an open-loop load: request i is due at i / rate whatever the answers
before it did, and its latency counts from that moment (queueing included). Then it stops the
server and compares the stored receipts with the acknowledged (201) ones.
PostgreSQL comes from ``--postgres-url`` or /tmp/pgurl; a fresh database is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cityloop.services import survey_collect
from cityloop.services.store import load_demo
from cityloop.store import Database, Settings
from cityloop.survey.answers import validate_submission
from cityloop.survey.questionnaire import Questionnaire, shipped_questionnaire

CITIZEN = "citizen-experience-gbt33356-2016"
DISTRICTS = [{"code": f"d{i:02d}", "name_zh": f"第{i}区", "name_en": ""} for i in range(1, 9)]
SECRET = "benchmark-secret-" + "k" * 40
DOCS = Path(__file__).parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Target:
    url: str
    folder: Path
    slug: str
    survey_id: int
    port: int


# -- the database and the server -----------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, folder: Path, postgres_url: str | None) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'cityloop.db'}"
        return
    server = make_url(postgres_url or Path("/tmp/pgurl").read_text().strip())
    name = f"cityloop_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def build(url: str) -> tuple[str, int]:
    """Upgrade, load a small demo (the city the survey is of), open the citizen survey."""
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    load_demo(db, ["gbt33356-2016"], n_cities=31, user="benchmark")
    units = db.units()
    assert units is not None
    city = units.of_level("city")[0]
    survey = survey_collect.open_survey(
        db, city, CITIZEN, year=date.today().year, actor="benchmark", districts=DISTRICTS
    )
    db.dispose()
    return survey.slug, survey.id


def tokens(url: str, slug: str, count: int) -> list[str]:
    db = Database.open(Settings(database_url=url))
    collector = survey_collect.Collector(db, SECRET)
    survey = collector.survey(slug)
    issued = [collector.issue_token(survey) for _ in range(count)]
    db.dispose()
    return issued


def start_server(target: Target, workers: int, window_ms: float) -> subprocess.Popen[bytes]:
    """The app under uvicorn, as ``cityloop serve`` runs it, in its own process group (the
    crash test kills the whole group). uvicorn is called directly for two settings the CLI
    does not expose: a longer worker health check (a worker still importing the app on a
    busy machine is otherwise killed and restarted) and httptools/uvloop when installed."""
    env = {
        **os.environ,
        "CITYLOOP_DATABASE_URL": target.url,
        "CITYLOOP_DATA_DIR": str(target.folder),
        "CITYLOOP_SECRET_KEY": SECRET,
        "CITYLOOP_SURVEY_RATE_PER_MINUTE": str(10**9),
        "CITYLOOP_SURVEY_BATCH_WINDOW_MS": str(window_ms),
    }
    command = [
        sys.executable, "-m", "uvicorn", "cityloop.web:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(target.port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--timeout-worker-healthcheck", "120",
        *fast_protocols(),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180  # importing the app takes long on a busy machine
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", target.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    time.sleep(1.0)  # let every worker finish starting
                    return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("the server did not start")


def fast_protocols() -> list[str]:
    """uvicorn's C-based HTTP parser and event loop (dependencies of cityloop) when installed."""
    found = []
    if importlib.util.find_spec("httptools") is not None:
        found += ["--http", "httptools"]
    if importlib.util.find_spec("uvloop") is not None:
        found += ["--loop", "uvloop"]
    return found


def group_cpu_seconds(group: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def valid_body(q: Questionnaire) -> bytes:
    """The answers every submission sends: the first choice, 4 on a 1–5 scale, 8 on 0–10."""
    payload: dict[str, Any] = {"district": DISTRICTS[0]["code"]}
    for a in q.attributes:
        if a.choices != "districts":
            payload[a.id] = a.choices[0].code
    for x in q.questions():
        kind = x.kind.value
        if kind in ("single", "multiple"):
            code = next(c.code for c in x.choices or [] if not c.exclusive)
            payload[x.id] = code if kind == "single" else [code]
        elif kind in ("likert5", "likert11", "numeric"):
            payload[x.id] = {"likert5": 4, "likert11": 8}.get(kind, x.min or 1)
        else:
            payload[x.id] = "希望公交更准点"
    validate_submission(q, payload, [d["code"] for d in DISTRICTS])
    return json.dumps(payload, ensure_ascii=False).encode()


# -- the load generator --------------------------------------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _drive(args: dict[str, Any]) -> tuple[list[tuple[float, int, str]], float]:
    """Send ``args['tokens']`` at ``args['rate']`` a second: (latency s, status, receipt) of
    each, and the seconds from the first due moment to the last answer."""
    path, port, rate = args["path"], args["port"], args["rate"]
    answers: bytes = args["answers"]
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    results: list[tuple[float, int, str]] = []
    loop = asyncio.get_running_loop()

    async def connection() -> None:
        reader = writer = None
        while (item := await queue.get()) is not None:
            due, token = item
            body = b'{"token":"' + token.encode() + b'","answers":' + answers + b"}"
            request = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                status, reply = await asyncio.wait_for(_exchange(reader, writer, request), 30)
                receipt = json.loads(reply).get("receipt", "") if status == 201 else ""
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                status, receipt = 0, ""
                if writer is not None:
                    writer.close()
                reader = writer = None
            results.append((loop.time() - due, status, receipt))
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(args["connections"])]
    start = loop.time() + 0.2
    for i, token in enumerate(args["tokens"]):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, token))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return results, loop.time() - start


def _loader(args: dict[str, Any]) -> tuple[list[tuple[float, int, str]], float]:
    return asyncio.run(_drive(args))


def run_load(
    target: Target, all_tokens: list[str], rate: float, loaders: int, connections: int
) -> tuple[list[tuple[float, int, str]], float]:
    """Split the tokens over ``loaders`` processes, each sending its share of the rate."""
    answers = valid_body(shipped_questionnaire(CITIZEN))
    shares = [
        {
            "path": f"/s/{target.slug}",
            "port": target.port,
            "rate": rate / loaders,
            "answers": answers,
            "tokens": all_tokens[k::loaders],
            "connections": connections,
        }
        for k in range(loaders)
    ]
    with multiprocessing.get_context("spawn").Pool(loaders) as pool:
        parts = pool.map(_loader, shares)
    return [r for part, _ in parts for r in part], max(span for _, span in parts)


def summarise(results: list[tuple[float, int, str]], wall: float) -> dict[str, Any]:
    ms = np.asarray([r[0] for r in results]) * 1000
    acked = [r[2] for r in results if r[1] == 201]
    statuses: dict[int, int] = {}
    for _, status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "sent": len(results),
        "acknowledged": len(acked),
        "rate": len(acked) / wall,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "errors": {k: v for k, v in statuses.items() if k != 201},
        "receipts": set(acked),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loaders", type=int, default=1)
    parser.add_argument("--connections", type=int, default=128, help="per loader")
    parser.add_argument("--window-ms", type=float, default=5.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.backend, Path(tmp), args.postgres_url) as url,
    ):
        slug, survey_id = build(url)
        target = Target(url, Path(tmp), slug, survey_id, free_port())
        issued = tokens(url, slug, int(args.rate * args.seconds))
        proc = start_server(target, args.workers, args.window_ms)
        try:
            idle = group_cpu_seconds(proc.pid)
            results, wall = run_load(target, issued, args.rate, args.loaders, args.connections)
            server_cpu = group_cpu_seconds(proc.pid) - idle
        finally:
            stop_server(proc)
        figures = summarise(results, wall)
        db = Database.open(Settings(database_url=url))
        stored = db.surveys.receipts(survey_id)
        count = db.surveys.response_count(survey_id)
        db.dispose()
    exact = stored == figures["receipts"] and count == len(stored)
    line = (
        f"| {args.backend} | {args.workers} | {args.rate:,.0f}/s × {args.seconds:.0f} s | "
        f"{figures['sent']:,} | {figures['acknowledged']:,} | {figures['rate']:,.0f}/s | "
        f"{figures['p50']:.1f} / {figures['p95']:.1f} / {figures['p99']:.1f} ms | "
        f"{figures['errors'] or 'none'} | {count:,} | {'yes' if exact else 'NO'} |"
    )
    print(line)
    print(f"server CPU: {server_cpu / max(figures['sent'], 1) * 1e6:.0f} µs per request")
    if args.write:
        with DOCS.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    if not exact:
        sys.exit(1)


if __name__ == "__main__":
    main()
