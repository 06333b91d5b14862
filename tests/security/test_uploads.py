"""Uploads and downloads: every route that takes a body refuses one past the app's limit (413)
before reading it whole and writes nothing; upload file names are never paths and are echoed
escaped; static files and downloads serve nothing outside their folder and inject no header.
"""

from __future__ import annotations

import http.client
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from cityloop.web.app import MAX_REQUEST_BYTES
from tests.security.conftest import tracked_project
from tests.security.routes import UNSAFE, concrete, routes_of
from tests.web.conftest import serve
from tests.web.site import Site

CHUNK = b"x" * (1024 * 1024)
TRAVERSALS = [
    "../../etc/passwd",
    "..\\..\\x.xlsx",
    "/etc/cityloop-abs.csv",
    "C:\\Windows\\evil.xlsx",
    "nul\x00byte.csv",
    "<img src=x onerror=alert(1)>.csv",
    '"; filename=evil.csv',
]
# Where a traversal would have written, relative to the temporary folders routes use.
DANGEROUS = [Path(tempfile.gettempdir()) / "x.xlsx", Path("/etc/cityloop-abs.csv")]


def oversize_body() -> Iterator[bytes]:
    """A body without Content-Length (chunked), one chunk past the app's limit."""
    for _ in range(MAX_REQUEST_BYTES // len(CHUNK) + 1):
        yield CHUNK


def file_routes(site: Site) -> list[tuple[str, APIRoute]]:
    return [
        (m, r)
        for m, r in routes_of(site.app)
        if m in UNSAFE
        and any(type(p.field_info).__name__ == "File" for p in r.dependant.body_params)
    ]


def test_every_body_past_the_limit_is_refused_and_writes_nothing(own_site: Site) -> None:
    client = own_site.client("admin")
    project = tracked_project(own_site)
    before = own_site.db.row_counts()
    wrong = []
    for method, route in routes_of(own_site.app):
        if method not in UNSAFE:
            continue
        response = client.request(
            method,
            concrete(route.path, own_site, project=project),
            content=oversize_body(),
            headers={"content-type": "multipart/form-data; boundary=b"},
            follow_redirects=False,
        )
        # A route that never reads a body may answer anything but a server error.
        reads = bool(route.dependant.body_params) or response.status_code == 413
        if (reads and response.status_code != 413) or response.status_code >= 500:
            wrong.append(f"{method} {route.path}: {response.status_code}")
    assert wrong == []
    assert own_site.db.row_counts() == before


def test_a_declared_oversize_body_is_refused_before_it_is_sent(own_site: Site) -> None:
    """Only the headers and a few bytes go out: the answer comes without the body."""
    for base in serve(own_site.app):
        where = urlsplit(base)
        for path in ("/collect/upload", "/ngsi-ld/v1/entities", "/api/3/action/package_list"):
            conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "multipart/form-data; boundary=b")
            conn.putheader("Content-Length", str(50 * MAX_REQUEST_BYTES))
            conn.endheaders(b"--b\r\n")
            response = conn.getresponse()
            assert response.status == 413, path
            assert str(MAX_REQUEST_BYTES >> 20) in response.read().decode()
            conn.close()


def test_the_survey_fast_path_has_its_own_smaller_limit(own_site: Site) -> None:
    client = TestClient(own_site.app)
    response = client.post(
        "/s/any", content=b"{" + b" " * (65 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 413


@pytest.mark.parametrize("name", TRAVERSALS, ids=range(len(TRAVERSALS)))
def test_upload_names_are_never_paths_and_are_echoed_escaped(own_site: Site, name: str) -> None:
    client = own_site.client("admin")
    project = tracked_project(own_site)
    problems = []
    for method, route in file_routes(own_site):
        files = {
            p.alias: (name, b"not,a,valid\nfile,\x00,here\n")
            for p in route.dependant.body_params
            if type(p.field_info).__name__ == "File"
        }
        form = {"csrf_token": client.headers["X-CSRF-Token"], "round": "1", "unit": own_site.city}
        response = client.request(
            method, concrete(route.path, own_site, project=project), data=form, files=files,
            follow_redirects=False,
        )  # fmt: skip
        if response.status_code >= 500:
            problems.append(f"{route.path}: {response.status_code}")
        html = response.headers.get("content-type", "").startswith("text/html")
        if html and "<img src=x" in response.text:
            problems.append(f"{route.path}: the name is echoed unescaped")
    assert problems == []
    assert not any(p.exists() for p in DANGEROUS)


STATIC_ESCAPES = [
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/..%2fapp.py",
    "/static/js/../../app.py",
    "/static/js/..%2f..%2fapp.py",
    "/static/%2e%2e%2f%2e%2e%2fstore/settings.py",
    "/static//etc/passwd",
    "/static/..\\app.py",
]


@pytest.mark.parametrize("path", STATIC_ESCAPES)
def test_no_file_outside_the_static_folder_is_served(own_site: Site, path: str) -> None:
    response = TestClient(own_site.app).get(path)
    assert response.status_code == 404
    assert "def create_app" not in response.text and "root:" not in response.text


@pytest.mark.parametrize(
    "crafted",
    ['1"%0d%0aX-Injected:%20yes', "1%0d%0aX-Injected:%20yes", "..%2f..%2fetc%2fpasswd", "1;rm"],
)
def test_crafted_download_ids_inject_no_header(own_site: Site, crafted: str) -> None:
    client = own_site.client("admin")
    for path in (
        "/runs/{run_id}/results.xlsx",
        "/surveys/{survey_id}/export.xlsx",
        "/plan/saved/{plan_id}/export.xlsx",
        "/quality/{code}/export.xlsx",
        "/reports/city/{code}",
    ):
        response = client.get(concrete(path, own_site, fill=crafted), follow_redirects=False)
        assert response.status_code in (404, 422), path
        assert "x-injected" not in response.headers
        assert "root:" not in response.text
