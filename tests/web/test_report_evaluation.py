"""The report downloads on the populated site (both backends): file names, formats, the numbers
of the city overview, scope (cities outside it never appear) and refusals with their status; the
served HTML reports in Chromium under the site's content security policy."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from cityloop.reports import Document
from cityloop.services.dashboard import city_overview
from cityloop.services.report_city import city_report
from cityloop.services.report_province import province_report
from tests.web.conftest import browser_sign_in
from tests.web.site import Site


def workbook(content: bytes) -> dict[str, list[list[object]]]:
    book = load_workbook(io.BytesIO(content))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book}


def test_city_report_downloads_as_a_workbook_with_the_overviews_numbers(site: Site) -> None:
    with site.client("analyst") as client:
        response = client.get(f"/reports/city/{site.city}?format=xlsx&lang=zh-CN")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="city-evaluation-report-')
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))  # type: ignore[union-attr]
    o = city_overview(site.db, site.city, None, run_id=site.run_id)
    assert name == f"城市评价报告-{site.city}-{o.year}.xlsx"
    sheets = workbook(response.content)
    assert sheets["总体情况"][2][:4] == [o.total, o.stage_name, o.rank, o.ranked]
    assert "指标原始值" in sheets  # the evaluator may view values
    assert response.headers["cache-control"] == "private, no-store"


def test_a_viewer_gets_the_report_inline_as_html_without_raw_values(site: Site) -> None:
    with site.client("viewer") as client:
        page = client.get(f"/reports/city/{site.city}?format=html&lang=en")
        book = client.get(f"/reports/city/{site.city}?format=xlsx")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-disposition"].startswith("inline;")
    o = city_overview(site.db, site.city, None, run_id=site.run_id)
    assert "1 Summary" in page.text and f"{o.total:,.2f}" in page.text
    assert '<script src="/static/vendor/echarts-5.6.0.min.js">' in page.text
    assert "<script>" not in page.text  # the site's CSP forbids inline scripts
    assert "指标原始值" not in workbook(book.content)  # a viewer may not view raw values


def test_city_report_refusals(site: Site) -> None:
    with site.client("outsider") as outsider:
        assert outsider.get(f"/reports/city/{site.city}?format=html").status_code == 403
    with site.client("analyst") as client:
        assert client.get("/reports/city/999999").status_code == 404
        wrong_year = client.get(f"/reports/city/{site.city}?year=1990&format=html")
        assert wrong_year.status_code == 422 and "1990" in wrong_year.text
        wrong_format = client.get(f"/reports/city/{site.city}?format=bmp")
        assert wrong_format.status_code == 422 and "bmp" in wrong_format.text


def test_province_report_lists_only_the_provinces_cities(site: Site) -> None:
    with site.client("analyst") as client:
        response = client.get(f"/reports/province/{site.province}?format=xlsx")
    assert response.status_code == 200
    ranking = workbook(response.content)["城市排名"]
    codes = {row[1] for row in ranking[2:] if row[1]}
    table = site.units.table
    in_province = set(table.index[(table["parent"] == site.province) & (table["level"] == "city")])
    assert codes and codes <= in_province


def test_province_report_refusals(site: Site) -> None:
    with site.client("viewer") as viewer:  # a city's viewer may not read its province's report
        assert viewer.get(f"/reports/province/{site.province}?format=html").status_code == 403
    with site.client("analyst") as client:
        not_province = client.get(f"/reports/province/{site.city}?format=html")
        assert not_province.status_code == 422 and site.city in not_province.text


def test_download_links_on_the_overview_and_ranking_pages(site: Site) -> None:
    with site.client("analyst") as client:
        city = client.get(f"/cities/{site.city}").text
        ranking = client.get(f"/ranking?province={site.province}").text
    assert f"/reports/city/{site.city}?format=pdf&amp;lang=zh-CN" in city
    assert f"/reports/province/{site.province}?format=docx&amp;lang=zh-CN" in ranking


# Each drawn chart: its value axis name, its categories and its first series' points as ECharts
# holds them, read back from the instance the report's start-up script made.
DRAWN = """() => [...document.querySelectorAll('[data-report-chart]')].map(el => {
  const option = echarts.getInstanceByDom(el).getOption();
  const axes = [...option.xAxis, ...option.yAxis];
  return {rendered: el.dataset.rendered === 'true', svg: el.querySelector('svg') !== null,
          axis: axes.map(a => a.name).filter(Boolean),
          categories: axes.filter(a => a.type === 'category').flatMap(a => a.data),
          points: option.series[0].data.length};
})"""


def expected_charts(doc: Document) -> list[dict[str, Any]]:
    return [
        {"rendered": True, "svg": True, "axis": [f.chart.value_label],
         "categories": list(f.chart.categories), "points": len(f.chart.categories)}
        for _, f in doc.figures()
    ]  # fmt: skip


def test_the_served_reports_draw_their_charts_in_chromium(
    site: Site, server: str, browser: Any
) -> None:
    """The HTML reports the app serves load ECharts and their start-up script from /static and
    draw every figure of the document, with its own data, and no CSP or script error."""
    if site.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs once, on SQLite")
    page = browser_sign_in(browser, server, "analyst")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    reports = (
        (f"/reports/city/{site.city}?format=html&lang=en",
         city_report(site.db, site.city, run_id=site.run_id, lang="en", scope=site.province)),
        (f"/reports/province/{site.province}?format=html&lang=zh-CN",
         province_report(site.db, site.province, run_id=site.run_id, scope=site.province)),
    )  # fmt: skip
    for url, doc in reports:
        page.goto(f"{server}{url}")
        page.wait_for_load_state("networkidle")
        assert page.title() == doc.title
        assert page.locator("table").count() == sum(1 for _ in doc.tables())
        assert page.evaluate(DRAWN) == expected_charts(doc), url
        font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
        assert font.startswith('"Noto Sans CJK SC"'), font  # the report's stylesheet applies
    assert errors == []
    page.close()
