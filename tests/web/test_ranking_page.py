"""The ranking page and API: visible cities only, numbers equal the stored run, sorting and
filtering (also through HTMX), the stage distribution, and the charts in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.evaluation.result import TOTAL
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site


def province_cities(site: Site, province: str) -> set[str]:
    table = site.units.table
    return {str(c) for c in table.index[(table["level"] == "city") & (table["parent"] == province)]}


def test_analyst_sees_the_province_cities_only(site: Site) -> None:
    with site.client("analyst") as c:
        data = c.get("/api/ranking").json()
    assert {row["unit"] for row in data["rows"]} == province_cities(site, site.province)
    assert data["visible"] == len(data["rows"]) == 3
    assert site.other_city not in {row["unit"] for row in data["rows"]}


def test_outsider_cannot_see_the_analysts_province(site: Site) -> None:
    with site.client("outsider") as c:
        data = c.get("/api/ranking").json()
        page = c.get("/ranking")
    units = {row["unit"] for row in data["rows"]}
    assert units == {site.other_city}
    assert not units & province_cities(site, site.province)
    assert site.city not in page.text


def test_admin_ranking_equals_the_run(site: Site) -> None:
    with site.client("admin") as c:
        data = c.get("/api/ranking").json()
    scores = site.db.run_scores(site.run_id, max_level=0)
    latest = scores[(scores["year"] == scores["year"].max()) & (scores["node"] == TOTAL)]
    expected = latest.sort_values(["rank", "unit"])
    assert [r["unit"] for r in data["rows"]] == expected["unit"].tolist()
    assert [r["rank"] for r in data["rows"]] == expected["rank"].astype(int).tolist()
    assert [r["total"] for r in data["rows"]] == pytest.approx(expected["score"].tolist())
    assert sum(s["count"] for s in data["stages"]) == len(data["rows"])
    assert all(len(r["dimensions"]) == len(data["dimensions"]) for r in data["rows"])


def test_sort_and_filters(site: Site) -> None:
    with site.client("admin") as c:
        by_change = c.get("/api/ranking?sort=change&order=asc").json()["rows"]
        changes = [r["change"] for r in by_change if r["change"] is not None]
        assert changes == sorted(changes)
        by_name = c.get("/api/ranking?sort=L1").json()["rows"]
        firsts = [r["dimensions"][0] for r in by_name]
        assert firsts == sorted(firsts, reverse=True)
        province = c.get(f"/api/ranking?province={site.province}").json()["rows"]
        assert {r["unit"] for r in province} == province_cities(site, site.province)
        cluster = next(iter(c.get("/api/ranking").json()["clusters"]))
        in_cluster = c.get("/api/ranking", params={"cluster": cluster}).json()["rows"]
        assert in_cluster and all(cluster in r["clusters"] for r in in_cluster)
        smart = c.get("/api/ranking?stage=smart").json()
        assert all(r["stage"] == "smart" for r in smart["rows"])
        one = c.get("/api/ranking", params={"q": site.city}).json()["rows"]
        assert [r["unit"] for r in one] == [site.city]
        assert c.get("/api/ranking?sort=nonsense").status_code == 422
        assert c.get("/api/ranking?x=nonsense").status_code == 422


def test_htmx_gets_the_results_fragment(site: Site) -> None:
    with site.client("analyst") as c:
        page = c.get("/ranking")
        fragment = c.get("/ranking?sort=total&order=asc", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "<html" in page.text
    assert 'hx-get="/ranking?' in page.text
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="ranking-table"' in fragment.text and 'id="ranking-data"' in fragment.text
    rows = fragment.text.split('data-unit="')[1:]
    assert len(rows) == 3


def test_english_and_forbidden(site: Site) -> None:
    with site.client("viewer") as c:
        assert "City ranking" in c.get("/ranking?lang=en").text
    with site.client() as anonymous:
        assert anonymous.get("/api/ranking").status_code == 401


def chart_option(page: Any, element: str) -> Any:
    page.wait_for_selector(f"#{element}[data-rendered=true] svg")
    return page.evaluate(
        f"() => echarts.getInstanceByDom(document.getElementById('{element}')).getOption()"
    )


def test_ranking_charts_in_chromium(server: str, browser: Any, site: Site) -> None:
    from playwright.sync_api import expect

    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    page = browser_sign_in(browser, server, "admin")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/ranking")
    bar = chart_option(page, "bar-chart")
    assert len(bar["series"][0]["data"]) == page.locator("#ranking-table tbody tr").count() > 10
    assert len(chart_option(page, "scatter-chart")["series"][0]["data"]) > 10
    assert sum(d["value"] for d in chart_option(page, "stage-chart")["series"][0]["data"]) > 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ranking.png"), full_page=False)
    # A filter change re-fetches the results through HTMX and the charts follow.
    page.select_option("select[name=province]", site.province)
    expect(page.locator("#ranking-table tbody tr")).to_have_count(3)
    bar = chart_option(page, "bar-chart")
    assert len(bar["series"][0]["data"]) == 3
    page.click("#ranking-table th >> text=总得分")
    expect(page.locator("#ranking-table th[aria-sort] a")).to_contain_text("总得分")
    assert errors == []
    page.close()
