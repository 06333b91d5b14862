"""``/reports/supervision/{code}``: the supervision bulletin downloaded from the web on both
backends (workbook numbers equal the dashboard API's, UTF-8 file name, the HTML shown inline with
scripts from our origin only), the download links on the dashboard and outcomes pages, who may get
it and the refusals of bad input."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from cityloop.services.outcomes import assess_outcomes
from tests.web.tracked_site import Tracked, tracked

__all__ = ["tracked"]  # the shared module-scoped fixture, built once per backend here
AS_OF = "2027-06-30"  # nothing reported by then: the first phase is behind and warned about


@pytest.fixture(scope="module")
def reports(tracked: Tracked) -> tuple[int, int]:
    """An outcome report of the site's city and one of a city in another province."""
    site = tracked.site
    own = assess_outcomes(site.db, site.city, actor="fixture", as_of=None)
    other = assess_outcomes(site.db, site.other_city, actor="fixture", as_of=None)
    return own.id, other.id


def test_the_workbook_holds_the_dashboards_numbers(tracked: Tracked) -> None:
    site = tracked.site
    with site.client("analyst") as c:
        got = c.get(f"/reports/supervision/{site.city}?format=xlsx&as_of={AS_OF}")
        board = c.get(f"/api/supervision/{site.city}?as_of={AS_OF}").json()
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = f"{site.city}-{AS_OF}.xlsx"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="supervision-bulletin-{name}"; '
        f"filename*=UTF-8''{quote('建设监督通报-' + name)}"
    )
    assert got.headers["cache-control"] == "private, no-store"
    book = load_workbook(io.BytesIO(got.content))
    projects = book["项目挣值"]
    rows = list(projects.iter_rows(min_row=3, max_row=2 + len(board["projects"]), values_only=True))
    wanted = [[p["figures"][k] for k in ("bac", "pv", "ev", "ac")] for p in board["projects"]]
    # the workbook keeps 15 significant digits, JSON 17
    assert [list(r[3:7]) for r in rows] == [pytest.approx(w, rel=1e-12) for w in wanted]
    warnings = list(book["预警"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[4]) for r in warnings[: len(board["warnings"])]] == [
        (w["project"], w["message"]) for w in board["warnings"]
    ]
    cover = dict(book["README"].iter_rows(min_row=3, max_col=2, values_only=True))
    assert cover["状态日期"] == AS_OF and site.city in cover["城市"]


def test_the_html_bulletin_is_shown_inline_in_english_to_a_project_manager(
    tracked: Tracked,
) -> None:
    site = tracked.site
    with site.client("pm_data") as c:  # a project manager of the province may read it
        got = c.get(f"/reports/supervision/{site.city}?format=html&lang=en&as_of={AS_OF}")
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith('inline; filename="supervision-bulletin-')
    html = got.text
    assert "Supervision bulletin" in html and "2 Early warnings and boundary checks" in html
    assert "synthetic demo data" in html and "4 Outcome assessment" in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    code = [attrs for attrs, body in scripts if "application/json" not in attrs]
    assert code == [
        ' src="/static/vendor/echarts-5.6.0.min.js"',
        ' src="/static/js/report-init.js"',
    ]
    assert all(not body.strip() for attrs, body in scripts if "src=" in attrs)


def test_the_dashboard_and_outcomes_pages_offer_the_bulletin(
    tracked: Tracked, reports: tuple[int, int]
) -> None:
    site, own = tracked.site, reports[0]
    with site.client("analyst") as c:
        dashboard = c.get(f"/supervision/{site.city}?as_of={AS_OF}").text
        outcomes = c.get(f"/supervision/{site.city}/outcomes").text
        quoted = c.get(f"/reports/supervision/{site.city}?format=html&outcome={own}")
    for fmt in ("pdf", "docx", "xlsx", "html"):
        href = f"/reports/supervision/{site.city}?format={fmt}&amp;as_of={AS_OF}&amp;lang=zh-CN"
        assert f'href="{href}"' in dashboard, fmt
        href = f"/reports/supervision/{site.city}?format={fmt}&amp;outcome={own}&amp;lang=zh-CN"
        assert f'href="{href}"' in outcomes, fmt
    assert "下载建设监督通报" in dashboard
    assert quoted.status_code == 200 and f"成效评估报告 #{own}" in quoted.text


def test_who_may_get_the_bulletin_and_bad_requests(
    tracked: Tracked, reports: tuple[int, int]
) -> None:
    site, elsewhere = tracked.site, reports[1]
    url = f"/reports/supervision/{site.city}"
    with site.client("analyst") as c:
        assert c.get(f"/reports/supervision/{site.other_city}?format=html").status_code == 403
        assert c.get("/reports/supervision/999999?format=html").status_code == 404
        foreign = c.get(f"{url}?format=html&outcome={elsewhere}")
        assert foreign.status_code == 404 and str(elsewhere) in foreign.text
        bad_date = c.get(f"{url}?format=html&as_of=30.06.2027")
        assert bad_date.status_code == 422 and "30.06.2027" in bad_date.text
        bad_format = c.get(f"{url}?format=odt")
        assert bad_format.status_code == 422 and "odt" in bad_format.text
    for username in ("viewer", "outsider"):
        with site.client(username) as c:
            assert c.get(f"{url}?format=html").status_code == 403
    with site.client() as c:
        assert c.get(url, follow_redirects=False).status_code == 303
