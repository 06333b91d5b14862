"""The city overview page and API: numbers equal the stored run, region checks, language,
privacy of the best city, and the radar and trend charts rendered in Chromium."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException, Request

from cityloop.accounts import Action, Principal, Role
from cityloop.evaluation.result import TOTAL
from cityloop.services import dashboard_cache
from cityloop.store import Database, Settings
from cityloop.web import guard
from tests.store.databases import new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, make_site


def total_row(site: Site, unit: str) -> Any:
    scores = site.db.run_scores(site.run_id, units=[unit], max_level=0)
    latest = scores[scores["year"] == scores["year"].max()]
    return latest[latest["node"] == TOTAL].iloc[0]


def test_api_numbers_equal_the_stored_run(site: Site) -> None:
    with site.client("viewer") as c:
        data = c.get(f"/api/cities/{site.city}/overview").json()
    row = total_row(site, site.city)
    assert data["run_id"] == site.run_id
    assert data["total"] == pytest.approx(float(row["score"]))
    assert (data["rank"], data["ranked"]) == (int(row["rank"]), int(row["ranked"]))
    assert data["stage"] == row["stage"]
    assert len(data["dimensions"]) == 8
    assert len(data["weakest"]) == 5
    assert [p["year"] for p in data["trend"]] == data["years"]
    assert {g["kind"] for g in data["groups"]} >= {"province"}


def test_page_shows_total_stage_and_ranks_in_chinese(site: Site) -> None:
    with site.client("viewer") as c:
        page = c.get(f"/cities/{site.city}")
    assert page.status_code == 200
    row = total_row(site, site.city)
    assert f"{float(row['score']):.2f}" in page.text
    assert "城市概览" in page.text and "省内排名" in page.text
    assert 'id="city-data"' in page.text and 'data-chart="radar"' in page.text


def test_english_switch(site: Site) -> None:
    with site.client("viewer") as c:
        page = c.get(f"/cities/{site.city}?lang=en")
    assert "city overview" in page.text
    assert "Rank in province" in page.text


def test_viewer_is_refused_other_cities_and_unknown_codes(site: Site) -> None:
    with site.client("viewer") as c:
        assert c.get(f"/cities/{site.other_city}").status_code == 403
        assert c.get(f"/api/cities/{site.other_city}/overview").status_code == 403
        assert c.get("/api/cities/999999/overview").status_code == 404
    with site.client() as anonymous:
        assert anonymous.get(f"/api/cities/{site.city}/overview").status_code == 401
        page = anonymous.get(f"/cities/{site.city}", follow_redirects=False)
        assert page.status_code == 303 and "/login" in page.headers["location"]


def test_analyst_sees_province_cities_not_others(site: Site) -> None:
    with site.client("analyst") as c:
        assert c.get(f"/api/cities/{site.city}/overview").status_code == 200
        assert c.get(f"/api/cities/{site.other_city}/overview").status_code == 403
    with site.client("outsider") as c:
        assert c.get(f"/api/cities/{site.city}/overview").status_code == 403
        assert c.get(f"/api/cities/{site.other_city}/overview").status_code == 200


def test_best_city_is_named_only_when_visible(site: Site) -> None:
    with site.client("admin") as c:
        shown = c.get(f"/api/cities/{site.city}/overview").json()
    assert shown["best_unit"] is not None
    best = shown["best_unit"]
    hidden_from = "viewer" if best != site.city else "outsider"
    own = site.city if hidden_from == "viewer" else site.other_city
    with site.client(hidden_from) as c:
        data = c.get(f"/api/cities/{own}/overview").json()
    assert data["best_unit"] is None
    assert data["best_name"] == "最优城市"
    assert [d["best"] for d in data["dimensions"]] == [d["best"] for d in shown["dimensions"]]


def test_bad_year_and_run(site: Site) -> None:
    with site.client("viewer") as c:
        assert c.get(f"/api/cities/{site.city}/overview?year=1990").status_code == 422
        assert c.get(f"/api/cities/{site.city}/overview?run=9999").status_code == 404
        page = c.get(f"/cities/{site.city}?run=9999")
        assert page.status_code == 404 and "9999" in page.text


def test_no_run_yet_is_a_friendly_page(tmp_path: Path) -> None:
    for url in new_database_url("sqlite", tmp_path):
        site = make_site(url, tmp_path)
        with site.client("viewer") as c:
            page = c.get(f"/cities/{site.city}?framework=iso37122-2019")
            api = c.get("/api/ranking?framework=iso37122-2019")
        site.db.dispose()
    assert page.status_code == 404
    assert "请评估员先运行一次评估" in page.text
    assert api.status_code == 404 and "iso37122-2019" in api.json()["detail"]


def test_run_is_cached_once(site: Site) -> None:
    view = dashboard_cache.run_view(site.db, site.run_id, None)
    assert dashboard_cache.run_view(site.db, site.run_id, None) is view


def test_guard_reads_the_cached_regions_of_each_database(site: Site, tmp_path: Path) -> None:
    def request(db: Database) -> Request:
        return Request({"type": "http", "app": SimpleNamespace(state=SimpleNamespace(db=db))})

    viewer = Principal(username="v", role=Role.VIEWER, scope=site.city)
    units = guard.authorise_unit(request(site.db), viewer, Action.VIEW_DASHBOARD, site.city)
    assert units is dashboard_cache.regions(site.db).units
    # Another database without regions (its own URL: a new file, a new PostgreSQL database)
    # is not answered from the site's cached regions.
    for url in new_database_url(site.db.engine.dialect.name, tmp_path):
        empty = Database.open(Settings(database_url=url))
        empty.upgrade()
        assert empty.url != site.db.url
        with pytest.raises(HTTPException) as refused:
            guard.authorise_unit(request(empty), viewer, Action.VIEW_DASHBOARD, site.city)
        empty.dispose()
    assert refused.value.status_code == 404


def chart_option(page: Any, element: str) -> Any:
    page.wait_for_selector(f"#{element}[data-rendered=true] svg")
    return page.evaluate(
        f"() => echarts.getInstanceByDom(document.getElementById('{element}')).getOption()"
    )


def test_charts_render_in_chromium(server: str, browser: Any, site: Site) -> None:
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    page = browser_sign_in(browser, server, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/cities/{site.city}")
    radar = chart_option(page, "radar-chart")
    series = radar["series"][0]["data"]
    assert len(series) >= 2
    assert all(len(s["value"]) == 8 for s in series)
    assert page.locator("#radar-chart svg path").count() >= 3
    trend = chart_option(page, "trend-chart")
    assert len(trend["series"]) == 2
    assert len(trend["series"][0]["data"]) == len(trend["xAxis"][0]["data"]) >= 2
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "city-overview.png"), full_page=True)
    page.close()
