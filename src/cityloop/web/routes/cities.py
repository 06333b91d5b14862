"""The city overview: page ``/cities/{code}`` and API ``/api/cities/{code}/overview``.

Both call ``cityloop.services.dashboard.city_overview``; the page's charts read the same JSON.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cityloop.accounts import Action, Principal
from cityloop.i18n import t
from cityloop.services import dashboard as service
from cityloop.services.dashboard import CityOverview
from cityloop.web.guard import Viewer, authorise_unit
from cityloop.web.templating import render

router = APIRouter()
# The routes are ``async``: with a run's tables cached, a request reads no database (the run,
# the regions and the raw values are re-read at most every few seconds) and its CPU work is
# short, so it runs on the event loop without a hop to the thread pool.


def overview_of(
    request: Request,
    principal: Principal,
    code: str,
    run: int | None,
    framework: str | None,
    year: int | None,
) -> CityOverview:
    authorise_unit(request, principal, Action.VIEW_DASHBOARD, code)
    return service.city_overview(
        request.app.state.db, code, principal.scope, run_id=run, framework=framework, year=year
    )


@router.get("/cities/{code}", response_class=HTMLResponse, include_in_schema=False)
async def city_page(
    request: Request,
    principal: Viewer,
    code: str,
    run: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> Response:
    overview = overview_of(request, principal, code, run, framework, year)
    labels = {
        "city": overview.name,
        "median": t("dash.peer_median"),
        "best": overview.best_name,
        "total": t("dash.col.total"),
    }
    return render(
        request,
        "city.html",
        {"o": overview, "chart": {**overview.model_dump(), "labels": labels}},
    )


@router.get("/api/cities/{code}/overview", tags=["dashboards"], response_model=CityOverview)
async def city_api(
    request: Request,
    principal: Viewer,
    code: str,
    run: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> Response:
    overview = overview_of(request, principal, code, run, framework, year)
    return Response(overview.model_dump_json(), media_type="application/json")
