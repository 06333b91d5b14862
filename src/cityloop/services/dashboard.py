"""The city overview and the ranking dashboards: a stored run's numbers for one city or for the
cities a user may see, computed by ``cityloop.evaluation.overview`` on cached run tables.

Runs never change, so a run's tables are read once and kept (a small LRU per process); regions
and raw values may change, so they are kept only for ``FRESH_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel

from cityloop.accounts.scope import visible_units
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.evaluation import overview
from cityloop.evaluation.config import STAGES
from cityloop.evaluation.result import TOTAL
from cityloop.frameworks import Framework
from cityloop.i18n import current_language, pick, t
from cityloop.services.evaluation import DEFAULT_FRAMEWORK
from cityloop.store import Database
from cityloop.store.runs import RunRow

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

RUNS_KEPT = 4  # a run of 300 cities × 5 years is ~100k score rows, some 10 MB as frames
FRESH_SECONDS = 30.0  # how stale regions and raw values on a dashboard may be
NEWEST_SECONDS = 5.0  # how long a new run may wait before it is the default one shown
WEAKEST_SHOWN = 5
SCORE_KEYS = ("total", "change")
ASCENDING_KEYS = ("rank", "name", "province", "stage")


class NoRunError(CityLoopError):
    """There is no stored run to show (none yet for the framework, or no such id)."""


class Cache(Generic[K, V]):
    """A bounded, thread-safe LRU whose entries may expire; ``get`` builds what is missing."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        found = self._fresh(key)
        if found is not None:
            return found[0]
        # One build at a time: twenty first requests for a run read its rows once, not twenty.
        with self._build_lock:
            found = self._fresh(key)
            if found is not None:
                return found[0]
            value = build()
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return value

    def _fresh(self, key: K) -> tuple[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (self.ttl is not None and time.monotonic() - entry[0] > self.ttl):
                return None
            self._entries.move_to_end(key)
            return (entry[1],)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class RunView:
    """A run's tables as the dashboards read them, built once per run."""

    key: tuple[str, int, str]  # database, run id, creation time: what identifies the run
    run: RunRow
    framework: Framework
    years: tuple[int, ...]
    totals: pd.DataFrame  # (year, unit) → score, change, rank, ranked, stage
    dimensions: pd.DataFrame  # (year, unit) × first-level dimension codes
    indicators: pd.DataFrame  # (year, unit) × indicator codes: normalised scores
    medians: pd.DataFrame  # year × (TOTAL, dimension codes)
    best: dict[int, str | None]
    spec: pd.DataFrame  # indicator code → direction, target, target_source, band_low, band_high


@dataclass(frozen=True)
class Regions:
    """The stored regions with the labels a dashboard shows per unit."""

    stamp: float  # when they were read: tells the tables built from them apart
    units: Units
    labels: pd.DataFrame  # unit → name_zh, name_en, province, clusters (list of names)


@dataclass(frozen=True)
class RawYear:
    """One year's raw values of a run's units, and the best of them per indicator."""

    stamp: float  # when the values were read
    values: pd.DataFrame  # unit × indicator
    best: pd.Series  # indicator → best peer value (NaN for band indicators)


@dataclass(frozen=True)
class RankingTable:
    """A run year's ranking of every unit, built once: a frame to filter and sort on, and the
    finished rows in the frame's order (``pos``)."""

    frame: pd.DataFrame
    rows: list[RankingRow]


RUNS: Cache[tuple[str, int, str], RunView] = Cache(RUNS_KEPT)
NEWEST: Cache[tuple[str, str], RunRow] = Cache(16, NEWEST_SECONDS)
REGIONS: Cache[str, Regions] = Cache(8, FRESH_SECONDS)
VISIBLE: Cache[tuple[float, str | None], frozenset[str]] = Cache(256)
RAW: Cache[tuple[tuple[str, int, str], int], RawYear] = Cache(16, FRESH_SECONDS)
GROUPS: Cache[tuple[tuple[str, int, str], int, float, str], dict[str, list[GroupRank]]] = Cache(32)
WEAK: Cache[tuple[tuple[str, int, str], int, float, str], dict[str, list[WeakIndicator]]] = Cache(
    32
)
OVERVIEWS: Cache[tuple[Any, ...], CityOverview] = Cache(1024)
RESULTS: Cache[tuple[Any, ...], tuple[Ranking, bytes]] = Cache(256)
TABLES: Cache[tuple[tuple[str, int, str], int, float, str], RankingTable] = Cache(32)


def build_view(db: Database, run: RunRow, key: tuple[str, int, str]) -> RunView:
    """Read a run's scores once and shape them for the dashboards."""
    fw = db.framework(run.framework_id, run.framework_version)
    scores = db.run_scores(run.id)
    scores = scores[scores["score"].notna() | (scores["level"] == 0)]

    def wide(mask: pd.Series, columns: list[str]) -> pd.DataFrame:
        part = scores[mask.to_numpy()]
        table = part.pivot(index=["year", "unit"], columns="node", values="score")
        return table.reindex(columns=columns).astype(np.float64)

    dims = [c for c, d in zip(fw.codes, fw.depth, strict=True) if d == 1]
    total_rows = scores[scores["node"] == TOTAL].set_index(["year", "unit"]).sort_index()
    totals = total_rows[["score", "change", "rank", "ranked", "stage"]]
    dimensions = wide(scores["level"] == 1, dims)
    indicators = wide(scores["node"].isin(fw.indicator_codes), list(fw.indicator_codes))
    medians = overview.peer_median(pd.concat([totals[["score"]], dimensions], axis=1))
    medians = medians.rename(columns={"score": TOTAL})
    years = tuple(int(y) for y in totals.index.get_level_values("year").unique())
    best = {y: overview.best_unit(of_year(totals, y)["score"]) for y in years}
    overrides = {str(k): float(v) for k, v in (run.config.get("targets") or {}).items()}
    target = pd.Series(fw.target, index=list(fw.indicator_codes))
    override = pd.Series(overrides, dtype=np.float64).reindex(target.index)
    spec = pd.DataFrame(
        {
            "direction": fw.direction,
            "target": override.fillna(target),
            "target_source": np.where(override.notna(), "config", "framework"),
            "band_low": fw.band[:, 0],
            "band_high": fw.band[:, 1],
        },
        index=target.index,
    )
    return RunView(key, run, fw, years, totals, dimensions, indicators, medians, best, spec)


def run_view(db: Database, run_id: int | None, framework: str | None) -> RunView:
    """The run asked for (``run_id``), else the newest run of ``framework``; cached."""
    if run_id is not None:
        run = db.run(run_id)
        if run is None:
            raise NoRunError("dash.unknown_run", run=run_id)
    else:
        fid = framework or DEFAULT_FRAMEWORK
        run = NEWEST.get((db.url, fid), lambda: newest_run(db, fid))
    # The run's creation time is in the key: a restored database may reuse an id.
    key = (db.url, run.id, run.created_at.isoformat())
    return RUNS.get(key, lambda: build_view(db, run, key))


def newest_run(db: Database, framework: str) -> RunRow:
    runs = db.runs(framework)
    if not runs:
        raise NoRunError("dash.no_run", framework=framework)
    return runs[0]


def regions(db: Database) -> Regions:
    """The stored regions (cached for ``FRESH_SECONDS``); ``NoRunError`` when none are loaded."""

    def build() -> Regions:
        units = db.units()
        if units is None:
            raise NoRunError("dash.no_regions")
        m = units.memberships
        province = m[m["kind"] == "province"].drop_duplicates("unit").set_index("unit")["group"]
        clusters = m[m["kind"] == "cluster"].groupby("unit")["group"].agg(list)
        labels = pd.DataFrame(
            {
                "name_zh": units.table["name_zh"].astype(str),
                "name_en": units.table["name_en"].fillna("").astype(str),
                "province": province.reindex(units.table.index).fillna("").astype(str),
            }
        )
        labels["clusters"] = clusters.reindex(labels.index)
        labels["clusters"] = [c if isinstance(c, list) else [] for c in labels["clusters"]]
        return Regions(time.monotonic(), units, labels)

    return REGIONS.get(db.url, build)


def visible(reg: Regions, scope: str | None) -> frozenset[str]:
    """``visible_units`` of the cached regions, cached per scope."""
    return VISIBLE.get((reg.stamp, scope), lambda: frozenset(visible_units(reg.units, scope)))


def raw_year(db: Database, view: RunView, year: int) -> RawYear:
    """The raw values of the run's units in ``year`` (cached for ``FRESH_SECONDS``)."""

    def build() -> RawYear:
        frame = db.values_frame(view.framework.id, [year])
        wide = frame.pivot(index="unit", columns="indicator", values="value")
        wide = wide.reindex(index=of_year(view.totals, year).index, columns=view.spec.index)
        return RawYear(time.monotonic(), wide, overview.peer_best(wide, view.spec["direction"]))

    return RAW.get((view.key, year), build)


def choose_year(view: RunView, year: int | None) -> int:
    if year is None:
        return max(view.years)
    if year not in view.years:
        raise CityLoopError("dash.unknown_year", year=year, years=", ".join(map(str, view.years)))
    return year


def of_year(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """The rows of a (year, unit) table for one year, indexed by unit."""
    return cast(pd.DataFrame, frame.xs(year, level="year"))


def row_of(frame: pd.DataFrame, year: int, unit: str) -> pd.Series:
    """One unit's row of a (year, unit) table."""
    return cast(pd.Series, frame.loc[(year, unit)])


def num(x: Any) -> float | None:
    """A JSON-safe number: None for NaN, NA or None."""
    return None if x is None or pd.isna(x) else float(x)


def whole(x: Any) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def unit_name(labels: pd.DataFrame, code: str, lang: str | None = None) -> str:
    if code not in labels.index:
        return code
    row = labels.loc[code]
    return pick({"zh": str(row["name_zh"]), "en": str(row["name_en"])}, lang)


def stage_name(stage: Any) -> str:
    return t(f"stage.{stage}") if stage else ""


# -- the city overview --------------------------------------------------------------------------


class Named(BaseModel):
    code: str
    name: str


class DimensionScore(BaseModel):
    code: str
    name: str
    score: float | None
    median: float | None
    best: float | None


class TrendPoint(BaseModel):
    year: int
    score: float | None
    median: float | None


class GroupRank(BaseModel):
    kind: str
    kind_name: str
    group: str
    name: str
    rank: int
    of: int


class WeakIndicator(BaseModel):
    code: str
    name: str
    unit: str
    department: str
    score: float
    value: float | None
    direction: str
    target: float | None
    band_low: float | None
    band_high: float | None
    target_source: str
    gap: float | None
    met: bool


class CityOverview(BaseModel):
    """Everything on the city overview page; also the JSON of its API."""

    run_id: int
    framework: str
    framework_title: str
    year: int
    years: list[int]
    scale: float
    unit: str
    name: str
    total: float | None
    change: float | None
    stage: str
    stage_name: str
    rank: int | None
    ranked: int | None
    best_unit: str | None  # only when the user may see it
    best_name: str
    dimensions: list[DimensionScore]
    trend: list[TrendPoint]
    groups: list[GroupRank]
    weakest: list[WeakIndicator]


def city_overview(
    db: Database,
    code: str,
    scope: str | None,
    *,
    run_id: int | None = None,
    framework: str | None = None,
    year: int | None = None,
) -> CityOverview:
    """The overview of city ``code`` in a run and year, for a user with ``scope``.

    The caller has checked that the user may see ``code``; the best city is named only if the
    user may see it too.
    """
    view = run_view(db, run_id, framework)
    y = choose_year(view, year)
    reg = regions(db)
    if (y, code) not in view.totals.index:
        raise CityLoopError("dash.not_evaluated", unit=code, year=y, run=view.run.id)
    best = view.best[y]
    best_visible = best is not None and best in visible(reg, scope)
    raw = raw_year(db, view, y)
    # Everything below depends on these only: a city's overview is built once per language.
    key = (view.key, y, code, reg.stamp, raw.stamp, current_language(), best_visible)
    return OVERVIEWS.get(key, lambda: build_overview(view, reg, raw, y, code, best_visible))


def build_overview(
    view: RunView, reg: Regions, raw: RawYear, y: int, code: str, best_visible: bool
) -> CityOverview:
    fw, labels = view.framework, reg.labels
    own = row_of(view.totals, y, code)
    best = view.best[y]
    dims = view.dimensions.columns
    best_dims = row_of(view.dimensions, y, best) if best else pd.Series(dtype=float)
    dimensions = [
        DimensionScore(
            code=c,
            name=fw.name(c),
            score=num(view.dimensions.at[(y, code), c]),
            median=num(view.medians.at[y, c]),
            best=num(best_dims.get(c)),
        )
        for c in dims
    ]
    own_totals = view.totals.xs(code, level="unit")["score"]
    trend = [
        TrendPoint(year=yr, score=num(own_totals.get(yr)), median=num(view.medians.at[yr, TOTAL]))
        for yr in view.years
    ]
    return CityOverview(
        run_id=view.run.id,
        framework=fw.id,
        framework_title=pick(fw.spec.title.as_dict()),
        year=y,
        years=list(view.years),
        scale=float(fw.spec.scale),
        unit=code,
        name=unit_name(labels, code),
        total=num(own["score"]),
        change=num(own["change"]),
        stage=str(own["stage"] or ""),
        stage_name=stage_name(own["stage"]),
        rank=whole(own["rank"]),
        ranked=whole(own["ranked"]),
        best_unit=best if best_visible else None,
        best_name=unit_name(labels, best) if best_visible and best else t("dash.best_city"),
        dimensions=dimensions,
        trend=trend,
        groups=city_groups(view, reg, code, y),
        weakest=weakest_indicators(view, raw, code, y),
    )


def city_groups(view: RunView, reg: Regions, code: str, year: int) -> list[GroupRank]:
    """The city's rank in its province and in each of its clusters."""

    def build() -> dict[str, list[GroupRank]]:
        totals = of_year(view.totals, year)["score"]
        ranks = overview.group_ranks(totals, reg.units.memberships)
        ranks = ranks.sort_values(["unit", "kind", "group"], ascending=[True, False, True])
        by_unit: dict[str, list[GroupRank]] = {}
        for unit, kind, group, rank, of in ranks[
            ["unit", "kind", "group", "rank", "of"]
        ].itertuples(index=False):
            by_unit.setdefault(str(unit), []).append(
                GroupRank(
                    kind=kind,
                    kind_name=t(f"dash.kind.{kind}"),
                    group=group,
                    name=unit_name(reg.labels, group) if kind == "province" else group,
                    rank=int(rank),
                    of=int(of),
                )
            )
        return by_unit

    return GROUPS.get((view.key, year, reg.stamp, current_language()), build).get(code, [])


def weakest_indicators(view: RunView, raw: RawYear, code: str, year: int) -> list[WeakIndicator]:
    """The city's five weakest indicators that year with the gap to each one's target."""

    def build() -> dict[str, list[WeakIndicator]]:
        fw = view.framework
        weak = overview.weakest_with_gaps(
            of_year(view.indicators, year), raw.values, view.spec, raw.best, WEAKEST_SHOWN
        )
        info = {i.code: i for i in fw.indicators}
        by_unit: dict[str, list[WeakIndicator]] = {}
        for w in weak.to_dict("records"):
            ind = info[str(w["indicator"])]
            by_unit.setdefault(str(w["unit"]), []).append(
                WeakIndicator(
                    code=ind.code,
                    name=fw.name(ind.code),
                    unit=ind.unit,
                    department=ind.department,
                    score=float(w["score"]),
                    value=num(w["value"]),
                    direction=ind.direction.value,
                    target=num(w["target"]),
                    band_low=num(w["band_low"]),
                    band_high=num(w["band_high"]),
                    target_source=str(w["target_source"]),
                    gap=num(w["gap"]),
                    met=bool(w["met"]),
                )
            )
        return by_unit

    return WEAK.get((view.key, year, raw.stamp, current_language()), build).get(code, [])


# -- the ranking --------------------------------------------------------------------------------


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
        dims = list(view.dimensions.columns)
        totals = of_year(view.totals, year)
        table = pd.concat(
            [
                totals.reset_index().rename(columns={"score": "total"}),
                reg.labels.reindex(totals.index).reset_index(drop=True),
                of_year(view.dimensions, year).reindex(totals.index).reset_index(drop=True),
            ],
            axis=1,
        )
        english = lang == "en"
        table["name"] = table["name_en"].where((table["name_en"] != "") & english, table["name_zh"])
        table["stage_order"] = table["stage"].map({s: i for i, s in enumerate(STAGES)})
        table["pos"] = np.arange(len(table))
        provinces = {p: unit_name(reg.labels, p) for p in table["province"].unique() if p}
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
                dimensions=[num(r[d]) for d in dims],
            )
            for r in table.to_dict("records")
        ]
        return RankingTable(table, rows)

    return TABLES.get((view.key, year, reg.stamp, lang), build)


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
    dims = [str(c) for c in view.dimensions.columns]
    q = resolve_query(query or RankingQuery(), ["total", "change", *dims])
    key = (view.key, y, reg.stamp, current_language(), scope, q.model_dump_json())

    def build() -> tuple[Ranking, bytes]:
        r = build_ranking(view, reg, y, scope, q)
        return r, r.model_dump_json().encode()

    return RESULTS.get(key, build)


def build_ranking(
    view: RunView, reg: Regions, y: int, scope: str | None, q: RankingQuery
) -> Ranking:
    fw = view.framework
    dims = [str(c) for c in view.dimensions.columns]
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
    named_dims = [Named(code=d, name=fw.name(d)) for d in dims]
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
