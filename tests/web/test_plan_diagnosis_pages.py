"""The diagnosis pages and API: what a permitted user sees for a city in scope, refusals, the
city list by scope, a bad year, and the emphasis chart rendered by Chromium (with surveys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import Site, make_site

YEAR = 2025


def test_page_and_api_of_a_city_in_scope(site: Site) -> None:
    with site.client("analyst") as c:
        page = c.get(f"/plan/diagnosis/{site.city}")
        api = c.get(f"/api/plan/diagnosis/{site.city}").json()
    assert page.status_code == 200
    assert api["unit"] == site.city and api["run_id"] == site.run_id and not api["has_needs"]
    text = page.text
    assert api["headline"] in text and 'data-chart="planEmphasis"' in text
    assert "无（只依据评估）" in text  # the fixture site has no surveys
    assert "该城市当年没有有答卷的需求调查" in text
    for term in ("近期", "中期", "远期"):
        assert term in text
    for d in api["dimensions"]:
        assert f'data-code="{d["code"]}"' in text
    assert abs(sum(t["share"] for t in api["types"]) - 1) < 1e-5
    assert api["primary"] in api["min_share"]


def test_who_may_see_a_diagnosis(site: Site) -> None:
    url = f"/plan/diagnosis/{site.city}"
    with site.client("viewer") as c:  # a viewer may not see plans
        assert c.get(url).status_code == 403
        assert c.get(f"/api{url}").status_code == 403
    with site.client("manager") as c:  # a project manager of the province
        assert c.get(url).status_code == 200
        assert c.get(f"/plan/diagnosis/{site.other_city}").status_code == 403
        assert c.get(f"/api/plan/diagnosis/{site.other_city}").status_code == 403
    with site.client() as c:
        assert c.get(url, follow_redirects=False).status_code == 303
        assert c.get(f"/api{url}").status_code == 401


def test_the_city_list_follows_the_scope(site: Site) -> None:
    with site.client("analyst") as c:
        listed = c.get("/plan/diagnosis").text
    assert f'href="/plan/diagnosis/{site.city}"' in listed
    assert f'href="/plan/diagnosis/{site.other_city}"' not in listed
    with site.client("admin") as c:
        assert f'href="/plan/diagnosis/{site.other_city}"' in c.get("/plan/diagnosis").text


def test_a_year_without_results_and_english(site: Site) -> None:
    with site.client("analyst") as c:
        page = c.get(f"/plan/diagnosis/{site.city}?year=1990")
        api = c.get(f"/api/plan/diagnosis/{site.city}?year=1990")
        english = c.get(f"/plan/diagnosis/{site.city}?lang=en")
    assert page.status_code == 422 and "1990" in page.text
    assert api.status_code == 422 and "1990" in api.json()["detail"]
    assert english.status_code == 200 and "Recommended emphasis" in english.text


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A SQLite site whose demo city has the SYNTHETIC demo surveys, served on loopback."""
    folder: Path = tmp_path_factory.mktemp("plandiag-surveyed")
    built = make_site(f"sqlite:///{folder / 'cityloop.db'}", folder)
    sizes = {CITIZEN: 120, GOVERNMENT: 40, ENTERPRISE: 60}
    city = load_demo_surveys(built.db, YEAR, actor="fixture", sizes=sizes).unit
    for url in serve(built.app):
        yield url, city
    built.db.dispose()


def test_emphasis_chart_renders_in_chromium(surveyed: tuple[str, str], browser: Any) -> None:
    server, city = surveyed
    page = browser_sign_in(browser, server, "admin")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/plan/diagnosis/{city}")
    page.wait_for_selector("#plandiag-chart[data-rendered=true] svg")
    svg = page.locator("#plandiag-chart svg").inner_html()
    assert "民生型" in svg and "调查需求" in svg  # the plan types and the needs part
    assert page.locator("#plandiag-reasons li").count() >= 4
    assert "市民提出" in page.locator("#plandiag-reasons").inner_text()
    assert page.locator("#plandiag-applications section").count() == 3
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "plan-diagnosis.png"), full_page=True)
    page.close()
