"""The province/cluster overview: page ``/ranking`` (HTMX re-fetches its results on a sort or a
filter) and API ``/api/ranking``; both call ``cityloop.services.dashboard_ranking.ranking``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from cityloop.i18n import t
from cityloop.services import dashboard_ranking as service
from cityloop.services.dashboard_ranking import Ranking, RankingQuery
from cityloop.web.guard import Viewer
from cityloop.web.templating import render

router = APIRouter()


def ranking_query(
    province: str | None = None,
    cluster: str | None = None,
    stage: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    x: str | None = None,
    y: str | None = None,
) -> RankingQuery:
    """The filters, order and axes of the query string; an empty form field means "any"."""
    return RankingQuery(
        province=province or None,
        cluster=cluster or None,
        stage=stage or None,
        q=q or None,
        sort=sort or "rank",
        order=order or None,
        x=x or None,
        y=y or None,
    )


Query = Annotated[RankingQuery, Depends(ranking_query)]


def sort_links(r: Ranking) -> dict[str, str]:
    """Each column's query string: sorted by it, the other way round if it is the sort now."""
    base: dict[str, Any] = {"run": r.run_id, "year": r.year}
    base |= r.query.model_dump(exclude={"sort", "order"}, exclude_none=True)
    links = {}
    dimensions = [d.code for d in r.dimensions]
    for col in ["rank", "name", "province", "total", "change", "stage", *dimensions]:
        flip = r.query.sort == col and r.query.order in {"asc", "desc"}
        order = {"asc": "desc", "desc": "asc"}[str(r.query.order)] if flip else None
        links[col] = urlencode({**base, "sort": col} | ({"order": order} if order else {}))
    return links


@router.get("/ranking", response_class=HTMLResponse, include_in_schema=False)
async def ranking_page(
    request: Request,
    principal: Viewer,
    query: Query,
    run: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> Response:
    db = request.app.state.db
    r = service.ranking(db, principal.scope, query, run_id=run, framework=framework, year=year)
    context = {"r": r, "charts": service.ranking_charts(r), "links": sort_links(r)}
    if "hx-request" in request.headers:
        return render(request, "_ranking_results.html", context)
    return render(request, "ranking.html", context | {"title": t("dash.ranking.title")})


@router.get("/api/ranking", tags=["dashboards"], response_model=Ranking)
async def ranking_api(
    request: Request,
    principal: Viewer,
    query: Query,
    run: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> Response:
    db = request.app.state.db
    body = service.ranking_json(
        db, principal.scope, query, run_id=run, framework=framework, year=year
    )
    return Response(body, media_type="application/json")
