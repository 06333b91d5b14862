"""Project catalogue pages and JSON API: the list and a project's page, who may read and edit,
an edit, reset, own-project and Excel round trip on a fresh site, and the pages in Chromium."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook

from cityloop.planning.project_catalogue import load_catalogue
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, csrf_of, make_site


@pytest.fixture(scope="module", params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A site of its own for the tests that write."""
    folder = tmp_path_factory.mktemp(f"plancat-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        yield site
        site.db.dispose()


def rows(html: str) -> dict[str, str]:
    """Project code → status of each row of the list page."""
    return dict(re.findall(r'data-project="([a-z0-9_]+)" data-status="(\w+)"', html))


def test_the_list_filters_and_the_api_answers(site: Site) -> None:
    with site.client("manager") as client:
        page = client.get("/plan/catalogue")
        assert page.status_code == 200 and "示意性规划假设" in page.text
        assert len(rows(page.text)) == len(load_catalogue().projects)
        health = rows(client.get("/plan/catalogue?domain=health").text)
        assert set(health) == {"health_info_platform", "online_appointment", "internet_hospital"}
        industry = rows(client.get(f"/plan/catalogue?unit={site.city}&plan_type=industry").text)
        assert "smart_factory" in industry and "xueliang" not in industry
        api = client.get(f"/api/plan/catalogue?unit={site.city}").json()
        assert api["unit"] == site.city and len(api["projects"]) == len(load_catalogue().projects)
        one = client.get(f"/api/plan/catalogue/{site.city}/city_brain").json()
        assert one["cycle"] == 3 and one["status"] == "shipped" and one["total_cost"] == 7000
        assert client.get(f"/api/plan/catalogue/{site.city}/nope").status_code == 404
        # The manager reads but may not change: no form, and a write is forbidden.
        view = client.get(f"/plan/catalogue/{site.city}/city_brain")
        assert view.status_code == 200 and 'data-testid="plancat-form"' not in view.text
        assert "城市运行管理中心" in view.text
        assert f"/plan/catalogue/{site.city}/data_platform" in view.text
        assert client.delete(f"/api/plan/catalogue/{site.city}/city_brain").status_code == 403
    with site.client("outsider") as outsider:
        assert outsider.get(f"/api/plan/catalogue?unit={site.city}").status_code == 403
    with site.client("analyst") as analyst:
        workbook = analyst.get(f"/plan/catalogue/export.xlsx?unit={site.city}")
        book = load_workbook(io.BytesIO(workbook.content))
        assert book.sheetnames == ["项目", "成效"] and book["项目"].max_row == 60


def test_edit_reset_own_project_and_excel_round_trip(fresh: Site) -> None:
    city, base = fresh.city, f"/plan/catalogue/{fresh.city}"
    with fresh.client("analyst") as client:
        token = csrf_of(client, f"{base}/city_brain")
        form: dict[str, Any] = {
            "csrf_token": token, "cost": "2000; 1800", "staff": "10; 8",
            "prerequisites": "data_platform", "foundation": "2", "importance": "5",
            "effect_indicator": ["L2P1-A1", "L2P1-A2"], "effect_low": ["5", "1"],
            "effect_likely": ["10", "2"], "effect_high": ["15", "3"],
        }  # fmt: skip
        saved = client.post(f"{base}/city_brain", data=form, follow_redirects=True)
        assert saved.status_code == 200 and 'data-status="overridden"' not in saved.text
        one = client.get(f"/api/plan/catalogue/{city}/city_brain").json()
        assert one["status"] == "overridden" and one["cost"] == [2000, 1800]
        assert [e["indicator"] for e in one["effects"]] == ["L2P1-A1", "L2P1-A2"]
        assert fresh.db.plan_projects.overrides(city)["city_brain"]["prerequisites"] == [
            "data_platform"
        ]
        # A bad edit is refused with the field named, and nothing changes.
        bad = client.post(f"{base}/city_brain", data={**form, "cost": "2000; x"})
        assert bad.status_code == 422 and "2000; x" in bad.text
        bad = client.post(f"{base}/city_brain", data={**form, "prerequisites": "traffic_brain"})
        assert bad.status_code == 422 and "traffic_brain" in bad.text
        assert client.get(f"/api/plan/catalogue/{city}/city_brain").json()["cost"] == [2000, 1800]
        # An own project through the form, then through the API.
        own = {"csrf_token": token, "code": "river_chief", "name_zh": "智慧河长",
               "name_en": "Smart river chief", "description_zh": "河湖巡查", "description_en":
               "River patrols", "domain": "environment", "plan_types": ["livelihood"],
               "applications": ["environment_monitoring"], "cost": "300; 200", "staff": "2; 2",
               "prerequisites": "iot_platform", "foundation": "3", "importance": "4",
               "effect_indicator": ["L3P1-X"], "effect_low": ["1"], "effect_likely": ["2"],
               "effect_high": ["4"]}  # fmt: skip
        added = client.post(f"{base}/new", data=own, follow_redirects=False)
        assert added.status_code == 303 and added.headers["location"].endswith("/river_chief")
        assert client.post(f"{base}/new", data=own).status_code == 422  # the code is taken
        listing = rows(client.get(f"/plan/catalogue?unit={city}").text)
        assert listing["river_chief"] == "own" and listing["city_brain"] == "overridden"
        put = client.put(f"/api/plan/catalogue/{city}/xueliang", json={"importance": 1})
        assert put.status_code == 200 and put.json()["importance"] == 1
        refused = client.put(f"/api/plan/catalogue/{city}/xueliang", json={"foundation": 9})
        assert refused.status_code == 422 and "xueliang" in refused.json()["detail"]
        # Excel: export the city's catalogue, change one cost, import it back.
        data = client.get(f"/plan/catalogue/export.xlsx?unit={city}").content
        book = load_workbook(io.BytesIO(data))
        sheet = book["项目"]
        row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "gov_cloud")
        sheet.cell(row, 8).value = "1600; 900"
        buffer = io.BytesIO()
        book.save(buffer)
        files = {"file": ("p.xlsx", buffer.getvalue(), "application/octet-stream")}
        imported = client.post(f"{base}/import", data={"csrf_token": token}, files=files)
        assert imported.status_code == 200 and "4" in imported.text
        assert set(fresh.db.plan_projects.overrides(city)) == {
            "city_brain", "river_chief", "xueliang", "gov_cloud"}  # fmt: skip
        # Reset and remove.
        client.post(f"{base}/city_brain/reset", data={"csrf_token": token})
        assert client.delete(f"/api/plan/catalogue/{city}/river_chief").json() == {"removed": True}
        assert set(fresh.db.plan_projects.overrides(city)) == {"xueliang", "gov_cloud"}


def test_the_pages_render_in_chromium(server: str, browser: Any, site: Site) -> None:
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    page = browser_sign_in(browser, server, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/plan/catalogue?unit={site.city}")
    assert page.locator("[data-testid=plancat-table] tbody tr").count() == len(
        load_catalogue().projects
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "plan-catalogue.png"), full_page=False)
    page.goto(f"{server}/plan/catalogue/{site.city}/city_brain")
    page.wait_for_selector("#plancat-cost-chart[data-rendered=true] svg")
    assert page.locator("[data-testid=plancat-form]").count() == 1
    assert errors == []
    page.close()
