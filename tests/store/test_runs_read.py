"""Reading stored runs back for the runs pages: which frameworks can be evaluated, and the
filters of ``run_scores`` (units, levels) that keep pages to the units a user may see."""

from __future__ import annotations

import cityloop
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind
from tests.store.samples import Demo

FILE = Origin(OriginKind.FILE, "values.xlsx")


def test_only_frameworks_with_values_can_be_evaluated(
    db: Database, mini: Framework, mini_demo: Demo
) -> None:
    assert db.frameworks_with_values() == []
    db.load_units(mini_demo.units, "alice")
    db.register_framework(mini, "alice")
    assert db.frameworks_with_values() == []  # registered, but nothing to evaluate yet
    db.upsert_values(mini_demo.values, mini, "alice", FILE)
    assert db.frameworks_with_values() == [(mini.id, "测试用小指标体系", "Mini test framework")]


def test_run_scores_filters_by_unit_and_level(
    db: Database, mini: Framework, mini_demo: Demo
) -> None:
    result = cityloop.evaluate(mini_demo.values, mini, units=mini_demo.units)
    run_id = db.record_run(result, "carol")
    every = db.run_scores(run_id)
    some = sorted(every["unit"].unique())[:3]
    picked = db.run_scores(run_id, units=some, max_level=1)
    assert set(picked["unit"]) == set(some)
    assert set(picked["level"]) == {0, 1}
    expected = every[every["unit"].isin(some) & (every["level"] <= 1)]
    assert len(picked) == len(expected)
    assert db.run_scores(run_id, units=[]).empty
