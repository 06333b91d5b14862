"""The city and province evaluation reports as downloads: ``/reports/city/{code}`` and
``/reports/province/{code}`` with ``format`` (pdf, docx, xlsx, html), ``lang``, ``run``, ``year``.

Both call one service (``report_city.city_report``, ``report_province.province_report``) and
render it; HTML is shown in the browser, the other formats are saved as files.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.accounts import Action, can
from cityloop.i18n import current_language
from cityloop.services.report_city import city_report
from cityloop.services.report_evaluation import evaluation_file
from cityloop.services.report_files import report_format, report_language
from cityloop.services.report_province import province_report
from cityloop.web.downloads import download
from cityloop.web.guard import Viewer, authorise_unit

router = APIRouter()


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
    return download(evaluation_file("city", code, doc, fmt, served=True))


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
    return download(evaluation_file("province", code, doc, fmt, served=True))
