"""The dashboard service on both backends: its numbers equal the stored run and the values, it
keeps within the user's regions, and it reads a run once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cityloop.errors import CityLoopError
from cityloop.evaluation.result import TOTAL
from cityloop.services import dashboard
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
    r = dashboard.ranking(site.db, site.province)
    cities = site.units.table.index[site.units.table["parent"] == site.province]
    assert {row.unit for row in r.rows} == {str(c) for c in cities}
    assert [row.rank for row in r.rows] == sorted(row.rank for row in r.rows)
    everyone = dashboard.ranking(site.db, None)
    assert len(everyone.rows) == len(totals(site)["unit"].unique())
    assert sum(s.count for s in everyone.stages) == len(everyone.rows)
    charts = dashboard.ranking_charts(everyone)
    assert charts["bar"]["values"] == sorted(charts["bar"]["values"], reverse=True)


def test_errors_and_cache(site: Site) -> None:
    with pytest.raises(dashboard.NoRunError):
        dashboard.city_overview(site.db, site.city, None, run_id=10_000)
    with pytest.raises(CityLoopError, match="1990"):
        dashboard.ranking(site.db, None, year=1990)
    with pytest.raises(CityLoopError):
        dashboard.ranking(site.db, None, dashboard.RankingQuery(sort="nonsense"))
    view = dashboard.run_view(site.db, site.run_id, None)
    assert dashboard.run_view(site.db, None, "gbt33356-2016") is view
