"""Derived-indicator pages and API on a site of its own (computing writes values): the list with
formulas, the compute button and API, regions respected, the provenance page with its chart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cityloop.services import derived
from tests.store.databases import BACKENDS, new_database_url
from tests.store.observations import add_readings
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import Site, csrf_of, make_site

FRAMEWORK = "cityloop-operations-2026"
YEAR = 2025


@pytest.fixture(scope="module", params=BACKENDS)
def hub_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A fresh site whose city has a month of PM2.5 and a few streetlight readings."""
    folder = tmp_path_factory.mktemp(f"derived-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        start = derived.year_window(YEAR, "Asia/Shanghai").start
        t = start + np.arange(0, 30 * 86400, 3600)
        rng = np.random.default_rng(11)
        pm25 = pd.DataFrame(
            {"entity_id": np.repeat(["urn:aq:1", "urn:aq:2"], len(t)), "attribute": "pm25",
             "observed_at": np.tile(t, 2), "value": rng.gamma(4, 18, 2 * len(t))}
        )  # fmt: skip
        add_readings(site.db, site.city, "AirQualityObserved", pm25)
        lights = pd.DataFrame(
            {"entity_id": ["l1", "l2"], "attribute": "status", "observed_at": [start, start],
             "text": ["ok", "brokenLantern"]}
        )  # fmt: skip
        add_readings(site.db, site.city, "Streetlight", lights)
        yield site
        site.db.dispose()


@pytest.fixture(scope="module")
def computed(hub_site: Site) -> dict[str, Any]:
    with hub_site.client("analyst") as client:
        response = client.post(
            f"/api/derived/{FRAMEWORK}/compute", json={"units": [hub_site.city], "year": YEAR}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_api_computes_and_reports_skipped_indicators(
    hub_site: Site, computed: dict[str, Any]
) -> None:
    codes = {v["indicator"] for v in computed["values"]}
    assert {"OPS-AQ-GOOD", "OPS-AQ-PM25", "OPS-LIGHT-OK"} <= codes
    light = next(v for v in computed["values"] if v["indicator"] == "OPS-LIGHT-OK")
    assert light["value"] == 50.0 and light["provenance"]["entities"] == 2
    skipped = {s["indicator"]: s for s in computed["skipped"]}
    assert "ParkingSpot.status" in skipped["OPS-PARKING-LIVE"]["message"]
    assert computed["inserted"] == len(computed["values"])


def test_a_unit_outside_the_users_regions_cannot_be_computed(hub_site: Site) -> None:
    with hub_site.client("analyst") as client:
        refused = client.post(
            f"/api/derived/{FRAMEWORK}/compute", json={"units": [hub_site.other_city], "year": YEAR}
        )
        assert refused.status_code == 403
        bad = client.post(f"/api/derived/{FRAMEWORK}/compute", json={"units": [], "year": YEAR})
        assert bad.status_code == 422
    with hub_site.client("officer") as officer:  # a data officer may look, not compute
        assert officer.post(
            f"/api/derived/{FRAMEWORK}/compute", json={"units": [hub_site.city], "year": YEAR}
        ).status_code == 403  # fmt: skip


def test_the_list_page_shows_formulas_values_and_the_button(
    hub_site: Site, computed: dict[str, Any]
) -> None:
    with hub_site.client("analyst") as client:
        page = client.get(f"/derived?framework={FRAMEWORK}")
    assert page.status_code == 200
    assert "share(Streetlight.status == &#34;ok&#34;)" in page.text  # escaped, never markup
    assert 'data-testid="derive-button"' in page.text
    assert f"/derived/{FRAMEWORK}/{hub_site.city}/OPS-AQ-GOOD?year={YEAR}" in page.text
    with hub_site.client("officer") as officer:
        seen = officer.get(f"/derived?framework={FRAMEWORK}&lang=en")
    assert seen.status_code == 200 and "Derived indicators" in seen.text
    assert 'data-testid="derive-button"' not in seen.text


def test_the_compute_form_needs_its_csrf_token(hub_site: Site, computed: dict[str, Any]) -> None:
    with hub_site.client("admin") as client:
        form = {"unit": hub_site.city, "year": str(YEAR)}
        assert client.post(f"/derived/{FRAMEWORK}/compute", data=form).status_code == 403
        form["csrf_token"] = csrf_of(client, "/derived")
        done = client.post(f"/derived/{FRAMEWORK}/compute", data=form, follow_redirects=False)
        assert done.status_code == 303
        page = client.get(done.headers["location"])
    assert 'data-testid="derived-flash"' in page.text  # nothing new: every value unchanged


def test_provenance_page_and_api(hub_site: Site, computed: dict[str, Any]) -> None:
    path = f"/derived/{FRAMEWORK}/{hub_site.city}/OPS-AQ-GOOD?year={YEAR}"
    with hub_site.client("analyst") as client:
        page = client.get(path)
        api = client.get(f"/api{path}").json()
        other = client.get(f"/derived/{FRAMEWORK}/{hub_site.other_city}/OPS-AQ-GOOD?year={YEAR}")
        missing = client.get(f"/derived/{FRAMEWORK}/{hub_site.city}/NOPE?year={YEAR}")
    assert page.status_code == 200
    assert 'data-chart="derivedDaily"' in page.text and "urn:aq:1" in page.text
    assert api["provenance"]["observations"] == 2 * 30 * 24
    assert len(api["daily"]["AirQualityObserved.pm25"]["day"]) == 30
    assert other.status_code == 403 and missing.status_code == 422


def test_provenance_chart_renders_in_chromium(
    hub_site: Site, computed: dict[str, Any], browser: Any
) -> None:
    if "sqlite" not in hub_site.db.url:
        pytest.skip("one browser run is enough; the pages are the same on both backends")
    served = serve(hub_site.app)
    server = next(served)
    errors: list[str] = []
    page = browser_sign_in(browser, server, "analyst")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server}/derived/{FRAMEWORK}/{hub_site.city}/OPS-AQ-GOOD?year={YEAR}")
        page.wait_for_selector("[data-chart=derivedDaily][data-rendered=true] svg")
        assert "日均值" in page.locator("[data-chart=derivedDaily] svg").inner_html()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "derived-provenance.png"), full_page=True)
        page.goto(f"{server}/derived?framework={FRAMEWORK}")
        page.screenshot(path=str(SCREENSHOTS / "derived.png"), full_page=True)
        assert errors == []
    finally:
        page.close()
        next(served, None)  # runs serve()'s shutdown after its yield
