"""Stored XSS: every text a user can store holds a payload (``tests.security.seeded``), then
every GET page of the app (from ``app.routes``, parameters filled to reach the seeded things) is
crawled as the administrator: no payload is markup anywhere, every JSON island keeps ``<``
out, and each text is shown, escaped, on the pages that must show it; Chromium then opens those
pages and finds no dialog and no element the payloads would have made.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import cityloop
from cityloop.reports.render_html import _environment
from cityloop.web.templating import TEMPLATES
from tests.security.conftest import sqlite_only
from tests.security.routes import concrete, routes_of
from tests.security.seeded import SPOT, Seeded, assert_escaped, seed, shown
from tests.web.conftest import serve
from tests.web.site import PASSWORD, Site
from tests.web.test_route_matrix import ROUTES

QUERIES = {r.path: r.query for r in ROUTES if r.method == "GET" and r.query}
ISLAND = re.compile(r'<script type="application/json"[^>]*>(.*?)</script>', re.S)
# Query strings that reach the seeded things on pages that take them.
EXTRA = {
    "/ranking": ["framework={fid}"],
    "/cities/{code}": ["framework={fid}", "run={run_id}"],
    "/collect": ["round={round}"],
    "/catalogue": ["unit={code}"],
    "/plan/catalogue": ["unit={code}"],
    "/sensors": ["unit={code}&type=ParkingSpot&entity=" + SPOT],
    "/reports/plan/{plan_id}": ["format=html"],
}


SKIPPED = ("/api/", "/docs", "/ngsi-ld", "/redoc")  # JSON: what a page shows is what matters
FILES = (".xlsx", ".jsonld")  # downloads, not pages
HTML_ONLY = ("/reports/plan/{plan_id}",)  # a report's default is a PDF: only its HTML is a page


def urls(site: Site, seeded: Seeded) -> list[str]:
    """Every GET page route (not the JSON API nor downloads), filled with the seeded things and
    with the site's own (framework, run, project), with the queries the pages need."""
    found: list[str] = []
    for method, route in routes_of(site.app):
        path = route.path
        if method != "GET" or path.startswith(SKIPPED) or path.endswith(FILES):
            continue
        for values in (seeded.fill, *({**seeded.fill, **v} for v in seeded.variants), {}):
            base = concrete(path, site, project=seeded.fill["project"], values=values)
            queries = EXTRA.get(path, []) + [QUERIES.get(path, "")] * (path not in HTML_ONLY)
            for query in queries:
                query = re.sub(r"\{(\w+)\}", lambda m: seeded.fill.get(m.group(1), "1"), query)
                url = f"{base}?{query}" if query else base
                if url not in found:
                    found.append(url)
    return found


