"""The what-if page, its HTMX fragment and JSON API: permissions, CSRF, visible units only, and
in Chromium a slider move that re-ranks the cities and re-draws the chart."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, csrf_of

DIMENSIONS = [f"L{i}" for i in range(1, 9)]  # GB/T 33356-2016's eight first-level dimensions
HX = {"HX-Request": "true"}


def slider_form(csrf: str, weights: dict[str, float], year: int | None = None) -> dict[str, Any]:
    """The form as the page posts it: every dimension code with its slider's value."""
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "code": list(weights),
        "weight": [str(w) for w in weights.values()],
    }
    if year is not None:
        form["year"] = str(year)
    return form


def test_page_has_a_slider_per_dimension_and_only_visible_units(site: Site) -> None:
    with site.client("analyst") as analyst:
        page = analyst.get(f"/runs/{site.run_id}/whatif")
    assert page.status_code == 200
    for code in DIMENSIONS:
        assert f'data-testid="weight-{code}"' in page.text
    assert 'hx-trigger="input changed delay:150ms' in page.text
    units = re.findall(r'<tr data-unit="(\d+)"', page.text)
    assert len(units) == 3 and site.city in units  # the analyst's province has three cities
    assert page.text.count('data-chart="whatifBars"') == 1
    with site.client("manager") as manager:  # project managers may look at runs
        assert manager.get(f"/runs/{site.run_id}/whatif").status_code == 200
    with site.client("viewer") as viewer:
        assert viewer.get(f"/runs/{site.run_id}/whatif").status_code == 403
        assert viewer.post(f"/api/runs/{site.run_id}/whatif", json={}).status_code == 403


def test_fragment_re_ranks_and_needs_the_csrf_token(site: Site) -> None:
    with site.client("admin") as admin:
        csrf = csrf_of(admin, f"/runs/{site.run_id}/whatif")
        heavy = {code: (100.0 if code == "L3" else 1.0) for code in DIMENSIONS}
        url = f"/runs/{site.run_id}/whatif"
        assert admin.post(url, data=slider_form("wrong", heavy), headers=HX).status_code == 403
        fragment = admin.post(url, data=slider_form(csrf, heavy), headers=HX)
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<section class="whatif-result"')
        changed = int(re.search(r'data-changed="(\d+)"', fragment.text).group(1))  # type: ignore[union-attr]
        assert changed > 0
        api = admin.post(f"/api/runs/{site.run_id}/whatif", json={"weights": heavy}).json()
        assert api["changed"] == changed and len(api["units"]) == 62
        # The fragment lists the API's ranking, best first.
        units = re.findall(r'<tr data-unit="(\d+)" data-rank="(\d+)"', fragment.text)
        assert [(u["unit"], str(u["rank"])) for u in api["units"]] == units
        bad = slider_form(csrf, {"L1": "abc"})  # type: ignore[dict-item]
        refused = admin.post(url, data=bad, headers=HX)
        assert refused.status_code == 422 and "L1" in refused.text


def test_api_reranks_visible_units_and_refuses_bad_weights(site: Site) -> None:
    with site.client("analyst") as analyst:
        url = f"/api/runs/{site.run_id}/whatif"
        same = analyst.post(url, json={}).json()
        assert same["changed"] == 0 and same["ranked"] == 62 and len(same["units"]) == 3
        assert all(u["rank"] == u["run_rank"] and u["shift"] == 0 for u in same["units"])
        assert sum(same["run_weights"].values()) == pytest.approx(1.0)
        only = analyst.post(url, json={"weights": dict.fromkeys(DIMENSIONS[1:], 0)}).json()
        assert only["weights"]["L1"] == 1.0 and only["aggregation"] == "arithmetic"
        refused = analyst.post(url, json={"weights": {"L1": -2}})
        assert refused.status_code == 422 and "L1" in refused.json()["detail"]
        unknown = analyst.post(url, json={"weights": {"X9": 1}})
        assert unknown.status_code == 422 and "X9" in unknown.json()["detail"]
        assert analyst.post("/api/runs/9999/whatif", json={}).status_code == 404
        assert analyst.post(url, json={"year": 1999}).status_code == 422
        no_token = analyst.post(url, json={}, headers={"X-CSRF-Token": ""})
        assert no_token.status_code == 403


def test_move_a_weight_in_chromium(site: Site, server: str, browser: Any) -> None:
    if "postgresql" in site.db.url:
        pytest.skip("the browser flow runs once, on SQLite; the pages are the same")
    from playwright.sync_api import expect

    errors: list[str] = []
    page = browser_sign_in(browser, server, "analyst")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/runs/{site.run_id}")
    page.click("[data-testid=whatif-link]")
    page.wait_for_selector("#whatif-chart[data-rendered=true] svg")
    before = page.locator("[data-testid=whatif-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.unit + ':' + r.dataset.rank)"
    )
    page.eval_on_selector("#whatif-chart", "el => { el.dataset.stale = 'yes'; }")
    # All weight on 生态宜居 (L3): the province's cities are ranked by that dimension alone.
    for code in DIMENSIONS:
        page.fill(f"[data-testid=weight-{code}]", "100" if code == "L3" else "0")
    expect(page.locator("[data-weight=L3]")).to_have_text("100.0 %")
    expect(page.locator("[data-testid=whatif-result]")).not_to_have_attribute("data-changed", "0")
    page.wait_for_selector("#whatif-chart:not([data-stale])[data-rendered=true] svg")
    after = page.locator("[data-testid=whatif-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.unit + ':' + r.dataset.rank)"
    )
    assert after != before
    assert page.locator("#whatif-chart svg path").count() >= 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "whatif.png"), full_page=True)
    assert errors == []
    page.close()
