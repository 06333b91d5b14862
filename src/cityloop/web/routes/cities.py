"""The city overview: page ``/cities/{code}`` and API ``/api/cities/{code}/overview``.

Both call ``cityloop.services.dashboard.city_overview``; the page's charts read the same JSON.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from cityloop.accounts import Action, Principal, authorise
from cityloop.i18n import t
from cityloop.services import dashboard as service
from cityloop.services.dashboard import CityOverview, NoRunError
from cityloop.store import Database
from cityloop.web.guard import Viewer
from cityloop.web.templating import render

router = APIRouter()
# The routes are ``async``: their work is CPU-bound on cached, shared pandas tables, which one
# event-loop thread reads safely (pandas builds some indexes lazily) and without thread hops.


def authorise_city(request: Request, principal: Principal, code: str) -> None:
    """``guard.authorise_unit`` on the dashboards' cached regions: 404 for an unknown code,
    403 for a city outside the user's regions (reading the regions per request costs more
    than the rest of the page)."""
    db: Database = request.app.state.db
    units = service.regions(db).units
    if code not in units.table.index:
        raise HTTPException(status_code=404, detail=t("web.unknown_unit", unit=code))
    authorise(principal, Action.VIEW_DASHBOARD, unit=code, units=units)


def overview_of(
    request: Request,
    principal: Principal,
    code: str,
    run: int | None,
    framework: str | None,
    year: int | None,
) -> CityOverview:
    authorise_city(request, principal, code)
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
    try:
        overview = overview_of(request, principal, code, run, framework, year)
    except NoRunError as exc:
        return render(request, "_no_run.html", {"message": exc.render()}, 404)
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
    try:
        overview = overview_of(request, principal, code, run, framework, year)
    except NoRunError as exc:
        return JSONResponse({"detail": exc.render()}, status_code=404)
    return Response(overview.model_dump_json(), media_type="application/json")
