"""The robustness page and API: who may look and who may start an analysis, CSRF, the web's
replication limit, visible units only, reproducible from the seed; in Chromium a 2,000
replication analysis with its rank-interval chart and Sobol bars drawn."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, csrf_of


def form(csrf: str, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": csrf, "replications": "300", "seed": "11", **fields}


def test_who_may_look_and_who_may_start(site: Site) -> None:
    url = f"/runs/{site.run_id}/robustness"
    with site.client("analyst") as analyst:
        page = analyst.get(url)
        assert page.status_code == 200 and 'data-testid="robustness-form"' in page.text
    with site.client("manager") as manager:
        page = manager.get(url)
        assert page.status_code == 200 and 'data-testid="robustness-view-only"' in page.text
        assert 'name="replications"' not in page.text
        csrf = csrf_of(manager, url)
        assert manager.post(url, data=form(csrf)).status_code == 403
        api = manager.post(f"/api/runs/{site.run_id}/uncertainty", json={"replications": 50})
        assert api.status_code == 403
    with site.client("viewer") as viewer:
        assert viewer.get(url).status_code == 403
    with site.client("analyst") as analyst:
        assert analyst.post(url, data=form("not-the-token")).status_code == 403
        assert analyst.get("/runs/9999/robustness").status_code == 404


def test_an_analysis_shows_charts_and_the_visible_units_with_the_seed(site: Site) -> None:
    url = f"/runs/{site.run_id}/robustness"
    with site.client("analyst") as analyst:
        csrf = csrf_of(analyst, url)
        fields = form(csrf, aggregations=["arithmetic", "geometric"], sobol="on")
        page = analyst.post(url, data=fields)
        assert page.status_code == 200
        assert 'data-chart="rankIntervals"' in page.text
        assert 'data-chart="sensitivityBars"' in page.text
        assert len(re.findall(r'<tr data-unit="(\d+)"', page.text)) == 3  # the province
        assert "seed: 11" in page.text and "随机种子 11" in page.text
        data = re.search(r'id="intervals-data">(.*?)</script>', page.text)
        assert data is not None and len(json.loads(data.group(1))["names"]) == 3
        again = analyst.post(url, data=fields)
        table = re.compile(r'<table class="data" data-testid="robustness-table">.*?</table>', re.S)
        assert table.search(page.text).group(0) == table.search(again.text).group(0)  # type: ignore[union-attr]


def test_too_many_or_bad_numbers_are_refused_with_a_clear_message(site: Site) -> None:
    url = f"/runs/{site.run_id}/robustness"
    with site.client("analyst") as analyst:
        csrf = csrf_of(analyst, url)
        big = analyst.post(url, data=form(csrf, replications="50000"))
        assert big.status_code == 422
        assert "cityloop uncertainty" in big.text and "--scheduler" in big.text
        bad = analyst.post(url, data=form(csrf, replications="lots"))
        assert bad.status_code == 422 and "replications" in bad.text and "lots" in bad.text
        assert 'value="lots"' in bad.text  # the form comes back as typed


def test_json_api(site: Site) -> None:
    url = f"/api/runs/{site.run_id}/uncertainty"
    with site.client("analyst") as analyst:
        body = {"replications": 200, "seed": 5, "leave_out": "dimension"}
        first = analyst.post(url, json=body)
        assert first.status_code == 200
        answer = first.json()
        assert len(answer["summary"]) == 3 and answer["spec"]["seed"] == 5
        assert {row["factor"] for row in answer["sensitivity"]} >= {"leave_out"}
        assert analyst.post(url, json=body).json()["summary"] == answer["summary"]
        assert analyst.post(url, json={"replications": 20_001}).status_code == 422
        assert analyst.post(url, json={"replication": 5}).status_code == 422
        assert analyst.post("/api/runs/9999/uncertainty", json={}).status_code == 404
        assert analyst.post(url, json={}, headers={"X-CSRF-Token": ""}).status_code == 403


def test_robustness_in_chromium(site: Site, server: str, browser: Any) -> None:
    if "postgresql" in site.db.url:
        pytest.skip("the browser flow runs once, on SQLite; the pages are the same")
    errors: list[str] = []
    page = browser_sign_in(browser, server, "analyst")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/runs/{site.run_id}")
    page.click("[data-testid=robustness-link]")
    page.fill("[data-testid=replications]", "2000")
    page.check("input[name=aggregations][value=geometric]")
    page.click("[data-testid=run-robustness]")
    page.wait_for_selector("#rank-intervals[data-rendered=true] svg")
    page.wait_for_selector("#sensitivity-bars[data-rendered=true] svg")
    assert page.locator("#rank-intervals svg path").count() >= 3 * 2  # bars and markers
    assert "示例市" in page.locator("#rank-intervals svg").inner_html()
    bars = page.locator("#sensitivity-bars svg path").count()
    assert bars >= 2 * page.locator("[data-testid=sensitivity-table] tbody tr").count()
    assert page.locator("[data-testid=robustness-table] tbody tr").count() == 3
    assert "20261201" in page.locator("[data-testid=robustness-seed]").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "robustness.png"), full_page=True)
    assert errors == []
    page.close()
