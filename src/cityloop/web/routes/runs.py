"""Evaluation run pages and API: list, start (with the AHP judgment editor), view, compare and
download stored runs.

Thin adapter over ``cityloop.services.runs`` (starting runs, AHP) and
``cityloop.services.run_results`` (reading runs back); every list shows only visible units.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from cityloop.accounts import Action, Principal, can
from cityloop.accounts.scope import visible_units
from cityloop.errors import CityLoopError
from cityloop.evaluation.compare import flatten_config
from cityloop.i18n import current_language, t
from cityloop.services import run_results as results
from cityloop.services import runs as service
from cityloop.store import Database
from cityloop.web.auth import check_csrf
from cityloop.web.guard import allowed
from cityloop.web.templating import render

router = APIRouter()

RunViewer = Annotated[Principal, allowed(Action.VIEW_RUNS)]
RunStarter = Annotated[Principal, allowed(Action.RUN_EVALUATION)]
Exporter = Annotated[Principal, allowed(Action.EXPORT_RESULTS)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def db_of(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def visible(request: Request, principal: Principal) -> set[str] | None:
    """The unit codes the user may see; None for a user of all regions."""
    if principal.scope is None:
        return None
    units = db_of(request).units()
    return set() if units is None else visible_units(units, principal.scope)


def stored(request: Request, run_id: int) -> None:
    """404 for a run id that is not stored."""
    if db_of(request).run(run_id) is None:
        raise HTTPException(status_code=404, detail="run not found")


# -- the list page and the run form ---------------------------------------------------------------


def runs_page(
    request: Request,
    principal: Principal,
    form: service.RunForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    db = db_of(request)
    frameworks = service.evaluable_frameworks(db)
    starter = can(principal.role, Action.RUN_EVALUATION)
    form = form or service.RunForm(
        framework=frameworks[0].id if frameworks else service.DEFAULT_FRAMEWORK
    )
    editor = None
    if starter and frameworks:
        editor = service.ahp_editor(db, form.framework, form.ahp_node, form.ahp_upper)
    runs = db.runs()
    return render(
        request,
        "runs.html",
        {
            "runs": runs,
            "summaries": {r.id: service.describe_config(r.config) for r in runs},
            "starter": starter,
            "frameworks": frameworks,
            "form": form,
            "choices": service.CHOICES,
            "label": service.option_label,
            "errors": errors or [],
            "editor": editor,
            "ahp_form": form,
            "scale": service.SAATY_SCALE,
        },
        status,
    )


@router.get("/runs", response_class=HTMLResponse, include_in_schema=False)
def list_page(request: Request, principal: RunViewer) -> HTMLResponse:
    return runs_page(request, principal)


@router.post("/runs", include_in_schema=False)
def start_run_form(
    request: Request,
    principal: RunStarter,
    csrf_token: Annotated[str, Form()] = "",
    framework: Annotated[str, Form(max_length=64)] = service.DEFAULT_FRAMEWORK,
    years: Annotated[str, Form(max_length=200)] = "",
    normalisation: Annotated[str, Form(max_length=40)] = "min_max",
    scope: Annotated[str, Form(max_length=40)] = "pooled",
    imputation: Annotated[str, Form(max_length=40)] = "none",
    weights: Annotated[str, Form(max_length=40)] = "framework",
    upper: Annotated[str, Form(max_length=40)] = "framework",
    aggregation: Annotated[str, Form(max_length=40)] = "arithmetic",
    total_aggregation: Annotated[str, Form(max_length=40)] = "",
    threshold: Annotated[list[str] | None, Form(max_length=40)] = None,
    ahp_use: Annotated[str, Form()] = "",
    ahp_node: Annotated[str, Form(max_length=64)] = "TOTAL",
    ahp_child: Annotated[list[str] | None, Form()] = None,
    ahp_upper: Annotated[list[str] | None, Form()] = None,
    ahp_force: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    cuts = [*(threshold or ()), "", "", ""]
    form = service.RunForm(
        framework=framework,
        years=years,
        normalisation=normalisation,
        scope=scope,
        imputation=imputation,
        weights=weights,
        upper=upper,
        aggregation=aggregation,
        total_aggregation=total_aggregation,
        thresholds=(cuts[0], cuts[1], cuts[2]),
        ahp_use=bool(ahp_use),
        ahp_node=ahp_node,
        ahp_children=tuple(ahp_child or ()),
        ahp_upper=tuple(ahp_upper or ()),
        ahp_force=bool(ahp_force),
    )
    try:
        run_id = service.start_run(db_of(request), form, actor=principal.username)
    except CityLoopError as exc:
        return runs_page(request, principal, form, exc.render().splitlines(), status=422)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.get("/runs/ahp", response_class=HTMLResponse, include_in_schema=False)
def ahp_editor_fragment(
    request: Request, principal: RunStarter, framework: str, ahp_node: str = "TOTAL"
) -> HTMLResponse:
    editor = service.ahp_editor(db_of(request), framework, ahp_node)
    context = {"editor": editor, "ahp_form": service.RunForm(), "scale": service.SAATY_SCALE}
    return render(request, "_ahp_editor.html", context)


@router.post("/runs/ahp", response_class=HTMLResponse, include_in_schema=False)
def ahp_check_fragment(
    request: Request,
    principal: RunStarter,
    csrf_token: Annotated[str, Form()] = "",
    framework: Annotated[str, Form(max_length=64)] = service.DEFAULT_FRAMEWORK,
    ahp_child: Annotated[list[str] | None, Form()] = None,
    ahp_upper: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    check_csrf(request, csrf_token)
    children = list(ahp_child or ())
    names = service.child_names(db_of(request), framework)
    try:
        matrix = service.reciprocal_matrix(list(ahp_upper or ()), len(children))
        check: service.AHPCheck | None = service.check_judgments(children, matrix, names=names)
        problem = None
    except (ValueError, CityLoopError) as exc:
        check = None
        problem = exc.render() if isinstance(exc, CityLoopError) else t("runs.bad_judgment")
    return render(request, "_ahp_result.html", {"check": check, "problem": problem})


# -- one run, two runs, the workbook --------------------------------------------------------------


@router.get("/runs/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request, principal: RunViewer, a: int, b: int, year: int | None = None
) -> HTMLResponse:
    stored(request, a)
    stored(request, b)
    comparison = results.compare_runs(db_of(request), a, b, visible(request, principal), year)
    context = {"c": comparison, "chart": _scatter(comparison), "stage": results.stage_label}
    return render(request, "runs_compare.html", context)


def _scatter(comparison: results.RunComparison) -> list[list[Any]]:
    """Points (rank in A, rank in B, name) of the units ranked in both runs."""
    table = comparison.ranks.table
    both = table[table["rank_a"].notna() & table["rank_b"].notna()]
    names = both["unit"].map(comparison.names).fillna(both["unit"])
    return [
        [int(ra), int(rb), str(n)]
        for ra, rb, n in zip(both["rank_a"], both["rank_b"], names, strict=True)
    ]


@router.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(
    request: Request, principal: RunViewer, run_id: int, year: int | None = None
) -> HTMLResponse:
    stored(request, run_id)
    view = results.run_view(db_of(request), run_id, visible(request, principal), year)
    chart = {"names": [name for _, name in view.dimensions], "values": view.medians}
    return render(
        request,
        "run.html",
        {
            "view": view,
            "rows": results.as_records(view.ranking),
            "summary": service.describe_config(view.run.config),
            "config": flatten_config(view.run.config),
            "chart": chart,
        },
    )


@router.get("/runs/{run_id}/results.xlsx", include_in_schema=False)
def run_workbook(request: Request, principal: Exporter, run_id: int) -> Response:
    stored(request, run_id)
    content = results.run_workbook(
        db_of(request), run_id, visible(request, principal), current_language()
    )
    name = results.workbook_filename(run_id)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=XLSX, headers=headers)


# -- JSON API -------------------------------------------------------------------------------------


class RunRequest(BaseModel):
    """A run to start: the framework and an evaluation config (see docs/evaluation.md)."""

    framework: str = service.DEFAULT_FRAMEWORK
    config: dict[str, Any] = Field(default_factory=dict)


class JudgmentMatrix(BaseModel):
    """Pairwise judgments of ``children``: a square, positive, reciprocal matrix."""

    children: list[str] = Field(min_length=2, max_length=15)
    matrix: list[list[float]]
    max_cr: float = Field(service.DEFAULT_MAX_CR, gt=0, le=1)


class Consistency(BaseModel):
    weights: dict[str, float]
    lambda_max: float
    ci: float
    cr: float
    consistent: bool


def run_meta(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "framework": row.framework_id,
        "framework_version": row.framework_version,
        "config": row.config,
        "data_hash": row.data_hash,
        "warnings": row.warnings,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


@router.get("/api/runs", tags=["runs"])
def runs_api(request: Request, principal: RunViewer) -> list[dict[str, Any]]:
    return [run_meta(row) for row in db_of(request).runs()]


@router.post("/api/runs", status_code=201, tags=["runs"])
def start_run_api(request: Request, principal: RunStarter, body: RunRequest) -> dict[str, Any]:
    run_id, _ = service.evaluate_stored(
        db_of(request), body.framework, body.config, actor=principal.username
    )
    row = results.stored_run(db_of(request), run_id)
    return {**run_meta(row), "url": f"/runs/{run_id}"}


@router.post("/api/ahp/consistency", response_model=Consistency, tags=["runs"])
def consistency_api(principal: RunStarter, body: JudgmentMatrix) -> Consistency:
    check = service.check_judgments(body.children, body.matrix, max_cr=body.max_cr)
    return Consistency(
        weights=dict(zip(check.children, check.weights, strict=True)),
        lambda_max=check.lambda_max,
        ci=check.ci,
        cr=check.cr,
        consistent=check.consistent,
    )


@router.get("/api/runs/compare", tags=["runs"])
def compare_api(
    request: Request,
    principal: RunViewer,
    a: Annotated[int, Query()],
    b: Annotated[int, Query()],
    year: int | None = None,
) -> dict[str, Any]:
    stored(request, a)
    stored(request, b)
    c = results.compare_runs(db_of(request), a, b, visible(request, principal), year)
    r = c.ranks
    return {
        "a": c.a.id,
        "b": c.b.id,
        "year": c.year,
        "same_framework": c.same_framework,
        "compared": r.compared,
        "spearman": _number(r.spearman),
        "kendall": _number(r.kendall),
        "mean_abs_shift": _number(r.mean_abs_shift),
        "stage_changes": r.stage_changes,
        "movers_up": results.as_records(r.movers_up),
        "movers_down": results.as_records(r.movers_down),
        "units": results.as_records(r.table),
        "config_changes": [{"key": ch.key, "a": ch.a, "b": ch.b} for ch in c.changes],
    }


def _number(x: float) -> float | None:
    """JSON has no NaN: an undefined statistic is null."""
    return None if x != x else x


@router.get("/api/runs/{run_id}", tags=["runs"])
def run_api(
    request: Request, principal: RunViewer, run_id: int, year: int | None = None
) -> dict[str, Any]:
    stored(request, run_id)
    view = results.run_view(db_of(request), run_id, visible(request, principal), year)
    return {
        **run_meta(view.run),
        "years": view.years,
        "year": view.year,
        "dimensions": [{"code": c, "name": n} for c, n in view.dimensions],
        "dimension_medians": view.medians,
        "scores": results.as_records(view.ranking),
    }
