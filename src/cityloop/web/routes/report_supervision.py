"""The supervision bulletin of a city as a download: PDF, Word, Excel, or an HTML page shown in
the browser. Thin: ``cityloop.services.report_supervision.supervision_report_file`` does it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from cityloop.accounts import Action
from cityloop.i18n import current_language
from cityloop.services.outcomes import OutcomeReportNotFoundError
from cityloop.services.report_files import report_format
from cityloop.services.report_supervision import supervision_report_file
from cityloop.web.downloads import download
from cityloop.web.guard import authorise_unit
from cityloop.web.routes.supervision import Reader, db_of, status_date

router = APIRouter()


@router.get("/reports/supervision/{code}", response_class=Response)
def supervision_report_download(
    request: Request,
    principal: Reader,
    code: str,
    fmt: Annotated[str, Query(alias="format")] = "pdf",
    lang: str | None = None,
    as_of: str | None = None,
    outcome: int | None = None,
) -> Response:
    """The city's supervision bulletin on ``as_of`` (YYYY-MM-DD, default today) quoting outcome
    report ``outcome`` (default the newest) in ``format`` (pdf, docx, xlsx, html) and ``lang``
    (zh-CN, en; default the reader's language). HTML is shown inline, the others download."""
    chosen = report_format(fmt)  # bad input is refused before anything is read
    day = status_date(as_of)
    authorise_unit(request, principal, Action.VIEW_PLANS, code)  # 404 unknown, 403 elsewhere
    try:
        report = supervision_report_file(db_of(request), code, day, chosen, outcome_id=outcome,
                                         lang=lang or current_language(), served=True)  # fmt: skip
    except OutcomeReportNotFoundError as missing:  # another city's report: as if none existed
        raise HTTPException(status_code=404, detail=missing.render()) from None
    return download(report)
