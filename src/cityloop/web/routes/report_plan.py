"""The top-level design document of a saved plan as a download: PDF, Word, Excel, or an HTML
page shown in the browser. Thin: ``cityloop.services.report_plan.plan_report_file`` does it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cityloop.i18n import current_language
from cityloop.reports import ReportFormat
from cityloop.services.report_plan import plan_report_file, report_format
from cityloop.web.routes.plan import Reader, db_of, saved_plan

router = APIRouter()
# The web app's content security policy forbids inline scripts: the served HTML report loads
# ECharts and the report's chart start-up script from our own origin instead.
ECHARTS_SRC = "/static/vendor/echarts-5.6.0.min.js"
REPORT_INIT_SRC = "/static/js/report-init.js"


@router.get("/reports/plan/{plan_id}", response_class=Response)
def plan_report_download(
    request: Request,
    principal: Reader,
    plan_id: int,
    fmt: Annotated[str, Query(alias="format")] = "pdf",
    lang: str | None = None,
) -> Response:
    """The plan's top-level design document in ``format`` (pdf, docx, xlsx, html) and ``lang``
    (zh-CN, en; default the reader's language). HTML is shown inline, the others download."""
    chosen = report_format(fmt)  # a bad format is refused before the plan is read
    saved_plan(request, principal, plan_id)  # 404 unknown, 403 outside the reader's regions
    report = plan_report_file(
        db_of(request), plan_id, chosen, lang=lang or current_language(),
        script_src=ECHARTS_SRC, init_src=REPORT_INIT_SRC,
    )  # fmt: skip
    inline = chosen is ReportFormat.HTML
    disposition = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(report.filename)}"
    )
    return Response(
        report.content,
        media_type=report.media_type,
        headers={"Content-Disposition": disposition},
    )
