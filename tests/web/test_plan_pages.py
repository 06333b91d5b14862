"""Plan pages and API: who sees and who solves, the HTMX solve with its charts, why-not,
scenarios, saving a plan (on a fresh site), its page, Excel and API, and the charts in Chromium.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

from cityloop.evaluation.weights import ahp_weights
from cityloop.services import plan as service
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, csrf_of, make_site

FORM = {"budget": "5000", "staff": "30", "phase_years": "2, 2, 1", "case": "likely"}


def solve(client: Any, city: str, **changes: str) -> Any:
    token = csrf_of(client, f"/plan/units/{city}")
    form = FORM | {"csrf_token": token} | changes
    return client.post(f"/plan/units/{city}/solve", data=form, headers={"HX-Request": "true"})


def test_index_lists_the_users_cities_and_links_the_other_plan_pages(site: Site) -> None:
    with site.client("analyst") as analyst:
        page = analyst.get("/plan")
    assert page.status_code == 200
    assert 'href="/plan"' in page.text  # the nav link
    assert f'href="/plan/units/{site.city}"' in page.text
    assert f'href="/plan/diagnosis/{site.city}"' in page.text
    assert f'data-unit="{site.other_city}"' not in page.text  # another province
    with site.client("viewer") as viewer:
        assert viewer.get("/plan", follow_redirects=False).status_code == 403
        assert 'href="/plan"' not in viewer.get("/").text


def test_a_project_manager_sees_scores_but_cannot_solve(site: Site) -> None:
    with site.client("manager") as manager:
        page = manager.get(f"/plan/units/{site.city}")
        assert page.status_code == 200
        assert 'data-testid="plan-view-only"' in page.text
        assert 'data-testid="plan-form"' not in page.text
        assert page.text.count('<tr data-code="') > 20  # the scored candidates
        assert solve(manager, site.city).status_code == 403
        assert manager.post(f"/api/plan/units/{site.city}/solve", json={}).status_code == 403
        assert manager.get(f"/api/plan/units/{site.city}/scores").status_code == 200
    with site.client("outsider") as outsider:
        assert outsider.get(f"/plan/units/{site.city}").status_code == 403


def test_the_htmx_solve_returns_the_result_with_its_chart_data(site: Site) -> None:
    with site.client("analyst") as analyst:
        result = solve(analyst, site.city)
    assert result.status_code == 200 and "<html" not in result.text  # a fragment
    assert 'data-status="optimal"' in result.text
    for chart in ("planGantt", "planBudget", "planTrajectory"):
        assert f'data-chart="{chart}"' in result.text
    chosen = int(re.search(r'data-chosen="(\d+)"', result.text).group(1))  # type: ignore[union-attr]
    assert chosen > 0 and result.text.count('"start":') >= chosen  # a Gantt row per project


def test_bad_settings_are_refused_naming_the_field(site: Site) -> None:
    with site.client("analyst") as analyst:
        refused = solve(analyst, site.city, budget="1, 2")
        assert refused.status_code == 422 and "budget" in refused.text
        api = analyst.post(f"/api/plan/units/{site.city}/solve", json={"case": "best"})
        assert api.status_code == 422 and "case" in api.text


def test_the_api_solve_and_why_not(site: Site) -> None:
    with site.client("analyst") as analyst:
        view = analyst.post(
            f"/api/plan/units/{site.city}/solve", json={"budget": [5000], "staff": [30]}
        ).json()
        assert view["status"] == "optimal" and view["unit"] == site.city
        left_out = next(p["code"] for p in view["projects"] if not p["chosen"])
        token = csrf_of(analyst, f"/plan/units/{site.city}")
        why = analyst.post(
            f"/plan/units/{site.city}/why-not",
            data={"csrf_token": token, "project": left_out,
                  "settings_json": '{"budget": [5000], "staff": [30]}'},
            headers={"HX-Request": "true"},
        )  # fmt: skip
    assert why.status_code == 200 and 'data-testid="why-not-result"' in why.text


def test_the_scenarios_page_compares_side_by_side(site: Site) -> None:
    with site.client("analyst") as analyst:
        page = analyst.get(f"/plan/units/{site.city}/scenarios?budget=5000&staff=30")
    assert page.status_code == 200
    assert page.text.count("data-scenario=") == 3  # base, budget −20 %, shorter last phase
    assert 'data-testid="robustness-table"' in page.text


@pytest.fixture(scope="module", params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A site of its own for the tests that save plans."""
    folder = tmp_path_factory.mktemp(f"plan-site-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        yield built
        built.db.dispose()


def test_saving_a_plan_then_reading_and_exporting_it(fresh: Site) -> None:
    with fresh.client("analyst") as analyst:
        token = csrf_of(analyst, f"/plan/units/{fresh.city}")
        saved = analyst.post(
            f"/plan/units/{fresh.city}/save",
            data={"csrf_token": token, "name": "示意规划A",
                  "settings_json": '{"budget": [5000], "staff": [30]}'},
            follow_redirects=False,
        )  # fmt: skip
        assert saved.status_code == 303
        url = saved.headers["location"]
        plan_id = int(url.rsplit("/", 1)[1])
        page = analyst.get(url)
        assert page.status_code == 200 and "示意规划A" in page.text
        assert 'data-chart="planGantt"' in page.text and "why-not" not in page.text
        book = openpyxl.load_workbook(io.BytesIO(analyst.get(f"{url}/export.xlsx").content))
        stored = service.plan(fresh.db, plan_id).view
        rows = list(book.worksheets[1].iter_rows(values_only=True))[1:]
        assert [r[0] for r in rows] == [p.code for p in stored.chosen]
        listed = analyst.get("/api/plan/plans").json()
        assert [p["id"] for p in listed] == [plan_id] and listed[0]["name"] == "示意规划A"
        assert analyst.get(f"/api/plan/plans/{plan_id}").json()["view"]["unit"] == fresh.city
        assert f'href="/plan/saved/{plan_id}"' in analyst.get("/plan").text
        api = analyst.post(f"/api/plan/units/{fresh.city}/plans", json={"name": "B"})
        assert api.status_code == 201 and api.json()["name"] == "B"
        assert analyst.get("/plan/saved/999999").status_code == 404
    with fresh.client("manager") as manager:  # reads plans, cannot save
        assert manager.get(url).status_code == 200
        assert (
            manager.post(f"/api/plan/units/{fresh.city}/plans", json={"name": "C"}).status_code
            == 403
        )
    with fresh.client("outsider") as outsider:
        assert outsider.get(url).status_code == 403


def test_solve_renders_the_three_charts_in_chromium(server: str, browser: Any, site: Site) -> None:
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    page = browser_sign_in(browser, server, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server}/plan/units/{site.city}")
    page.fill("input[name=budget]", "5000")
    page.fill("input[name=staff]", "30")
    page.fill("[data-testid=plan-built]", "gov_extranet, gov_cloud")
    page.click("[data-testid=plan-solve]")
    for chart in ("plan-gantt", "plan-budget", "plan-trajectory"):
        page.wait_for_selector(f"#{chart}[data-rendered=true] svg", timeout=30_000)
    assert page.locator("#plan-gantt svg rect, #plan-gantt svg path").count() > 3
    left_out = page.locator("tr[data-code=gov_cloud]").first.inner_text()
    assert "已建成" in left_out
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.locator("[data-testid=plan-summary]").evaluate("e => e.scrollIntoView()")
    page.screenshot(path=str(Path(SCREENSHOTS) / "plan.png"), full_page=False)
    page.close()


def test_the_diagnosis_fills_in_its_suggested_shares(site: Site) -> None:
    with site.client("analyst") as analyst:
        plain = analyst.get(f"/plan/units/{site.city}")
        suggested = analyst.get(f"/plan/units/{site.city}?shares=diagnosis")
    assert suggested.status_code == 200
    filled = re.findall(r'name="share_\w+" inputmode="decimal" value="([^"]+)"', suggested.text)
    assert filled and not re.findall(r'name="share_\w+" inputmode="decimal" value="([^"]+)"',
                                     plain.text)  # fmt: skip


def test_ahp_judgments_from_the_form_weight_the_scores(site: Site) -> None:
    # Importance twice as strong as foundation and five times the three cost factors.
    matrix = "\n".join(["1, 1/2, 3, 3, 3", "2, 1, 5, 5, 5", *["1/3, 1/5, 1, 1, 1"] * 3])
    expected = ahp_weights(np.array([[float(Fraction(v)) for v in row.split(", ")]
                                     for row in matrix.split("\n")]))  # fmt: skip
    with site.client("analyst") as analyst:
        result = solve(analyst, site.city, judgments=matrix)
        refused = solve(analyst, site.city, judgments="1, x")
    shown = re.search(r'data-testid="plan-weights">([^<]+)<', result.text)
    assert result.status_code == 200 and shown is not None
    assert "AHP" in shown.group(1) and "CR = " in shown.group(1)
    assert f"{expected.weights[1]:.3f}" in shown.group(1)  # importance, as AHP weighted it
    assert refused.status_code == 422 and "1, x" in refused.text
