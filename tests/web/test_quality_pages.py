"""The data-quality pages and API on a site with the hand-worked catalogue in its first city:
who sees what (a data officer: every department's numbers, their own department's resources),
the chart container, the export, bad parameters, and the dashboard drawn in Chromium."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest

from tests.store.databases import BACKENDS, new_database_url
from tests.store.quality_rows import seed_catalogue
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, make_site


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """This module's own site (it writes a catalogue): the shared one plus ``seed_catalogue``
    in ``site.city`` as of now (transport: a table and a sensor resource; health: one table)."""
    folder = tmp_path_factory.mktemp(f"quality-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        seed_catalogue(built.db, built.city, now=datetime.now(UTC))
        yield built
        built.db.dispose()


def test_the_dashboard_for_an_evaluator(site: Site) -> None:
    with site.client("analyst") as client:
        page = client.get("/quality")
        assert page.status_code == 200
        html = page.text
        assert "数据质量看板" in html and 'data-chart="qualityBars"' in html
        assert 'id="quality-data"' in html and "/static/js/quality.js" in html
        assert f'href="/quality/{site.city}/transport' in html
        assert f'href="/quality/{site.city}/health' in html
        assert 'href="/quality"' in html  # the nav link
        report = client.get(f"/api/quality/{site.city}").json()
        assert [d["department"] for d in report["departments"]] == ["health", "transport"]
        assert len(report["resources"]) == 3 and report["total"]["resources"] == 3
        drill = client.get(f"/quality/{site.city}/health")
        assert drill.status_code == 200 and 'data-resource="H1"' in drill.text
        assert "从未更新" not in drill.text and "数据不完整" in drill.text


def test_a_data_officer_sees_numbers_of_all_and_resources_of_their_own(site: Site) -> None:
    with site.client("officer") as client:  # transport, in site.city
        html = client.get("/quality").text
        assert f'href="/quality/{site.city}/transport' in html
        assert f'href="/quality/{site.city}/health' not in html
        assert 'data-department="health"' in html  # the numbers are there
        report = client.get(f"/api/quality/{site.city}").json()
        assert {r["department"] for r in report["resources"]} == {"transport"}
        assert {d["department"]: d["detail"] for d in report["departments"]} == {
            "health": False, "transport": True
        }  # fmt: skip
        assert client.get(f"/quality/{site.city}/transport").status_code == 200
        refused = client.get(f"/quality/{site.city}/health")
        assert refused.status_code == 403 and "本部门" in refused.text
        book = client.get(f"/quality/{site.city}/export.xlsx")
        assert book.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)["资源明细"]
        assert sorted(row[3] for row in list(sheet.values)[1:]) == ["transport", "transport"]


def test_who_may_not_and_bad_parameters(site: Site) -> None:
    with site.client("viewer") as viewer:
        assert viewer.get("/quality").status_code == 403
        assert viewer.get(f"/api/quality/{site.city}").status_code == 403
    with site.client("analyst") as analyst:
        assert analyst.get(f"/api/quality/{site.other_city}").status_code == 403
        assert analyst.get(f"/quality/{site.city}/nobody").status_code == 404
        assert analyst.get(f"/api/quality/{site.city}?window=0").status_code == 422
        assert analyst.get(f"/api/quality/{site.city}?window=30").status_code == 200
    with site.client("admin") as admin:
        empty = admin.get(f"/api/quality/{site.other_city}").json()
        assert empty["departments"] == [] and empty["total"]["light"] == "none"
        english = admin.get("/quality?lang=en")
        assert "Data quality dashboard" in english.text


def test_the_dashboard_draws_in_chromium(site: Site, server: str, browser: Any) -> None:
    page = browser_sign_in(browser, server, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/quality")
    page.wait_for_selector("#quality-chart[data-rendered=true] svg")
    assert page.locator("#quality-chart svg path").count() > 4
    assert page.locator("#quality-departments .q-lamp").count() == 3
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "data-quality.png"), full_page=True)
    page.close()
