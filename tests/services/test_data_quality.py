"""The data-quality service: the hand-worked catalogue's report (both backends), what a data
officer may see, ``hub_metrics``, the xlsx export, the synthetic probe history, and probing a
real local HTTP server (ok, redirect, 500, timeout, refused, a scheme never fetched)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pytest

from cityloop.accounts import Role
from cityloop.errors import CityLoopError, InputError
from cityloop.services import data_quality as service
from cityloop.services.quality_demo import demo_probe_history
from cityloop.store import Database
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.quality_rows import NOW, add_resources, ensure_unit, resource, seed_catalogue

__all__ = ["backend", "db", "db_url", "empty_db"]

UNIT = "990100"
SLOW_SECONDS = 1.5


class Endpoints(BaseHTTPRequestHandler):
    """/ok answers 200, /moved 302, /broken 500, /slow answers after SLOW_SECONDS."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            threading.Event().wait(SLOW_SECONDS)
        status = {"/ok": 200, "/moved": 302, "/broken": 500, "/slow": 200}.get(self.path, 404)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/nowhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the prober hangs up on /slow: a broken pipe is expected, not news


@pytest.fixture(scope="module")
def endpoints() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), Endpoints)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_hand_worked_report(db: Database) -> None:
    seed_catalogue(db, UNIT)
    report = service.quality_report(db, UNIT, at=NOW)
    transport = next(d for d in report.departments if d.department == "transport")
    assert transport.completeness == pytest.approx(0.625)  # (3/4 + 720/1440) / 2
    assert transport.metadata == pytest.approx((1 + 10 / 11) / 2)
    assert (transport.timeliness, transport.sharing, transport.uptime) == (1.0, 1.0, 0.75)
    assert (transport.open_share, transport.hub_availability) == (0.5, 0.75)
    assert transport.requests == 3
    assert transport.decided_in_time == pytest.approx(1 / 3) and transport.approval == 0.5
    assert transport.score == pytest.approx(0.8454545) and transport.light == "amber"
    health = next(d for d in report.departments if d.department == "health")
    assert (health.completeness, health.timeliness, health.sharing, health.light) == (
        0.0, 0.0, 0.0, "red"
    )  # fmt: skip
    assert report.total.resources == 3 and report.total.score == pytest.approx(0.6344697)
    problems = {r.code: r.problems for r in report.resources}
    assert problems == {"T1": [], "T2": ["incomplete"], "H1": ["stale", "incomplete"]}
    officer = service.for_reader(report, Role.DATA_OFFICER, "health")
    assert [r.code for r in officer.resources] == ["H1"]
    assert {d.department: d.detail for d in officer.departments} == {
        "health": True, "transport": False
    }  # fmt: skip
    assert officer.departments[1].completeness == transport.completeness  # numbers stay
    assert service.for_reader(report, Role.EVALUATOR, None) == report


def test_bad_requests_are_refused(db: Database, tmp_path: Path) -> None:
    seed_catalogue(db, UNIT)
    with pytest.raises(CityLoopError, match="990999"):
        service.quality_report(db, "990999")
    with pytest.raises(InputError, match="400"):
        service.quality_report(db, UNIT, window_days=400)
    report = service.quality_report(db, UNIT, at=NOW)
    with pytest.raises(InputError, match=r"\.csv"):
        service.export_report(report, tmp_path / "q.csv")
    assert not (tmp_path / "q.csv").exists()


def test_hub_metrics_and_export(db: Database, tmp_path: Path) -> None:
    seed_catalogue(db, UNIT)
    metrics = service.hub_metrics(db, UNIT, 2026)
    assert set(metrics) == {
        "open_share", "sharing_ratio", "completeness", "timeliness", "uptime", "resources"
    }  # fmt: skip
    assert metrics["resources"] == 3 and metrics["sharing_ratio"] == pytest.approx(2 / 3)
    assert metrics["open_share"] == 0.5
    path = service.export_report(service.quality_report(db, UNIT, at=NOW), tmp_path / "q.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["部门数据质量", "资源明细"]
    departments = list(book["部门数据质量"].values)
    assert departments[0][:3] == ("部门", "名称", "资源数")
    assert [row[0] for row in departments[1:]] == ["health", "transport", "*"]
    resources = list(book["资源明细"].values)
    assert len(resources) == 4 and "更新超期; 数据不完整" in resources[3]


def test_probing_a_real_server(db: Database, endpoints: str) -> None:
    seed_catalogue(db, UNIT)
    add_resources(db, UNIT, [
        resource(f"P{k}", "health", api_url=url)
        for k, url in enumerate([f"{endpoints}/ok", f"{endpoints}/moved", f"{endpoints}/broken",
                                 f"{endpoints}/slow", "http://127.0.0.1:9/refused",
                                 "file:///etc/passwd"])
    ])  # fmt: skip
    results = {r.url.rsplit("/", 1)[-1]: r for r in service.probe_endpoints(db, UNIT, timeout=0.5)}
    assert results["ok"].ok and results["ok"].detail == "HTTP 200"
    assert results["ok"].latency_ms is not None and results["ok"].latency_ms < 500
    assert results["moved"].ok and results["moved"].detail == "HTTP 302"  # not followed
    assert not results["broken"].ok and results["broken"].detail == "HTTP 500"
    assert not results["slow"].ok and results["slow"].detail == "timeout after 0.5 s"
    assert not results["refused"].ok and results["refused"].detail.startswith("error:")
    assert not results["passwd"].ok and results["passwd"].detail == "unsupported scheme"
    assert not results["t1"].ok  # the seeded endpoint on the discard port
    report = service.quality_report(db, UNIT)  # now: the probes just recorded
    probed = {r.code: r for r in report.resources}
    assert probed["P0"].uptime == 1.0 and probed["P2"].uptime == 0.0
    assert "endpoint_failing" in probed["P2"].problems and probed["P2"].last_detail == "HTTP 500"
    assert probed["T1"].probes == 1  # the seeded probes are months older than the window


def test_demo_probe_history_is_fixed_by_the_seed_and_written_once(db: Database) -> None:
    ensure_unit(db, UNIT, ["transport"])
    add_resources(db, UNIT, [resource(f"D{k}", "transport", api_url="https://data.example.cn/x")
                             for k in range(3)])  # fmt: skip
    assert demo_probe_history(db, "990200", seed=7, now=NOW) == 0  # no such unit's endpoints
    written = demo_probe_history(db, UNIT, seed=7, now=NOW)
    assert written == 3 * 30 * 24 * 4
    assert demo_probe_history(db, UNIT, seed=7, now=NOW) == 0  # the unit has probes now
    report = service.quality_report(db, UNIT, at=NOW + timedelta(minutes=1))
    uptimes = [r.uptime for r in report.resources]
    assert all(u is not None and 0.5 < u <= 1 for u in uptimes)
    assert report.total.uptime == pytest.approx(sum(u for u in uptimes if u) / 3)