@pytest.fixture(scope="module")
def stored(own_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The package's site with every payload stored (once per backend and worker)."""
    return seed(own_site, tmp_path_factory.mktemp("xss-seed"))


def crawl(site: Site, seeded: Seeded) -> dict[str, str]:
    """URL → HTML of every page the administrator gets from ``urls``."""
    pages: dict[str, str] = {}
    with site.client("admin") as admin:
        for url in urls(site, seeded):
            response = admin.get(url, follow_redirects=False)
            assert response.status_code < 500, f"{url}: {response.status_code}"
            if response.headers.get("content-type", "").startswith("text/html"):
                pages[url] = response.text
    return pages


def test_every_stored_text_is_escaped_on_every_page_and_shown_where_due(
    own_site: Site, stored: Seeded
) -> None:
    """One test (one crawl per backend, whichever worker runs it): no payload is markup on any
    page; no JSON island holds a ``<``; each text is shown, escaped, on the pages due to show it
    (else a text that stopped reaching its page would make the first two checks vacuous)."""
    pages = crawl(own_site, stored)
    assert len(pages) > 60, sorted(pages)
    islands = 0
    for url, html in pages.items():
        assert_escaped(html, url)
        for island in ISLAND.findall(html):
            islands += 1
            assert "<" not in island, f"{url}: a JSON island holds '<'"
    assert islands > 10
    missing: list[str] = []
    for tag, where in stored.pages.items():
        for user, url in where:
            if user == "admin":
                html = pages.get(url) or own_site.client("admin").get(url).text
            else:
                html = own_site.client(user).get(url).text
                assert_escaped(html, f"{url} as {user}")
            if not shown(html, tag):
                missing.append(f"{tag} on {url} ({user})")
    assert missing == [], "\n".join(missing)


# Every chart's tooltip shown for its first points: a tooltip is HTML that a page's formatter
# writes from the chart's names. Says where an element of a payload appeared, and how many
# tooltips showed a payload's words (as text: else this could not fail).
SHOW_TOOLTIPS = """() => {
  const seen = { made: [], texts: 0 };
  document.querySelectorAll("[data-chart],[data-report-chart]").forEach((el) => {
    const chart = window.echarts && window.echarts.getInstanceByDom(el);
    if (!chart) { return; }
    (chart.getOption().series || []).forEach((series, s) => {
      for (let i = 0; i < Math.min((series.data || []).length, 40); i++) {
        chart.dispatchAction({ type: "showTip", seriesIndex: s, dataIndex: i });
        if (el.innerText.includes("alert(1)")) { seen.texts += 1; }
        const made = document.querySelector('img[src="x"]');
        if (made) { seen.made.push(`${el.id} ${s}:${i}`); made.remove(); }
      }
    });
  });
  return seen;
}"""


def test_pages_full_of_payloads_make_no_element_in_chromium(
    own_site: Site, stored: Seeded, browser: Any
) -> None:
    """No dialog (the page's CSP would stop a script anyway), and no element of a payload, not
    even in a chart's tooltip once shown: markup that got in is the bug, whatever the CSP."""
    sqlite_only(own_site, "what the browser does with a page")
    paths = sorted({url for where in stored.pages.values() for user, url in where
                    if user == "admin"})  # fmt: skip
    dialogs: list[str] = []
    made: dict[str, list[str]] = {}
    texts = 0
    for base in serve(own_site.app):
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for path in paths:
            page.goto(base + path, wait_until="load")
            seen = page.evaluate(SHOW_TOOLTIPS)
            texts += seen["texts"]
            if seen["made"] or page.locator('img[src="x"]').count():
                made[path] = seen["made"]
        page.close()
    assert dialogs == []
    assert made == {}
    assert texts > 0, "no tooltip showed a payload's text"


SRC = Path(cityloop.__file__).parent
SAFE = re.compile(r"\|\s*safe\b")


def test_only_our_own_files_are_ever_marked_safe() -> None:
    """Autoescaping is on for the pages and the reports; ``|safe`` and ``Markup`` would switch
    it off. The only ``|safe`` are the report's stylesheet and scripts, read from our files."""
    assert TEMPLATES.env.autoescape is True or TEMPLATES.env.autoescape("page.html")
    assert _environment().autoescape is True
    marked = {
        str(path.relative_to(SRC)): re.findall(r"\{\{\s*(\w+)\s*\|\s*safe", path.read_text("utf-8"))
        for path in SRC.rglob("*.html")
        if SAFE.search(path.read_text("utf-8"))
    }
    assert marked == {"reports/templates/report.html": ["css", "echarts_js", "init_js"]}
    python = [p for p in SRC.rglob("*.py") if re.search(r"\bMarkup\b", p.read_text("utf-8"))]
    assert python == []
    render = (SRC / "reports" / "render_html.py").read_text("utf-8")
    for name in marked["reports/templates/report.html"]:
        given = re.search(rf"\b{name}=(.+)", render)
        assert given is not None and "_asset(" in given.group(1), name
        assert "doc" not in given.group(1).replace("paged or served", ""), name
