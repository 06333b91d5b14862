"""The soak's mixed workload: citizens, officers, analysts and viewers against a served CityLoop,
every request timed and every acknowledged write looked up in the database afterwards.

One code path for the 10-minute benchmark (``benchmarks/soak.py``) and the short CI run
(``tests/load/test_soak_smoke.py``): the site is built, served by uvicorn in a subprocess on
loopback, driven by client threads until a deadline, then checked.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select

from cityloop.services import survey_collect
from cityloop.store import Database, Settings
from cityloop.store.models import ValueHistory
from cityloop.survey.questionnaire import shipped_questionnaire
from tests.web.site import PASSWORD, make_site
from tests.web.test_survey_public import CITIZEN, DISTRICTS, form_of, valid_answers

SECRET = "soak-secret-" + "s" * 48
FRAMEWORK = "gbt33356-2016"
OFFICER_INDICATORS = ("L1P2-A1", "L1P2-A2", "L1P2-A3")  # the officer's department (transport)
RUN = {"framework": FRAMEWORK, "config": {}}  # the framework's own method and weights
OK = frozenset({200, 201, 303})  # what every request of the workload expects
TIMEOUT = httpx.Timeout(180.0)  # a PDF on a machine shared with the load generator is slow


@dataclass(frozen=True)
class Target:
    """The served site: its base URL, the open survey, the city users work on, the round."""

    base: str
    slug: str
    survey_id: int
    city: str
    round_id: int


@dataclass(frozen=True)
class Mix:
    """Client threads per actor and the pause each takes between its iterations (seconds)."""

    citizens: int = 3
    officers: int = 1
    analysts: int = 1
    viewers: int = 1
    officer_pause: float = 1.0
    analyst_pause: float = 1.0
    viewer_pause: float = 0.2
    pdf_every: int = 8  # the analyst asks for a PDF on every n-th iteration (0: never)


@dataclass
class Recorder:
    """What the clients saw: (kind, seconds, status) of every request, and the writes the
    server acknowledged (receipts, uploaded cells by file name, run ids)."""

    samples: list[tuple[str, float, int]] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    uploads: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploaded: int = 0

    def next_upload(self) -> int:
        """A number no other upload of the run has: its values differ from every other's, so
        each upload writes (and the value history keeps) all of its cells."""
        with self.lock:
            self.uploaded += 1
            return self.uploaded

    def timed(
        self, kind: str, send: Callable[..., httpx.Response], path: str, **options: Any
    ) -> httpx.Response | None:
        """``send(path, **options)`` (a client's get or post), recorded; the reply when its
        status is one the workload expects. A connection error or timeout is status 0."""
        start = time.perf_counter()
        try:
            reply: httpx.Response | None = send(path, **options)
        except httpx.HTTPError:
            reply = None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.samples.append((kind, elapsed, reply.status_code if reply else 0))
        return reply if reply is not None and reply.status_code in OK else None


# -- the site and its server -----------------------------------------------------------------------


def build_site(url: str, folder: Path) -> Target:
    """The web tests' populated site (62 demo cities, one run, a user per role) with the
    citizen survey open in its first city; the base URL is set once it is served."""
    site = make_site(url, folder)
    try:
        survey = survey_collect.open_survey(
            site.db, site.city, CITIZEN, year=2026, actor="admin", districts=DISTRICTS
        )
        round_id = site.db.rounds(FRAMEWORK)[0].id
    finally:
        site.db.dispose()
    return Target("", survey.slug, survey.id, site.city, round_id)


def start_server(url: str, folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """The app under uvicorn on loopback in its own process group (the survey rate limit out
    of the way: every citizen comes from 127.0.0.1), once it answers ``/healthz``."""
    env = {
        **os.environ,
        "CITYLOOP_DATABASE_URL": url,
        "CITYLOOP_DATA_DIR": str(folder),
        "CITYLOOP_SECRET_KEY": SECRET,
        "CITYLOOP_SURVEY_RATE_PER_MINUTE": str(10**9),
    }
    command = [
        sys.executable, "-m", "uvicorn", "cityloop.web:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--timeout-worker-healthcheck", "120",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180  # importing the app is slow on a busy machine
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                time.sleep(1.0)  # let every worker finish starting
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("the server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's group, as a service manager stops it; SIGKILL if it hangs."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_rss_mb(group: int) -> dict[int, float]:
    """Resident memory (MB) of each live process of a process group: uvicorn and its workers."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        found[int(stat.parent.name)] = int(rss.group(1)) / 1024 if rss else 0.0
    return found


# -- the actors ----------------------------------------------------------------------------------

Actor = Callable[[Target, Recorder, float, str, Mix], None]


@contextmanager
def signed_in(base: str, username: str) -> Iterator[httpx.Client]:
    """A client signed in through the login form, sending the session's CSRF token."""
    with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, "no CSRF token on /login"
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        signed = client.post("/login", data=form)
        assert signed.status_code == 303, f"{username} could not sign in"
        client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
        yield client


def citizen(target: Target, rec: Recorder, until: float, tag: str, _mix: Mix) -> None:
    """A citizen after another opens the form (a new device each) and answers it: one in four
    by the plain form (the first one), the others by JSON (the survey page's script)."""
    answers = valid_answers(shipped_questionnaire(CITIZEN))
    with httpx.Client(base_url=target.base, timeout=TIMEOUT) as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            client.cookies.clear()
            page = rec.timed("survey_page", client.get, f"/s/{target.slug}")
            found = re.search(r'name="token" value="([^"]+)"', page.text) if page else None
            if found is None:
                continue
            token = found.group(1)
            if n % 4 != 1:
                body = {"token": token, "answers": answers}
                sent = rec.timed("survey_json", client.post, f"/s/{target.slug}", json=body)
                receipt = sent.json()["receipt"] if sent else None
            else:
                form = form_of(token, answers)
                sent = rec.timed("survey_form", client.post, f"/s/{target.slug}", data=form)
                shown = re.search(r'data-testid="receipt">([^<]+)<', sent.text) if sent else None
                receipt = shown.group(1) if shown else None
            if receipt:
                with rec.lock:
                    rec.receipts.append(receipt)


def officer(target: Target, rec: Recorder, until: float, tag: str, mix: Mix) -> None:
    """The transport officer uploads a CSV of the department's three cells, each file with
    values of its own: one in three (the first one) through the page's form, the others by the
    JSON API."""
    with signed_in(target.base, "officer") as client:
        while time.monotonic() < until:
            n = rec.next_upload()
            name = f"soak-{tag}-{n}.csv"
            cells = dict.fromkeys(OFFICER_INDICATORS, 10 + n % 8000 / 100)
            lines = [f"{target.city},2026,{code},{value}" for code, value in cells.items()]
            csv = ("unit,year,indicator,value\n" + "\n".join(lines) + "\n").encode()
            files = {"file": (name, csv, "text/csv")}
            if n % 3 == 1:
                data = {"round": str(target.round_id), "csrf_token": client.headers["X-CSRF-Token"]}
                rec.timed("collect_page", client.get, "/collect")
                sent = rec.timed(
                    "upload_form", client.post, "/collect/upload", data=data, files=files
                )
            else:
                data = {"round": str(target.round_id)}
                sent = rec.timed(
                    "upload_api", client.post, "/api/collection/upload", data=data, files=files
                )
            if sent is not None:
                with rec.lock:
                    rec.uploads[name] = cells
            time.sleep(mix.officer_pause)


def analyst(target: Target, rec: Recorder, until: float, tag: str, mix: Mix) -> None:
    """The provincial analyst runs an evaluation, opens it and downloads the city's report:
    HTML and Excel each time, a PDF now and then."""
    with signed_in(target.base, "analyst") as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            ran = rec.timed("run_evaluation", client.post, "/api/runs", json=RUN)
            if ran is not None:
                run_id = int(ran.json()["id"])
                with rec.lock:
                    rec.runs.append(run_id)
                rec.timed("run_page", client.get, f"/runs/{run_id}")
            pdf = mix.pdf_every and (n - 1) % mix.pdf_every == 0  # the first, then every n-th
            formats = ("html", "xlsx", "pdf") if pdf else ("html", "xlsx")
            for fmt in formats:
                path = f"/reports/city/{target.city}?format={fmt}"
                rec.timed(f"report_{fmt}", client.get, path)
            time.sleep(mix.analyst_pause)


def viewer(target: Target, rec: Recorder, until: float, tag: str, mix: Mix) -> None:
    """The city viewer reads the ranking and the city's dashboard, page and API."""
    with signed_in(target.base, "viewer") as client:
        while time.monotonic() < until:
            for kind, path in (
                ("ranking_page", "/ranking"),
                ("ranking_api", "/api/ranking"),
                ("city_page", f"/cities/{target.city}"),
                ("city_api", f"/api/cities/{target.city}/overview"),
            ):
                rec.timed(kind, client.get, path)
            time.sleep(mix.viewer_pause)


def guarded(act: Actor, target: Target, rec: Recorder, until: float, tag: str, mix: Mix) -> None:
    """Run one actor; if it fails (a page without what it needs, say) that is an error of kind
    ``<actor>_failed``, status 0, not a silently missing thread."""
    try:
        act(target, rec, until, tag, mix)
    except Exception:
        with rec.lock:
            rec.samples.append((f"{act.__name__}_failed", 0.0, 0))
        raise


def run_workload(target: Target, seconds: float, mix: Mix) -> Recorder:
    """Every actor's threads until ``seconds`` have passed (each finishes its iteration)."""
    rec = Recorder()
    until = time.monotonic() + seconds
    actors = [(citizen, mix.citizens), (officer, mix.officers), (analyst, mix.analysts),
              (viewer, mix.viewers)]  # fmt: skip
    threads = [
        threading.Thread(target=guarded, args=(act, target, rec, until, f"{act.__name__}{k}", mix))
        for act, count in actors
        for k in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rec


# -- the figures and the check --------------------------------------------------------------------


def summary(rec: Recorder, seconds: float) -> dict[str, dict[str, float]]:
    """Per request kind: count, requests a second, p50/p95/p99 (ms), unexpected statuses."""
    kinds = sorted({kind for kind, _, _ in rec.samples})
    table = {}
    for kind in kinds:
        ms = np.asarray([s * 1000 for k, s, _ in rec.samples if k == kind])
        errors = sum(1 for k, _, status in rec.samples if k == kind and status not in OK)
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        table[kind] = {"count": len(ms), "rate": len(ms) / seconds, "p50": float(p50),
                       "p95": float(p95), "p99": float(p99), "errors": errors}  # fmt: skip
    return table


def unexpected(rec: Recorder) -> dict[tuple[str, int], int]:
    """How many requests of each (kind, status) the workload did not expect."""
    found: dict[tuple[str, int], int] = {}
    for kind, _, status in rec.samples:
        if status not in OK:
            found[kind, status] = found.get((kind, status), 0) + 1
    return found


def lost_writes(url: str, target: Target, rec: Recorder) -> list[str]:
    """Every acknowledged write that is not in the database (empty when none is lost): each
    receipt among the survey's responses, each uploaded file's cells in the value history
    with their values, each run id among the stored runs."""
    db = Database.open(Settings(database_url=url))
    try:
        lost = [f"receipt {r}" for r in set(rec.receipts) - db.surveys.receipts(target.survey_id)]
        with db.reader() as s:
            rows = s.execute(
                select(ValueHistory.origin_ref, ValueHistory.indicator, ValueHistory.value).where(
                    ValueHistory.origin_ref.like("soak-%")
                )
            ).all()
        stored = {(ref, code): value for ref, code, value in rows}
        lost += [
            f"upload {name} {code}={value}"
            for name, cells in rec.uploads.items()
            for code, value in cells.items()
            if stored.get((name, code)) != value
        ]
        known = {run.id for run in db.runs(FRAMEWORK)}
        lost += [f"run {run_id}" for run_id in rec.runs if run_id not in known]
    finally:
        db.dispose()
    return lost


def describe(rec: Recorder) -> dict[str, Any]:
    """The counts of acknowledged writes, for the report."""
    return {"receipts": len(rec.receipts), "uploads": len(rec.uploads), "runs": len(rec.runs)}
