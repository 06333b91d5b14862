"""The what-if service on a stored run, on both backends: the run's own weights give back the
stored totals and ranks; new weights re-rank every unit; bad weights are refused."""

from __future__ import annotations

import numpy as np
import pytest

from cityloop.errors import CityLoopError, ConfigError
from cityloop.evaluation.result import TOTAL
from cityloop.services import whatif as service
from cityloop.services.dashboard_cache import NoRunError
from tests.web.conftest import site as site  # the populated site, on each backend
from tests.web.site import PROVINCE, Site


def stored_totals(s: Site, year: int) -> tuple[dict[str, float], dict[str, int]]:
    scores = s.db.run_scores(s.run_id, max_level=0)
    total = scores[(scores["node"] == TOTAL) & (scores["year"] == year)]
    units = total["unit"].astype(str)
    return dict(zip(units, total["score"], strict=True)), dict(
        zip(units, total["rank"].astype(int), strict=True)
    )


def test_the_runs_own_weights_give_back_every_stored_total_and_rank(site: Site) -> None:
    first = service.whatif(site.db, site.run_id)
    for year in first.years:
        result = service.whatif(site.db, site.run_id, year=year)
        totals, ranks = stored_totals(site, year)
        table = result.table.set_index("unit")
        assert set(table.index) == set(totals)
        got = table["total"].to_numpy(dtype=np.float64)
        want = np.array([totals[u] for u in table.index])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        assert table["rank"].astype(int).tolist() == [ranks[u] for u in table.index]
        assert result.changed == 0 and result.ranked == len(totals)
    assert sum(d.run_weight for d in first.dimensions) == pytest.approx(1.0)


def test_all_weight_on_one_dimension_ranks_by_that_dimension(site: Site) -> None:
    result = service.whatif(site.db, site.run_id)
    codes = [d.code for d in result.dimensions]
    only = {c: (1.0 if c == codes[2] else 0.0) for c in codes}
    moved = service.whatif(site.db, site.run_id, only)
    table = moved.table.dropna(subset=[codes[2]])
    best_first = table.sort_values(codes[2], ascending=False, kind="stable")
    assert table["total"].tolist() == pytest.approx(table[codes[2]].tolist())
    assert best_first["rank"].iloc[0] == 1 and moved.changed > 0
    assert moved.weights[codes[2]] == 1.0


def test_visible_units_only_but_ranked_among_all(site: Site) -> None:
    visible = service.visible_to(site.db, PROVINCE)
    assert visible is not None
    everyone = service.whatif(site.db, site.run_id, {"L1": 3.0})
    mine = service.whatif(site.db, site.run_id, {"L1": 3.0}, visible=visible)
    assert 0 < len(mine.table) < len(everyone.table) and mine.ranked == everyone.ranked
    assert set(mine.table["unit"]) <= visible
    same = everyone.table.set_index("unit").loc[mine.table["unit"], "rank"]
    assert same.tolist() == mine.table["rank"].tolist()
    assert service.visible_to(site.db, None) is None


@pytest.mark.parametrize(
    ("weights", "key"),
    [
        ({"NOPE": 1.0}, "rob.whatif.unknown_dimension"),
        ({"L1": -1.0}, "rob.whatif.bad_weight"),
        ({f"L{i}": 0.0 for i in range(1, 9)}, "rob.whatif.zero_weights"),
    ],
)
def test_bad_weights_are_refused(site: Site, weights: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        service.whatif(site.db, site.run_id, weights)
    assert [p.key for p in caught.value.problems] == [key]


def test_unknown_run_and_year_are_refused(site: Site) -> None:
    with pytest.raises(NoRunError):
        service.whatif(site.db, 9999)
    with pytest.raises(CityLoopError, match="1999"):
        service.whatif(site.db, site.run_id, year=1999)
