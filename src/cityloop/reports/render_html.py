"""A report document as one HTML file: interactive (ECharts, every script inside the file, so
it opens anywhere offline) or paged (static SVG charts, the input WeasyPrint turns into PDF).
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources

import jinja2

from cityloop import __version__
from cityloop.i18n import t
from cityloop.reports.chart_image import chart_svg
from cityloop.reports.charts import echarts_option
from cityloop.reports.document import Document

ECHARTS_PATH = "web/static/vendor/echarts-5.6.0.min.js"  # the copy vendored for the web pages
INIT_PATH = "web/static/js/report-init.js"  # draws the charts; served to pages, inlined in files
ICON_PATH = "web/static/favicon.svg"  # the site's icon, for a report page it serves


@cache
def _environment() -> jinja2.Environment:
    loader = jinja2.PackageLoader("cityloop.reports", "templates")
    return jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)


@cache
def _asset(path: str) -> str:
    # looked up from the top package: naming cityloop.web would import the whole web app
    return resources.files("cityloop").joinpath(path).read_text("utf-8")


def labels(lang: str) -> dict[str, str]:
    """The words a report puts around its content (table, figure, issued) in ``lang``."""
    return {k: t(f"report.label.{k}", lang) for k in ("table", "figure", "issued")}


def render_html(doc: Document, *, paged: bool = False, served: bool = False) -> str:
    """``doc`` as an HTML page.

    Parameters
    ----------
    paged
        Static SVG charts and page rules, for print and PDF; otherwise interactive charts.
    served
        Load ECharts and the chart start-up script from the web app's static files (a page it
        serves: its content security policy forbids inline scripts); by default both are
        written into the file, which then opens anywhere offline.
    """
    figures = dict(doc.figures())
    images = {n: _svg_uri(chart_svg(f.chart)) for n, f in figures.items()} if paged else {}
    options = {} if paged else {n: echarts_option(f.chart) for n, f in figures.items()}
    return (
        _environment()
        .get_template("report.html")
        .render(
            doc=doc,
            blocks=list(doc.numbered()),
            paged=paged,
            images=images,
            options=options,
            labels=labels(doc.lang),
            css=_asset("reports/templates/report.css"),
            script_src=_url(ECHARTS_PATH) if served else None,
            init_src=_url(INIT_PATH) if served else None,
            icon_src=_url(ICON_PATH) if served else None,
            echarts_js="" if paged or served else _asset(ECHARTS_PATH),
            init_js=_asset(INIT_PATH),
            version=__version__,
        )
    )


def _url(path: str) -> str:
    """Where the web app serves one of its static files (``web/static/…`` → ``/static/…``)."""
    return "/" + path.removeprefix("web/")


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
