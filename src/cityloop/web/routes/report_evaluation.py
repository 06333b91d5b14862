"""The city and province evaluation reports as downloads: ``/reports/city/{code}`` and
``/reports/province/{code}`` with ``format`` (pdf, docx, xlsx, html), ``lang``, ``run``, ``year``.

Both call one service (``report_city.city_report``, ``report_province.province_report``) and
render it; HTML is shown in the browser, the other formats are saved as files.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.accounts import Action, can
from cityloop.i18n import current_language
from cityloop.reports import Document, ReportFormat, render, render_html
from cityloop.services.report_city import city_report
from cityloop.services.report_evaluation import file_name, report_format, report_language
from cityloop.services.report_province import province_report
from cityloop.web.guard import Viewer, authorise_unit

router = APIRouter()

# A page of our own site may not run inline scripts (content security policy): the served
# HTML report loads ECharts and the reports' start-up script from the static files instead.
ECHARTS_SRC = "/static/vendor/echarts-5.6.0.min.js"
REPORT_INIT_SRC = "/static/js/report-init.js"


def content_disposition(disposition: str, name: str, fallback: str) -> str:
    """The header naming the file: an ASCII ``filename`` for old clients and the UTF-8 name as
    ``filename*`` (RFC 6266 with the RFC 5987 encoding), so Chinese names survive."""
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def report_response(kind: str, code: str, doc: Document, fmt: ReportFormat) -> Response:
    """``doc`` rendered in ``fmt`` with its file name; HTML inline, the rest as attachments."""
    if fmt is ReportFormat.HTML:
        body = render_html(doc, script_src=ECHARTS_SRC, init_src=REPORT_INIT_SRC).encode()
    else:
        body = render(doc, fmt)
    disposition = "inline" if fmt is ReportFormat.HTML else "attachment"
    name = file_name(kind, code, doc, fmt)
    header = content_disposition(disposition, name, file_name(kind, code, doc, fmt, "en"))
    # A report holds what its reader may see and nobody else: never kept by a shared cache.
    headers = {"Content-Disposition": header, "Cache-Control": "private, no-store"}
    return Response(body, media_type=fmt.media_type, headers=headers)


@router.get("/reports/city/{code}", tags=["reports"], response_class=Response)
def city_report_file(
    request: Request,
    principal: Viewer,
    code: str,
    format: str = "pdf",
    lang: str | None = None,
    run: int | None = None,
    year: int | None = None,
) -> Response:
    """The evaluation report of one city; its raw values only for readers who may view them."""
    fmt, chosen = report_format(format), report_language(lang or current_language())
    authorise_unit(request, principal, Action.VIEW_DASHBOARD, code)
    doc = city_report(
        request.app.state.db,
        code,
        run_id=run,
        year=year,
        lang=chosen,
        scope=principal.scope,
        with_values=can(principal.role, Action.VIEW_VALUES),
    )
    return report_response("city", code, doc, fmt)


@router.get("/reports/province/{code}", tags=["reports"], response_class=Response)
def province_report_file(
    request: Request,
    principal: Viewer,
    code: str,
    format: str = "pdf",
    lang: str | None = None,
    run: int | None = None,
    year: int | None = None,
) -> Response:
    """The evaluation report of a province, listing only the cities the reader may see."""
    fmt, chosen = report_format(format), report_language(lang or current_language())
    authorise_unit(request, principal, Action.VIEW_DASHBOARD, code)
    doc = province_report(
        request.app.state.db, code, run_id=run, year=year, lang=chosen, scope=principal.scope
    )
    return report_response("province", code, doc, fmt)
