"""The ranking dashboard: a stored run's cities that a user may see, filtered and sorted, with
the data of its charts; computed by ``cityloop.evaluation.overview`` on ``dashboard_cache``.

A run year's rows are built once per language for every unit; a user's answer (scope, filters,
order) picks from them and is kept with its JSON, so a province's default ranking is built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from cityloop.errors import CityLoopError
from cityloop.evaluation import overview
from cityloop.evaluation.config import STAGES
from cityloop.i18n import current_language, pick, t
from cityloop.services.dashboard_cache import (
    Cache,
    Regions,
    RunView,
    choose_year,
    num,
    regions,
    run_view,
    settled,
    stage_name,
    visible,
    whole,
)
from cityloop.store import Database

SCORE_KEYS = ("total", "change")
ASCENDING_KEYS = ("rank", "name", "province", "stage")


class Named(BaseModel):
    code: str
    name: str


class RankingRow(BaseModel):
    rank: int | None
    ranked: int | None
    unit: str
    name: str
    province: str
    province_name: str
    clusters: list[str]
    total: float | None
    change: float | None
    stage: str
    stage_name: str
    dimensions: list[float | None]  # in the order of ``Ranking.dimensions``


class StageCount(BaseModel):
    stage: str
    name: str
    count: int


class RankingQuery(BaseModel):
    """What the user asked the ranking for: filters, order and the scatter's axes."""

    province: str | None = None
    cluster: str | None = None
    stage: str | None = None
    q: str | None = None
    sort: str = "rank"
    order: str | None = None  # "asc" or "desc"; by default what reads best for the column
    x: str | None = None
    y: str | None = None


class Ranking(BaseModel):
    """The ranking of the cities a user may see; also the JSON of the ranking API."""

    run_id: int
    framework: str
    framework_title: str
    year: int
    years: list[int]
    scale: float
    query: RankingQuery  # as applied: sort, order, x and y filled in
    dimensions: list[Named]
    axes: list[Named]  # what the scatter may plot
    visible: int  # cities the user may see in this run and year, before the filters
    rows: list[RankingRow]
    stages: list[StageCount]
    provinces: list[Named]
    clusters: list[str]


@dataclass(frozen=True)
class RankingTable:
    """A run year's ranking of every unit, built once: a frame to filter and sort on, and the
    finished rows in the frame's order (``pos``)."""

    frame: pd.DataFrame
    rows: list[RankingRow]


# Keys: the run's key, the year, the read of the regions and the language (then scope, query).
TABLES: Cache[tuple[tuple[str, int, str], int, int, str], RankingTable] = Cache(32)
RESULTS: Cache[tuple[Any, ...], tuple[Ranking, bytes]] = Cache(256)


def resolve_query(query: RankingQuery, axes: list[str]) -> RankingQuery:
    """Check the sort column, order and axes; fill in the defaults."""
    sortable = {*ASCENDING_KEYS, *SCORE_KEYS, *axes}
    if query.sort not in sortable:
        raise CityLoopError("dash.bad_sort", sort=query.sort, known=", ".join(sorted(sortable)))
    order = query.order or ("asc" if query.sort in ASCENDING_KEYS else "desc")
    if order not in {"asc", "desc"}:
        raise CityLoopError("dash.bad_order", order=order)
    x, y = query.x or axes[2], query.y or axes[3 if len(axes) > 3 else 0]
    for axis in (x, y):
        if axis not in axes:
            raise CityLoopError("dash.bad_axis", axis=axis, known=", ".join(axes))
    return query.model_copy(update={"order": order, "x": x, "y": y})


def ranking_table(view: RunView, reg: Regions, year: int) -> RankingTable:
    """Every unit of the run year as a ranking row, in the reader's language; cached."""
    lang = current_language()

    def build() -> RankingTable:
        scores = view.by_year[year]
        totals = scores.totals
        table = pd.concat(
            [
                totals.reset_index().rename(columns={"score": "total"}),
                reg.labels.reindex(totals.index).reset_index(drop=True),
                scores.dimensions.reset_index(drop=True),
            ],
            axis=1,
        )
        english = lang == "en"
        table["name"] = table["name_en"].where((table["name_en"] != "") & english, table["name_zh"])
        table["stage_order"] = table["stage"].map({s: i for i, s in enumerate(STAGES)})
        table["pos"] = np.arange(len(table))
        provinces = {p: reg.name(p) for p in table["province"].unique() if p}
        rows = [
            RankingRow(
                rank=whole(r["rank"]),
                ranked=whole(r["ranked"]),
                unit=r["unit"],
                name=r["name"],
                province=r["province"],
                province_name=provinces.get(r["province"], ""),
                clusters=r["clusters"],
                total=num(r["total"]),
                change=num(r["change"]),
                stage=r["stage"] or "",
                stage_name=stage_name(r["stage"]),
                dimensions=[num(r[d]) for d in view.dimensions],
            )
            for r in table.to_dict("records")
        ]
        return RankingTable(settled(table), rows)

    return TABLES.get((view.key, year, reg.serial, lang), build)


