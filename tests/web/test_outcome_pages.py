"""The outcome-assessment page and API on a site of their own (both backends): who may see and
who may assess, the verdicts and skipped projects on the page, the JSON shapes, feedback's
before/after table, and the forest plot rendered in Chromium (SQLite only, screenshot)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cityloop.services.outcomes import assess_outcomes
from tests.services.test_outcomes import deliver, delivered_project, plant_values
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.site import Site, csrf_of, make_site

AS_OF = "2026-06-30"


@pytest.fixture(scope="module", params=BACKENDS)
def assessed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A site whose city delivered a project with a planted effect, an expensive one with none
    and a recent one; another city of the province runs the expensive one too."""
    folder = tmp_path_factory.mktemp(f"outcome-site-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        db, city = site.db, site.city
        plant_values(db, city, site.units.of_level("city"))
        db.tracking.create(city, [
            delivered_project("e_license", "电子证照", 2023, date(2023, 11, 30)),
            delivered_project("gigabit_broadband", "千兆光网", 2021, date(2023, 11, 30)),
            delivered_project("credit_platform", "信用平台", 2025, date(2025, 11, 30)),
        ], actor="planner")  # fmt: skip
        deliver(db, city, "e_license", date(2023, 11, 30), 800.0)
        deliver(db, city, "gigabit_broadband", date(2023, 11, 30), 7500.0)
        deliver(db, city, "credit_platform", date(2025, 11, 30), 700.0)
        yield site
        site.db.dispose()


def page_of(site: Site) -> str:
    return f"/supervision/{site.city}/outcomes"


def test_who_may_see_and_who_may_assess(assessed: Site) -> None:
    page = page_of(assessed)
    before = len(assessed.db.outcomes.reports(assessed.city))
    for username in ("viewer", "officer", "outsider"):
        with assessed.client(username) as client:
            assert client.get(page).status_code == 403
            assert client.get(f"/api/supervision/{assessed.city}/outcomes").status_code == 403
    with assessed.client("manager") as manager:  # reads, cannot assess nor feed back
        shown = manager.get(page)
        assert shown.status_code == 200 and 'data-testid="outcome-actions"' not in shown.text
        token = csrf_of(manager, page)
        form = {"csrf_token": token, "as_of": AS_OF}
        assert manager.post(f"{page}/assess", data=form).status_code == 403
        assert manager.post(f"{page}/feedback", data=form).status_code == 403
        api = f"/api/supervision/{assessed.city}/outcomes"
        assert manager.post(f"{api}/assess", json={"as_of": AS_OF}).status_code == 403
        assert manager.post(f"{api}/feedback").status_code == 403
    assert len(assessed.db.outcomes.reports(assessed.city)) == before


def test_assessing_shows_the_verdicts_and_the_api_returns_them(assessed: Site) -> None:
    page, city = page_of(assessed), assessed.city
    with assessed.client("analyst") as analyst:
        token = csrf_of(analyst, page)
        refused = analyst.post(f"{page}/assess", data={"csrf_token": token, "as_of": "30/06"})
        assert refused.status_code == 422 and "30/06" in refused.text
        made = analyst.post(
            f"{page}/assess", data={"csrf_token": token, "as_of": AS_OF}, follow_redirects=False
        )
        assert made.status_code == 303
        shown = analyst.get(made.headers["location"])
        assert shown.status_code == 200
        text = shown.text
        assert 'data-verdict="delivered"' in text and 'data-verdict="big_plan_small_result"' in text
        assert "规划大、成效小" in text
        assert 'class="outcome-alarm"' in text and 'data-chart="outcomeForest"' in text
        assert 'data-testid="outcome-skipped"' in text and "交付后年份不足" in text

        listed = analyst.get(f"/api/supervision/{city}/outcomes").json()
        assert [r["verdicts"] for r in listed] == [{"delivered": 1, "big_plan_small_result": 1}]
        report = analyst.get(f"/api/supervision/{city}/outcomes/{listed[0]['id']}").json()
        assert set(report) >= {"id", "unit", "as_of", "projects", "skipped", "created_by"}
        by_code = {p["code"]: p for p in report["projects"]}
        (effect,) = by_code["e_license"]["indicators"]
        assert set(effect) >= {"indicator", "low", "likely", "high", "estimate", "ci_low",
                               "ci_high", "std_error", "method", "n_controls", "verdict",
                               "cost_per_unit", "pre_trend_ok"}  # fmt: skip
        assert [s["code"] for s in report["skipped"]] == ["credit_platform"]
        assert analyst.get(f"/api/supervision/{city}/outcomes/999999").status_code == 404
        assert analyst.get(f"{page}?report=999999").status_code == 404
        api = analyst.post(f"/api/supervision/{city}/outcomes/assess", json={"as_of": AS_OF})
        assert api.status_code == 201 and api.json()["projects"] == report["projects"]
    with assessed.client("outsider") as outsider:
        assert outsider.get(f"/api/supervision/{city}/outcomes/{report['id']}").status_code == 403


def test_feedback_shows_before_and_after_then_nothing_new(assessed: Site) -> None:
    page, city = page_of(assessed), assessed.city
    with assessed.client("admin") as admin:
        token = csrf_of(admin, page)
        admin.post(f"{page}/assess", data={"csrf_token": token, "as_of": AS_OF})
        first = admin.post(
            f"{page}/feedback", data={"csrf_token": token}, headers={"HX-Request": "true"}
        )
        assert first.status_code == 200 and 'data-testid="outcome-changes"' in first.text
        assert 'data-project="gigabit_broadband"' in first.text
        again = admin.post(f"/api/supervision/{city}/outcomes/feedback")
        assert again.status_code == 200 and again.json() == []
        assert (
            'data-testid="outcome-no-changes"'
            in admin.post(f"{page}/feedback", data={"csrf_token": token}).text
        )


@pytest.fixture
def served(assessed: Site) -> Iterator[str]:
    """The outcome site served on loopback (with a report to show) for the browser."""
    if assessed.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    if not assessed.db.outcomes.reports(assessed.city):
        assess_outcomes(assessed.db, assessed.city, actor="fixture", as_of=date(2026, 6, 30))
    yield from serve(assessed.app)


def test_the_forest_plot_renders_in_chromium(assessed: Site, served: str, browser: Any) -> None:
    page = browser_sign_in(browser, served, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{served}{page_of(assessed)}")
    page.wait_for_selector("#outcome-forest[data-rendered=true] svg", timeout=30_000)
    assert page.locator("#outcome-forest svg path").count() > 3
    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=str(Path(SCREENSHOTS) / "supervision-outcomes.png"), full_page=True)
    page.close()
