"""The top-level design document of a saved plan as a download: PDF, Word, Excel, or an HTML
page shown in the browser. Thin: ``cityloop.services.report_plan.plan_report_file`` does it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cityloop.i18n import current_language
from cityloop.services.report_files import report_format
from cityloop.services.report_plan import plan_report_file
from cityloop.web.downloads import download
from cityloop.web.routes.plan import Reader, db_of, saved_plan

router = APIRouter()


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
        db_of(request), plan_id, chosen, lang=lang or current_language(), served=True
    )
    return download(report)
