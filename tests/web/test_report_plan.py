"""``/reports/plan/{id}``: the top-level design document of a saved plan downloaded from the web
(workbook numbers equal the stored plan, UTF-8 file name, the HTML shown inline with scripts
from our origin only), the download links on the saved-plan page, and who may get it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from cityloop.services.plan import SavedPlan, plan
from cityloop.services.plan_demo import save_demo_plan
from tests.web.site import Site


@dataclass
class Planned:
    site: Site
    saved: SavedPlan  # the demo plan of the analyst's city
    elsewhere: int  # a plan of a city in another province


@pytest.fixture(scope="module")
def planned(site: Site) -> Planned:
    """The module's site with the demo's illustrative plan of its city, and the same result
    stored for a city in another province (no second solve: only its unit matters here)."""
    plan_id = save_demo_plan(site.db, site.city, actor="fixture")
    assert plan_id is not None
    saved = plan(site.db, plan_id)
    other = site.db.plans.save(
        site.other_city, "elsewhere", saved.view.framework_id, saved.view.first_year,
        saved.settings.model_dump(mode="json"),
        saved.view.model_copy(update={"unit": site.other_city}).model_dump(mode="json"),
        actor="fixture",
    )  # fmt: skip
    return Planned(site, saved, other.id)


def test_the_workbook_download_holds_the_stored_plan(planned: Planned) -> None:
    with planned.site.client("analyst") as c:
        got = c.get(f"/reports/plan/{planned.saved.id}?format=xlsx")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = f"{planned.site.city}-{planned.saved.id}.xlsx"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="top-level-design-{name}"; '
        f"filename*=UTF-8''{quote('顶层设计方案-' + name)}"
    )
    assert got.headers["cache-control"] == "private, no-store"
    book = load_workbook(io.BytesIO(got.content))
    chosen = planned.saved.view.chosen
    sheet = book["项目清单"]
    rows = list(sheet.iter_rows(min_row=3, max_row=2 + len(chosen)))
    assert [(r[0].value, r[4].value) for r in rows] == [(p.code, p.total_cost) for p in chosen]
    assert "需求分布" not in book.sheetnames  # the fixture site has no surveys: said in words


def test_the_html_report_is_shown_inline_in_english_without_inline_scripts(
    planned: Planned,
) -> None:
    with planned.site.client("manager") as c:  # a project manager of the province may read it
        got = c.get(f"/reports/plan/{planned.saved.id}?format=html&lang=en")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    assert got.headers["content-disposition"].startswith('inline; filename="top-level-design-')
    html = got.text
    assert "Top-level design of the new-type smart city" in html and "7 Risks" in html
    assert "no needs survey with answers" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    code = [attrs for attrs, body in scripts if "application/json" not in attrs]
    assert code == [
        ' src="/static/vendor/echarts-5.6.0.min.js"',
        ' src="/static/js/report-init.js"',
    ]
    assert all(not body.strip() for attrs, body in scripts if "src=" in attrs)


def test_the_saved_plan_page_offers_the_document(planned: Planned) -> None:
    with planned.site.client("analyst") as c:
        page = c.get(f"/plan/saved/{planned.saved.id}").text
    for fmt in ("pdf", "docx", "xlsx", "html"):
        href = f'href="/reports/plan/{planned.saved.id}?format={fmt}&amp;lang=zh-CN"'
        assert href in page, fmt
    assert "顶层设计方案文档" in page


def test_who_may_get_the_document_and_bad_requests(planned: Planned) -> None:
    url = f"/reports/plan/{planned.saved.id}"
    with planned.site.client("analyst") as c:
        assert c.get(f"/reports/plan/{planned.elsewhere}?format=xlsx").status_code == 403
        assert c.get("/reports/plan/999999?format=xlsx").status_code == 404
        bad = c.get(f"{url}?format=odt")
        assert bad.status_code == 422 and "odt" in bad.text
    with planned.site.client("viewer") as c:  # a viewer may not see plans
        assert c.get(f"{url}?format=xlsx").status_code == 403
    with planned.site.client() as c:
        assert c.get(url, follow_redirects=False).status_code == 303
