"""Supervision pages and API on a site of their own (both backends): starting to track the demo
plan, the dashboard's lights, earned value, S-curve and warnings, a project's page, progress
reports by the project manager who owns the project only, and the charts in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import SCREENSHOTS, browser_sign_in, serve
from tests.web.tracked_site import Tracked, post_form, tracked

__all__ = ["tracked"]  # the shared module-scoped fixture, built once per backend here


def test_the_index_counts_and_offers_tracking_where_nothing_is_tracked(tracked: Tracked) -> None:
    site = tracked.site
    with site.client("analyst") as analyst:
        page = analyst.get("/supervision")
        assert 'href="/supervision"' in page.text  # the nav link
        row = page.text.split(f'data-unit="{site.city}"')[1].split("</tr>")[0]
        assert f'href="/supervision/{site.city}"' in row and "track-plan" not in row
        assert f'data-unit="{site.other_city}"' not in page.text  # another province
        units = analyst.get("/api/supervision").json()
        assert [u["unit"] for u in units] == [site.city]
        assert units[0]["projects"] >= 4 and units[0]["budget"] > 0
    with site.client("admin") as admin:
        page = admin.get("/supervision")
        row = page.text.split(f'data-unit="{site.other_city}"')[1].split("</tr>")[0]
        assert "track-plan-" in row  # saved, not tracked: the start-tracking form
    with site.client("manager") as manager:  # a project manager sees, cannot start tracking
        assert "track-plan-" not in manager.get("/supervision").text


def test_tracking_again_adds_nothing_and_says_so(tracked: Tracked) -> None:
    site = tracked.site
    with site.client("analyst") as analyst:
        again = post_form(analyst, f"/supervision/{site.city}/track",
                          {"plan_id": str(tracked.plan_id)}, "/supervision")  # fmt: skip
        assert again.status_code == 303
        assert "未新增任何项目" in analyst.get(again.headers["location"]).text
        api = analyst.post(f"/api/supervision/{site.city}/track", json={"plan_id": tracked.plan_id})
        assert api.status_code == 200 and api.json()["added"] == []
        other = post_form(analyst, f"/supervision/{site.city}/track", {"plan_id": "999"},
                          "/supervision")  # fmt: skip
        assert other.status_code == 422 and "999" in other.text
    with site.client("manager") as manager:
        assert manager.post(f"/api/supervision/{site.city}/track",
                            json={"plan_id": tracked.plan_id}).status_code == 403  # fmt: skip


def test_the_dashboard_shows_lights_evm_curve_and_warnings(tracked: Tracked) -> None:
    site = tracked.site
    with site.client("analyst") as analyst:
        page = analyst.get(f"/supervision/{site.city}?as_of=2027-06-30")
        board = analyst.get(f"/api/supervision/{site.city}?as_of=2027-06-30").json()
        bad = analyst.get(f"/supervision/{site.city}?as_of=30.06.2027")
    assert page.status_code == 200
    for chart in ("supLights", "supCurve"):
        assert f'data-chart="{chart}"' in page.text
    for figure in ("bac", "pv", "ev", "ac", "spi", "cpi", "eac", "vac"):
        assert f'data-figure="{figure}"' in page.text
    lights = re.findall(r'<tr data-code="[^"]+" data-light="(\w+)"', page.text)
    assert len(lights) == len(board["projects"]) and lights == sorted(
        lights, key=["red", "amber", "green"].index
    )
    # Nothing reported by mid-2027: the first-phase projects are behind and warned about.
    assert "red" in lights and board["warnings"]
    assert 'data-testid="supervision-warnings"' in page.text
    assert board["warnings"][0]["message"] in page.text
    assert 'data-testid="outcomes-link"' in page.text
    assert 'data-testid="progress-upload-link"' not in page.text  # an evaluator does not report
    assert len(board["spending"]) == 2 and 'data-testid="supervision-spending"' in page.text
    # phases in the order the plan runs them (启动实施 → 持续推进 → 应用拓展), not by name
    assert [g["group"] for g in board["phases"]] == ["启动实施", "持续推进", "应用拓展"]
    assert bad.status_code == 422 and "30.06.2027" in bad.text
    with site.client("pm_data") as pm:
        mine = pm.get(f"/supervision/{site.city}").text
        assert 'data-testid="progress-upload-link"' in mine
        assert 'data-testid="progress-template-link"' in mine


def progress_form(page: str) -> dict[str, str]:
    """The progress form's fields as the page fills them (inputs and the selected options)."""
    fields = dict(re.findall(r'<input (?:type="date" )?name="([^"]+)"[^>]*?value="([^"]*)"', page))
    fields |= dict(re.findall(r'<select name="([^"]+)">.*?<option value="([^"]+)" selected', page))
    return {k: v for k, v in fields.items() if k != "csrf_token"}


