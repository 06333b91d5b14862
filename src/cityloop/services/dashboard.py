"""The city overview dashboard: a stored run's numbers for one city, in the reader's language,
computed by ``cityloop.evaluation.overview`` on the tables of ``dashboard_cache``.

A city's overview depends only on the run, the year, the regions, the raw values and the
language, so it is built once and kept; so are the per-year group ranks and weakest indicators
of every city, which one build computes for all of them at once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel

from cityloop.errors import CityLoopError
from cityloop.evaluation import overview
from cityloop.evaluation.result import TOTAL
from cityloop.i18n import current_language, pick, t
from cityloop.services.dashboard_cache import (
    Cache,
    RawYear,
    Regions,
    RunView,
    choose_year,
    num,
    raw_year,
    regions,
    run_view,
    stage_name,
    visible,
    whole,
)
from cityloop.store import Database

WEAKEST_SHOWN = 5

# Keys: the run's key, the year, the read of the regions (or values) and the language.
GroupsKey = tuple[tuple[str, int, str], int, int, str]


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


GROUPS: Cache[GroupsKey, dict[str, list[GroupRank]]] = Cache(32)
WEAK: Cache[GroupsKey, dict[str, list[WeakIndicator]]] = Cache(32)
OVERVIEWS: Cache[tuple[Any, ...], CityOverview] = Cache(1024)


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

    Parameters
    ----------
    db : Database
        Where the run, the regions and the raw values are stored.
    code : str
        The city's unit code.
    scope : str or None
        The user's region code (None: every region).
    run_id : int, optional
        The run to show; default: the newest run of ``framework``.
    framework : str, optional
        The framework whose newest run is shown (default ``DEFAULT_FRAMEWORK``).
    year : int, optional
        The year to show; default: the run's latest.

    Returns
    -------
    CityOverview
        The page's numbers and names, in the reader's language.

    Raises
    ------
    NoRunError
        No such run, no run of the framework yet, or no regions.
    CityLoopError
        A year the run does not have, or a city it did not evaluate that year.
    """
    view = run_view(db, run_id, framework)
    y = choose_year(view, year)
    reg = regions(db)
    scores = view.by_year[y]
    if code not in scores.totals.index:
        raise CityLoopError("dash.not_evaluated", unit=code, year=y, run=view.run.id)
    best_visible = scores.best is not None and scores.best in visible(reg, scope)
    raw = raw_year(db, view, y)
    # Everything below depends on these only: a city's overview is built once per language.
    key = (view.key, y, code, reg.serial, raw.serial, current_language(), best_visible)
    return OVERVIEWS.get(key, lambda: build_overview(view, reg, raw, y, code, best_visible))


def build_overview(
    view: RunView, reg: Regions, raw: RawYear, y: int, code: str, best_visible: bool
) -> CityOverview:
    fw, scores = view.framework, view.by_year[y]
    own = scores.totals.loc[code]
    own_dims = scores.dimensions.loc[code]
    best = scores.best
    best_dims = scores.dimensions.loc[best] if best else pd.Series(dtype=float)
    dimensions = [
        DimensionScore(
            code=c,
            name=fw.name(c),
            score=num(own_dims[c]),
            median=num(scores.medians[c]),
            best=num(best_dims.get(c)),
        )
        for c in view.dimensions
    ]
    trend = [
        TrendPoint(
            year=yr,
            score=num(view.by_year[yr].totals["score"].get(code)),
            median=num(view.by_year[yr].medians[TOTAL]),
        )
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
        name=reg.name(code),
        total=num(own["score"]),
        change=num(own["change"]),
        stage=str(own["stage"] or ""),
        stage_name=stage_name(own["stage"]),
        rank=whole(own["rank"]),
        ranked=whole(own["ranked"]),
        best_unit=best if best_visible else None,
        best_name=reg.name(best) if best_visible and best else t("dash.best_city"),
        dimensions=dimensions,
        trend=trend,
        groups=city_groups(view, reg, code, y),
        weakest=weakest_indicators(view, raw, code, y),
    )


def city_groups(view: RunView, reg: Regions, code: str, year: int) -> list[GroupRank]:
    """The city's rank in its province and in each of its clusters."""

    def build() -> dict[str, list[GroupRank]]:
        totals = view.by_year[year].totals["score"]
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
                    name=reg.name(group) if kind == "province" else group,
                    rank=int(rank),
                    of=int(of),
                )
            )
        return by_unit

    return GROUPS.get((view.key, year, reg.serial, current_language()), build).get(code, [])


def weakest_indicators(view: RunView, raw: RawYear, code: str, year: int) -> list[WeakIndicator]:
    """The city's five weakest indicators that year with the gap to each one's target."""

    def build() -> dict[str, list[WeakIndicator]]:
        fw = view.framework
        weak = overview.weakest_with_gaps(
            view.by_year[year].indicators, raw.values, view.spec, raw.best, WEAKEST_SHOWN
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

    return WEAK.get((view.key, year, raw.serial, current_language()), build).get(code, [])
