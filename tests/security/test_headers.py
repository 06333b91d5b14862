"""Security headers on every kind of response: pages, JSON, static files, errors (401, 403,
404, 405, 422, 500), redirects, the survey fast path and downloads; HSTS only when asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from cityloop.store.settings import Settings
from cityloop.web import create_app
from tests.web.site import Site

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def assert_secured(response: Response, hsts: bool = False) -> None:
    what = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, what
    assert "script-src 'self'" in csp, what
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{what}: {name}"
    assert ("strict-transport-security" in response.headers) is hsts, what


def responses(site: Site) -> Iterator[Response]:
    """One response of each kind, from the site's own routes."""
    anonymous = TestClient(site.app)
    yield anonymous.get("/login")  # a public page
    yield anonymous.get("/ranking", follow_redirects=False)  # redirect to sign-in
    yield anonymous.get("/api/ranking")  # 401 JSON
    yield anonymous.get("/static/js/charts.js")  # a static file
    yield anonymous.get("/static/../pyproject.toml")  # 404 from the static files
    yield anonymous.get("/no/such/page")  # 404
    yield anonymous.put("/login")  # 405
    yield anonymous.get("/healthz")
    yield anonymous.post("/s/no-such-survey", json={"token": "", "answers": {}})  # fast path
    yield anonymous.get("/s/no-such-survey")  # the public survey page, 404
    with site.client("viewer") as viewer:
        yield viewer.get("/ranking")  # a page
        yield viewer.get("/api/ranking")  # JSON
        yield viewer.get("/", follow_redirects=False)  # a redirect
        yield viewer.get("/runs")  # 403 page
        yield viewer.get("/api/runs")  # 403 JSON
        yield viewer.get(f"/cities/{site.other_city}")  # 403 outside the regions
        yield viewer.get("/reports/province/" + site.city, params={"format": "html"})  # 422
    with site.client("analyst") as analyst:
        yield analyst.get(f"/runs/{site.run_id}/results.xlsx")  # a download
        yield analyst.get("/runs/999999")  # no such run
        yield analyst.post("/api/runs", json={"framework": 5})  # 422 validation


def test_every_kind_of_response_carries_the_headers(own_site: Site) -> None:
    statuses = set()
    for response in responses(own_site):
        assert_secured(response)
        statuses.add(response.status_code)
    assert {200, 303, 401, 403, 404, 405, 422} <= statuses


@pytest.fixture
def small_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    """An empty site with a route that fails, as an unexpected bug would (500)."""
    hsts = bool(getattr(request, "param", False))
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path, hsts=hsts)
    )
    app.state.db.upgrade()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected bug")

    yield app
    app.state.db.dispose()


@pytest.mark.parametrize("small_app", [False, True], indirect=True, ids=["plain", "hsts"])
def test_a_server_error_carries_the_headers_too(small_app: FastAPI) -> None:
    client = TestClient(small_app, raise_server_exceptions=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert "an unexpected bug" not in response.text  # no stack trace for the reader
    assert_secured(response, hsts=small_app.state.settings.hsts)


@pytest.mark.parametrize("small_app", [True], indirect=True, ids=["hsts"])
def test_hsts_is_sent_when_the_setting_is_on(small_app: FastAPI) -> None:
    client = TestClient(small_app)
    for response in (
        client.get("/login"),
        client.get("/static/js/charts.js"),
        client.get("/nothing"),
        client.post("/s/none", json={}),
    ):
        assert_secured(response, hsts=True)
        assert response.headers["strict-transport-security"].startswith("max-age=")
