"""The robustness page and API of a stored run: Monte Carlo uncertainty and Sobol sensitivity
of its ranking, run on request (up to ``MAX_WEB_REPLICATIONS``), shown as charts and a table.

Thin adapter over ``cityloop.services.uncertainty``; only the visible units are shown, though
every unit the run evaluated takes part. Results are not stored: the seed reproduces them.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from cityloop.accounts import Action, Principal, can
from cityloop.errors import CityLoopError
from cityloop.evaluation.uncertainty import UncertaintySpec
from cityloop.services import uncertainty as service
from cityloop.services.run_results import UnknownRunError, as_records, stored_run
from cityloop.services.whatif import visible_to
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed
from cityloop.web.templating import render

router = APIRouter()

RunViewer = Annotated[Principal, allowed(Action.VIEW_RUNS)]
RunStarter = Annotated[Principal, allowed(Action.RUN_EVALUATION)]
CHART_UNITS = 50  # rank intervals a reader can still tell apart; the table lists every unit


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def run_years(request: Request, run_id: int) -> list[int]:
    """The years run ``run_id`` scored; 404 for a run that is not stored."""
    db = db_of(request)
    try:
        stored_run(db, run_id)
    except UnknownRunError as exc:
        raise HTTPException(status_code=404, detail=exc.render()) from None
    totals = db.run_scores(run_id, max_level=0)
    return sorted(int(y) for y in totals["year"].unique())


def page(
    request: Request,
    principal: Principal,
    run_id: int,
    form: service.SpecForm,
    analysis: service.Robustness | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "run_id": run_id,
        "years": run_years(request, run_id),
        "form": form,
        "starter": can(principal.role, Action.RUN_EVALUATION),
        "choices": service.CHOICES,
        "option": service.option_label,
        "errors": errors or [],
        "limit": service.MAX_WEB_REPLICATIONS,
        "a": analysis,
    }
    if analysis is not None:
        summary = analysis.summary(visible_to(db_of(request), principal.scope))
        context |= {
            "rows": as_records(summary),
            "intervals": interval_chart(summary),
            "sensitivity": as_records(analysis.result.sensitivity_table),
            "sobol": sensitivity_chart(analysis.result.sensitivity_table),
            "recipe": service.spec_yaml(analysis.result.spec),
        }
    return render(request, "robustness.html", context, status)


def interval_chart(summary: pd.DataFrame) -> dict[str, list[Any]]:
    """The visible units with a rank, by median rank: 5–95 % interval, median, point rank."""
    ranked = summary[summary["median_rank"].notna()]
    ranked = ranked.sort_values(["median_rank", "point_rank"], kind="stable").head(CHART_UNITS)
    return {
        "names": ranked["name"].astype(str).tolist(),
        "p05": ranked["rank_p05"].astype(int).tolist(),
        "p95": ranked["rank_p95"].astype(int).tolist(),
        "median": ranked["median_rank"].astype(int).tolist(),
        "point": [int(r) if r > 0 else None for r in ranked["point_rank"]],
    }


def sensitivity_chart(table: pd.DataFrame) -> dict[str, list[Any]]:
    """S1 and ST per factor (negative estimates of S1 are noise around zero: shown as 0)."""
    return {
        "labels": table["label"].astype(str).tolist(),
        "S1": np.round(np.clip(table["S1"].to_numpy(dtype=np.float64), 0, None), 4).tolist(),
        "ST": np.round(table["ST"].to_numpy(dtype=np.float64), 4).tolist(),
    }


@router.get("/runs/{run_id}/robustness", response_class=HTMLResponse, include_in_schema=False)
def robustness_page(request: Request, principal: RunViewer, run_id: int) -> HTMLResponse:
    return page(request, principal, run_id, service.SpecForm())


@router.post("/runs/{run_id}/robustness", response_class=HTMLResponse, include_in_schema=False)
def robustness_run(
    request: Request,
    principal: RunStarter,
    run_id: int,
    replications: Annotated[str, Form(max_length=12)],
    csrf_token: Annotated[str, Form()] = "",
    seed: Annotated[str, Form(max_length=20)] = str(service.DEFAULT_SPEC.seed),
    weights: Annotated[str, Form(max_length=20)] = "uniform",
    weight_spread: Annotated[str, Form(max_length=12)] = "20",
    dirichlet_concentration: Annotated[str, Form(max_length=12)] = "100",
    normalisations: Annotated[list[str] | None, Form(max_length=40)] = None,
    aggregations: Annotated[list[str] | None, Form(max_length=40)] = None,
    imputations: Annotated[list[str] | None, Form(max_length=40)] = None,
    leave_out: Annotated[str, Form(max_length=20)] = "none",
    top_k: Annotated[str, Form(max_length=6)] = "10",
    year: Annotated[str, Form(max_length=6)] = "",
    sobol: Annotated[str, Form(max_length=4)] = "",
) -> HTMLResponse:
    check_csrf(request, csrf_token)
    form = service.SpecForm(
        replications=replications,
        seed=seed,
        weights=weights,
        weight_spread=weight_spread,
        dirichlet_concentration=dirichlet_concentration,
        normalisations=tuple(normalisations or ()),
        aggregations=tuple(aggregations or ()),
        imputations=tuple(imputations or ()),
        leave_out=leave_out,
        top_k=top_k,
        year=year,
        sobol=bool(sobol),
    )
    try:
        spec = service.form_spec(form, service.run_config(db_of(request), run_id))
        analysis = service.analyse_run(
            db_of(request), run_id, spec, max_replications=service.MAX_WEB_REPLICATIONS
        )
    except UnknownRunError as exc:
        raise HTTPException(status_code=404, detail=exc.render()) from None
    except CityLoopError as exc:
        return page(request, principal, run_id, form, None, exc.render().splitlines(), 422)
    return page(request, principal, run_id, form, analysis)


# -- JSON API -------------------------------------------------------------------------------------


@router.post("/api/runs/{run_id}/uncertainty", tags=["runs"])
def uncertainty_api(
    request: Request, principal: RunStarter, run_id: int, body: UncertaintySpec
) -> dict[str, Any]:
    """Rank intervals of the visible units and Sobol indices of run ``run_id``'s ranking."""
    run_years(request, run_id)
    analysis = service.analyse_run(
        db_of(request), run_id, body, max_replications=service.MAX_WEB_REPLICATIONS
    )
    result = analysis.result
    return {
        "run": run_id,
        "year": result.year,
        "replications": result.replications,
        "spec": result.spec.model_dump(mode="json"),
        "data_changed": analysis.data_changed,
        "summary": as_records(analysis.summary(visible_to(db_of(request), principal.scope))),
        "sensitivity": as_records(result.sensitivity_table),
        "provenance": result.provenance,
    }