def test_the_owner_reports_progress_and_a_bad_report_changes_nothing(tracked: Tracked) -> None:
    site, url = tracked.site, f"/supervision/{tracked.site.city}/projects/{tracked.own}"
    with site.client("pm_data") as pm:
        page = pm.get(url)
        assert page.status_code == 200 and 'data-testid="progress-form"' in page.text
        assert 'data-testid="baseline-link"' in page.text
        form = progress_form(page.text)
        assert form["milestones.1.percent_complete"] == "0" and form["status"] == "active"
        bad = post_form(
            pm,
            url,
            form
            | {
                "report_date": "2026-06-30",
                "milestones.1.percent_complete": "150",
                "spend.day": "2026-06-01",
                "spend.amount": "abc",
            },
            url,
        )
        assert bad.status_code == 422
        assert re.search(r'data-error-for="milestones\.1"', bad.text)
        assert re.search(r'data-error-for="spend"', bad.text)
        negative = post_form(pm, url, form | {"spend.day": "2026-06-01", "spend.amount": "-5"}, url)
        assert negative.status_code == 422 and 'data-error-for="spend"' in negative.text
        assert pm.get(f"/api/supervision/{site.city}/projects/{tracked.own}").json()[
            "history"] == []  # fmt: skip
        htmx = post_form(pm, url, form | {"report_date": "bad"}, url, headers={"HX-Request": "1"})
        assert htmx.status_code == 200 and "<html" not in htmx.text
        assert 'data-error-for="report_date"' in htmx.text
        good = post_form(pm, url, form | {"report_date": "2026-06-30",
                                          "milestones.1.percent_complete": "40",
                                          "gates.design_review.passed_date": "2026-03-10",
                                          "spend.day": "2026-05-20", "spend.amount": "300",
                                          "risk.text": "供应商交付延迟", "risk.level": "high",
                                          "note": "一期进展"}, url)  # fmt: skip
        assert good.status_code == 303, good.text
        after = pm.get(url).text
        assert "进度报告已保存" in after and "一期进展" in after and "供应商交付延迟" in after
        detail = pm.get(f"/api/supervision/{site.city}/projects/{tracked.own}").json()
    assert [h["milestones"][0] for h in detail["history"]] == [40.0]
    assert [(p["day"], p["amount"]) for p in detail["payments"]] == [("2026-05-20", 300.0)]
    assert detail["gates"][0]["passed_date"] == "2026-03-10"
    assert detail["milestones"][1]["percent_complete"] == 0.0  # unchanged, not rewritten
    with site.client("pm_data") as pm:
        api = pm.post(f"/api/supervision/{site.city}/projects/{tracked.own}/progress",
                      json={"report_date": "2026-09-30", "percent_complete": 10,
                            "milestones": [{"position": 1, "percent_complete": 80}]})  # fmt: skip
    assert api.status_code == 200 and api.json()["milestones"][0]["percent_complete"] == 80.0


def test_only_the_owner_department_reports(tracked: Tracked) -> None:
    site, foreign = tracked.site, f"/supervision/{tracked.site.city}/projects/{tracked.foreign}"
    report = {"report_date": "2026-06-30", "note": "x"}
    with site.client("pm_data") as pm:
        page = pm.get(foreign)
        assert page.status_code == 200 and 'data-testid="progress-view-only"' in page.text
        assert 'data-testid="progress-form"' not in page.text
        assert post_form(pm, foreign, report, foreign).status_code == 403
        api = pm.post(f"/api/supervision/{site.city}/projects/{tracked.foreign}/progress",
                      json=report)  # fmt: skip
        assert api.status_code == 403
        assert pm.get(f"/api/supervision/{site.city}/projects/{tracked.foreign}").json()[
            "history"] == []  # fmt: skip
    with site.client("analyst") as analyst:  # an evaluator views, never reports
        page = analyst.get(foreign)
        assert page.status_code == 200 and 'data-testid="progress-form"' not in page.text
        assert post_form(analyst, foreign, report, foreign).status_code == 403
    with site.client("admin") as admin:  # an administrator reports on every project
        assert 'data-testid="progress-form"' in admin.get(foreign).text


def test_viewers_officers_and_outsiders_are_refused(tracked: Tracked) -> None:
    site = tracked.site
    pages = ["/supervision", f"/supervision/{site.city}",
             f"/supervision/{site.city}/projects/{tracked.own}", "/api/supervision",
             f"/api/supervision/{site.city}", f"/api/supervision/{site.city}/projects"]  # fmt: skip
    for username in ("viewer", "officer", "outsider"):
        with site.client(username) as client:
            assert [client.get(p, follow_redirects=False).status_code for p in pages] == [403] * 6
            assert 'href="/supervision"' not in client.get("/").text
    with site.client("pm_data") as pm:  # another province's city
        assert pm.get(f"/supervision/{site.other_city}").status_code == 403
        assert pm.get(f"/api/supervision/{site.other_city}").status_code == 403


def test_the_charts_render_in_chromium(tracked: Tracked, browser: Any) -> None:
    site = tracked.site
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    errors: list[str] = []
    for server in serve(site.app):
        page = browser_sign_in(browser, server, "pm_data")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.goto(f"{server}/supervision/{site.city}?as_of=2026-10-31")
        for chart in ("sup-lights", "sup-curve"):
            page.wait_for_selector(f"#{chart}[data-rendered=true] svg", timeout=30_000)
        assert page.locator("#sup-curve svg path").count() > 3
        assert errors == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / "supervision-dashboard.png"))
        page.goto(f"{server}/supervision/{site.city}/projects/{tracked.own}")
        page.wait_for_selector("[data-testid=progress-form]")
        page.screenshot(path=str(Path(SCREENSHOTS) / "supervision-project.png"), full_page=True)
        page.close()