def ranking(
    db: Database,
    scope: str | None,
    query: RankingQuery | None = None,
    *,
    run_id: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> Ranking:
    """The ranking of the cities visible to a user with ``scope``, filtered and sorted.

    The answer depends only on the run, the year, the regions, the language, the scope and the
    query, so it is kept: the default ranking of a province is built once, not per request.

    Parameters
    ----------
    db : Database
        Where the run and the regions are stored.
    scope : str or None
        The user's region code (None: every region).
    query : RankingQuery, optional
        Filters, order and scatter axes; default: every visible city by rank.
    run_id, framework, year
        Which run and year, as for ``cityloop.services.dashboard.city_overview``.

    Raises
    ------
    NoRunError
        No such run, no run of the framework yet, or no regions.
    CityLoopError
        A year the run does not have, or an unknown sort column, order or axis.
    """
    return ranking_result(db, scope, query, run_id, framework, year)[0]


def ranking_json(
    db: Database,
    scope: str | None,
    query: RankingQuery | None = None,
    *,
    run_id: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> bytes:
    """``ranking(...)`` as the JSON the API sends, kept with it."""
    return ranking_result(db, scope, query, run_id, framework, year)[1]


def ranking_result(
    db: Database,
    scope: str | None,
    query: RankingQuery | None,
    run_id: int | None,
    framework: str | None,
    year: int | None,
) -> tuple[Ranking, bytes]:
    view = run_view(db, run_id, framework)
    y = choose_year(view, year)
    reg = regions(db)
    q = resolve_query(query or RankingQuery(), [*SCORE_KEYS, *view.dimensions])
    key = (view.key, y, reg.serial, current_language(), scope, q.model_dump_json())

    def build() -> tuple[Ranking, bytes]:
        r = build_ranking(view, reg, y, scope, q)
        return r, r.model_dump_json().encode()

    return RESULTS.get(key, build)


def build_ranking(
    view: RunView, reg: Regions, y: int, scope: str | None, q: RankingQuery
) -> Ranking:
    fw = view.framework
    built = ranking_table(view, reg, y)
    table = built.frame[built.frame["unit"].isin(visible(reg, scope))]
    shown = overview.filter_ranking(
        table,
        reg.units.memberships,
        province=q.province,
        cluster=q.cluster,
        stage=q.stage,
        query=q.q,
    )
    key = {"stage": "stage_order"}.get(q.sort, q.sort)
    shown = overview.sort_ranking(shown, key, q.order == "desc")
    rows = [built.rows[i] for i in shown["pos"].tolist()]
    counts = overview.stage_distribution(shown["stage"], STAGES)
    named_dims = [Named(code=d, name=fw.name(d)) for d in view.dimensions]
    axes = [Named(code=a, name=t(f"dash.col.{a}")) for a in SCORE_KEYS]
    provinces = sorted({(r.province, r.province_name) for r in rows if r.province})
    return Ranking(
        run_id=view.run.id,
        framework=fw.id,
        framework_title=pick(fw.spec.title.as_dict()),
        year=y,
        years=list(view.years),
        scale=float(fw.spec.scale),
        query=q,
        dimensions=named_dims,
        axes=axes + named_dims,
        visible=len(table),
        rows=rows,
        stages=[StageCount(stage=s, name=stage_name(s), count=n) for s, n in counts.items()],
        provinces=[Named(code=c, name=n) for c, n in provinces],
        clusters=sorted({c for cs in table["clusters"] for c in cs}),
    )


def ranking_charts(r: Ranking) -> dict[str, Any]:
    """The data of the ranking's bar, scatter and stage charts, from the rows shown."""
    axis_names = {a.code: a.name for a in r.axes}
    dims = [d.code for d in r.dimensions]

    def value(row: RankingRow, axis: str | None) -> float | None:
        if axis in SCORE_KEYS:
            return row.total if axis == "total" else row.change
        return row.dimensions[dims.index(str(axis))]

    by_total = sorted(
        (row for row in r.rows if row.total is not None), key=lambda w: -(w.total or 0)
    )
    return {
        "bar": {"names": [w.name for w in by_total], "values": [w.total for w in by_total]},
        "scatter": {
            "x": axis_names[str(r.query.x)],
            "y": axis_names[str(r.query.y)],
            "points": [[value(w, r.query.x), value(w, r.query.y), w.name] for w in r.rows],
        },
        "stages": [{"name": s.name, "value": s.count} for s in r.stages],
    }
