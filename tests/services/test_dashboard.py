"""The dashboard service on both backends: its numbers equal the stored run and the values, it
keeps within the user's regions, it reads a run once, and threads share what it keeps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pandas as pd
import pytest

from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.services import dashboard, dashboard_cache, dashboard_ranking
from tests.web.conftest import site
from tests.web.site import Site

__all__ = ["site"]  # the populated site of the web tests, on SQLite and PostgreSQL


def totals(s: Site) -> pd.DataFrame:
    scores = s.db.run_scores(s.run_id, max_level=0)
    return scores[scores["node"] == TOTAL]


def test_city_numbers_equal_the_run(site: Site) -> None:
    all_totals = totals(site)
    year = int(all_totals["year"].max())
    o = dashboard.city_overview(site.db, site.city, site.city)
    own = all_totals[(all_totals["unit"] == site.city) & (all_totals["year"] == year)].iloc[0]
    assert (o.year, o.run_id) == (year, site.run_id)
    assert o.total == pytest.approx(own["score"]) and o.rank == own["rank"]
    assert o.change == pytest.approx(own["change"])
    that_year = all_totals[all_totals["year"] == year]
    assert o.trend[-1].median == pytest.approx(float(that_year["score"].median()))
    # The province rank: competition rank among the province's cities in the run.
    province = that_year[
        that_year["unit"].isin(site.units.table.index[site.units.table["parent"] == site.province])
    ]
    expected = 1 + int((province["score"] > own["score"]).sum())
    group = next(g for g in o.groups if g.kind == "province")
    assert (group.group, group.rank, group.of) == (site.province, expected, len(province))


def test_best_city_and_its_privacy(site: Site) -> None:
    year_totals = totals(site)
    latest = year_totals[year_totals["year"] == year_totals["year"].max()]
    best = str(latest.sort_values(["rank", "unit"]).iloc[0]["unit"])
    seen = dashboard.city_overview(site.db, site.city, None)
    assert seen.best_unit == best
    dims = site.db.run_scores(site.run_id, units=[best], max_level=1)
    dims = dims[(dims["level"] == 1) & (dims["year"] == latest["year"].max())]
    assert [d.best for d in seen.dimensions] == pytest.approx(dims["score"].tolist())
    scoped = dashboard.city_overview(site.db, site.city, site.city)
    assert (scoped.best_unit is None) == (best != site.city)


def test_weakest_indicators_use_the_stored_values(site: Site) -> None:
    o = dashboard.city_overview(site.db, site.city, None)
    values = site.db.values_frame("gbt33356-2016", [o.year])
    own = values[values["unit"] == site.city].set_index("indicator")["value"]
    scores = site.db.run_scores(site.run_id, units=[site.city])
    indicator_scores = scores[(scores["year"] == o.year) & (scores["level"] == 3)]
    assert len(o.weakest) == 5
    lowest = np.sort(indicator_scores["score"].dropna().to_numpy())[:5]
    assert [w.score for w in o.weakest] == pytest.approx(lowest.tolist())
    for w in o.weakest:
        assert w.value == pytest.approx(own[w.code])
        assert w.met == (w.gap == 0)
        if w.direction == "higher" and w.target is not None and w.value is not None:
            assert w.gap == pytest.approx(max(w.target - w.value, 0))


def test_ranking_keeps_to_the_scope(site: Site) -> None:
    r = dashboard_ranking.ranking(site.db, site.province)
    cities = site.units.table.index[site.units.table["parent"] == site.province]
    assert {row.unit for row in r.rows} == {str(c) for c in cities}
    assert [row.rank for row in r.rows] == sorted(row.rank for row in r.rows)
    everyone = dashboard_ranking.ranking(site.db, None)
    assert len(everyone.rows) == len(totals(site)["unit"].unique())
    assert sum(s.count for s in everyone.stages) == len(everyone.rows)
    charts = dashboard_ranking.ranking_charts(everyone)
    assert charts["bar"]["values"] == sorted(charts["bar"]["values"], reverse=True)


def test_errors_and_cache(site: Site) -> None:
    with pytest.raises(dashboard_cache.NoRunError):
        dashboard.city_overview(site.db, site.city, None, run_id=10_000)
    with pytest.raises(CityLoopError, match="1990"):
        dashboard_ranking.ranking(site.db, None, year=1990)
    with pytest.raises(CityLoopError):
        dashboard_ranking.ranking(site.db, None, dashboard_ranking.RankingQuery(sort="nonsense"))
    view = dashboard_cache.run_view(site.db, site.run_id, None)
    assert dashboard_cache.run_view(site.db, None, "gbt33356-2016") is view


def together(n: int, work: Callable[[], list[str]]) -> list[list[str]]:
    """``work``'s answers in ``n`` threads that start it at the same moment."""
    start = threading.Barrier(n)

    def run(_: int) -> list[str]:
        start.wait()
        return work()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_threads_share_a_newly_read_run_safely(site: Site) -> None:
    """Threads building pages from one run read moments ago (the first requests after a start)
    get what one thread gets: the kept tables are keyed by unit alone, each label one row."""
    run = site.db.run(site.run_id)
    assert run is not None
    reg = dashboard_cache.regions(site.db)
    cities = reg.units.of_level("city")

    def pages(view: dashboard_cache.RunView) -> list[str]:
        y = max(view.years)
        raw = dashboard_cache.raw_year(site.db, view, y)
        table = dashboard_ranking.ranking_table(view, reg, y)
        built = [dashboard.build_overview(view, reg, raw, y, c, True) for c in cities]
        return [o.model_dump_json() for o in built] + [r.model_dump_json() for r in table.rows]

    expected = pages(dashboard_cache.run_view(site.db, site.run_id, None))
    for trial in range(2):
        # A view no request has read yet, under a key of its own so nothing derived is reused.
        key = (site.db.url, run.id, f"threads-{trial}")
        view = dashboard_cache.build_view(site.db, run, key)
        for scores in view.by_year.values():
            for table in (scores.totals, scores.dimensions, scores.indicators):
                assert table.index.name == "unit" and table.index.is_unique
                assert table.index.equals(scores.totals.index)
        assert all(got == expected for got in together(6, partial(pages, view)))


def test_repeated_labels_are_refused() -> None:
    frame = pd.DataFrame({"score": [1.0, 2.0]}, index=pd.Index(["a", "a"], name="unit"))
    with pytest.raises(ValueError, match="unit"):
        dashboard_cache.settled(frame)
