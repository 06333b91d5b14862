"""What-if re-weighting pages and API: move a dimension's weight, see the new ranking at once.

Thin adapter over ``cityloop.services.whatif``; every table shows only the visible units.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal
from cityloop.errors import ConfigError, Problem
from cityloop.evaluation.aggregate import Aggregation
from cityloop.services import whatif as service
from cityloop.services.dashboard_cache import NoRunError
from cityloop.services.run_results import as_records
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed
from cityloop.web.templating import render

router = APIRouter()

RunViewer = Annotated[Principal, allowed(Action.VIEW_RUNS)]
CHART_UNITS = 40  # bars a reader can still tell apart; the table lists every visible unit


def reweigh(
    request: Request,
    principal: Principal,
    run_id: int,
    weights: dict[str, float] | None,
    year: int | None,
) -> service.WhatIf:
    """The service's answer; 404 for a run that is not stored."""
    db: Database = request.app.state.db
    try:
        return service.whatif(db, run_id, weights, year, service.visible_to(db, principal.scope))
    except NoRunError as exc:
        if exc.key == "dash.unknown_run":
            raise HTTPException(status_code=404, detail=exc.render()) from None
        raise


def chart_data(result: service.WhatIf) -> dict[str, Any]:
    """The best ``CHART_UNITS`` visible units: new total, stored total and places moved."""
    head = result.table.head(CHART_UNITS)
    return {
        "names": head["name"].astype(str).tolist(),
        "totals": [None if pd.isna(v) else round(float(v), 3) for v in head["total"]],
        "run_totals": [None if pd.isna(v) else round(float(v), 3) for v in head["run_total"]],
        "shifts": [0 if pd.isna(s) else int(s) for s in head["shift"]],
    }


def page_context(result: service.WhatIf, sliders: dict[str, float]) -> dict[str, Any]:
    return {
        "w": result,
        "rows": as_records(result.table),
        "chart": chart_data(result),
        "sliders": sliders,
    }


def slider_values(result: service.WhatIf) -> dict[str, float]:
    """Each slider at its dimension's applied weight in percent."""
    return {code: round(100 * w, 1) for code, w in result.weights.items()}


@router.get("/runs/{run_id}/whatif", response_class=HTMLResponse, include_in_schema=False)
def whatif_page(
    request: Request, principal: RunViewer, run_id: int, year: int | None = None
) -> HTMLResponse:
    result = reweigh(request, principal, run_id, None, year)
    return render(request, "whatif.html", page_context(result, slider_values(result)))


@router.post("/runs/{run_id}/whatif", response_class=HTMLResponse, include_in_schema=False)
def whatif_fragment(
    request: Request,
    principal: RunViewer,
    run_id: int,
    csrf_token: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
    code: Annotated[list[str] | None, Form(max_length=64)] = None,
    weight: Annotated[list[str] | None, Form(max_length=32)] = None,
) -> HTMLResponse:
    check_csrf(request, csrf_token)
    codes, given = list(code or ()), list(weight or ())
    if len(codes) != len(given):
        raise ConfigError("rob.whatif.invalid", [Problem("rob.whatif.unpaired", {})])
    weights = {c: form_number(c, v) for c, v in zip(codes, given, strict=True)}
    result = reweigh(request, principal, run_id, weights, year)
    sliders = {c: weights.get(c, 100 * w) for c, w in result.weights.items()}
    template = "_whatif_result.html" if "hx-request" in request.headers else "whatif.html"
    return render(request, template, page_context(result, sliders))


def form_number(code: str, text: str) -> float:
    """A weight typed in the form; text that is no number is refused naming the dimension."""
    try:
        return float(text)
    except ValueError:
        problem = Problem("rob.whatif.not_a_number", {"code": code, "value": text[:32]})
        raise ConfigError("rob.whatif.invalid", [problem]) from None


# -- JSON API -------------------------------------------------------------------------------------


class WhatIfRequest(BaseModel):
    """New first-level dimension weights (relative; left out: the run's own) and the year."""

    weights: dict[str, float] = Field(default_factory=dict, max_length=64)
    year: int | None = None


class WhatIfUnit(BaseModel):
    unit: str
    name: str
    total: float | None
    rank: int | None
    run_total: float | None
    run_rank: int | None
    shift: int | None


class WhatIfAnswer(BaseModel):
    run: int
    year: int
    aggregation: Aggregation
    weights: dict[str, float]
    run_weights: dict[str, float]
    ranked: int
    changed: int
    units: list[WhatIfUnit]


@router.post("/api/runs/{run_id}/whatif", response_model=WhatIfAnswer, tags=["runs"])
def whatif_api(
    request: Request, principal: RunViewer, run_id: int, body: WhatIfRequest
) -> WhatIfAnswer:
    result = reweigh(request, principal, run_id, body.weights, body.year)
    return WhatIfAnswer(
        run=result.run_id,
        year=result.year,
        aggregation=result.method,
        weights=result.weights,
        run_weights={d.code: d.run_weight for d in result.dimensions},
        ranked=result.ranked,
        changed=result.changed,
        units=[WhatIfUnit(**r) for r in as_records(result.table[list(WhatIfUnit.model_fields)])],
    )
