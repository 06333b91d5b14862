"""Deriving indicators on both backends: values written with origin ``derived`` and their
provenance, skipped indicators reported, a second run changes nothing, and an evaluation run
uses the derived values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from cityloop.errors import InputError
from cityloop.services import derived, runs
from cityloop.store import Database, Settings
from cityloop.store.models import IndicatorValue, OriginKind, ValueHistory
from tests.store.databases import BACKENDS, new_database_url
from tests.store.observations import add_readings
from tests.store.samples import Demo, mini, mini_demo

FRAMEWORK = "cityloop-operations-2026"
YEAR = 2025
START = derived.year_window(YEAR, "Asia/Shanghai").start
__all__ = ["mini", "mini_demo"]  # the storage fixtures this module uses
METRICS = {"sharing_ratio": 0.6, "completeness": 0.9, "timeliness": 0.75, "uptime": 0.99}


def hub(db: Database, unit: str, year: int) -> dict[str, float]:
    # open_share not measurable: OPS-DATA-OPEN must be skipped, not written as 0.
    return {**METRICS, "open_share": float("nan")}


@dataclass
class Derived:
    db: Database
    cities: list[str]
    report: derived.DerivationReport


def readings_for(seed: int) -> dict[str, pd.DataFrame]:
    """Ten days of PM2.5 (every 30 min, two stations), peak-hour speeds and streetlights."""
    rng = np.random.default_rng(seed)
    t = START + np.arange(0, 10 * 86400, 1800)
    pm25 = pd.DataFrame(
        {"entity_id": np.repeat(["aq1", "aq2"], len(t)), "attribute": "pm25",
         "observed_at": np.tile(t, 2), "value": rng.gamma(4, 18, 2 * len(t))}
    )  # fmt: skip
    speed = pd.DataFrame(
        {"entity_id": "road1", "attribute": "averageVehicleSpeed", "observed_at": t,
         "value": rng.uniform(15, 60, len(t))}
    )  # fmt: skip
    light = pd.DataFrame(
        {"entity_id": ["l1", "l2", "l3", "l4"], "attribute": "status",
         "observed_at": START + np.arange(4), "text": ["ok", "ok", "ok", "defectiveLamp"]}
    )  # fmt: skip
    return {"AirQualityObserved": pm25, "TrafficFlowObserved": speed, "Streetlight": light}


@pytest.fixture(scope="module", params=BACKENDS)
def done(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mini_demo: Demo
) -> Iterator[Derived]:
    for url in new_database_url(str(request.param), tmp_path_factory.mktemp("derived")):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        db.load_units(mini_demo.units, "test")
        table = mini_demo.units.table
        cities = [str(c) for c in table.index[table["level"] == "city"][:3]]
        for seed, city in enumerate(cities):
            for entity_type, frame in readings_for(seed).items():
                add_readings(db, city, entity_type, frame)
        report = derived.derive(db, FRAMEWORK, cities, YEAR, actor="tester", metrics=hub)
        yield Derived(db, cities, report)
        db.dispose()


def test_values_are_written_with_origin_derived_and_provenance(done: Derived) -> None:
    written = {(v.unit, v.indicator) for v in done.report.values}
    per_city = {"OPS-AQ-GOOD", "OPS-AQ-PM25", "OPS-TRAFFIC-PEAK", "OPS-LIGHT-OK"} | {
        "OPS-DATA-SHARING", "OPS-DATA-COMPLETE", "OPS-DATA-TIMELY", "OPS-DATA-UPTIME",
    }  # fmt: skip
    assert written == {(c, code) for c in done.cities for code in per_city}
    with done.db.reader() as s:
        rows = s.execute(
            select(IndicatorValue).where(IndicatorValue.framework_id == FRAMEWORK)
        ).scalars().all()  # fmt: skip
        h = ValueHistory
        history = s.scalar(
            select(func.count())
            .select_from(h)
            .where(h.framework_id == FRAMEWORK, h.origin_kind == OriginKind.DERIVED)
        )
    assert len(rows) == len(written) == history
    assert {r.origin_kind for r in rows} == {OriginKind.DERIVED}
    light = next(r for r in rows if r.indicator == "OPS-LIGHT-OK")
    assert light.value == 75.0  # 3 of 4 lamps report ok
    provenance = json.loads(light.origin_ref)
    assert provenance["formula"] == '100 * share(Streetlight.status == "ok")'
    assert (provenance["observations"], provenance["entities"]) == (4, 4)
    assert provenance["window"] == ["2025-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00"]
    assert provenance["first"] == "2025-01-01T00:00:00+08:00"
    pm = next(r for r in rows if r.indicator == "OPS-AQ-PM25")
    assert json.loads(pm.origin_ref)["observations"] == 2 * 480
    assert json.loads(pm.origin_ref)["buckets"] == 10  # ten local days
    sharing = next(r for r in rows if r.indicator == "OPS-DATA-SHARING")
    assert sharing.value == pytest.approx(60.0)
    assert json.loads(sharing.origin_ref)["metrics"] == {"sharing_ratio": 0.6}


def test_indicators_without_data_are_skipped_and_reported(done: Derived) -> None:
    skipped = {(s.unit, s.indicator): s.reason for s in done.report.skipped}
    for city in done.cities:
        assert skipped[(city, "OPS-PARKING-LIVE")] == derived.NO_DATA
        assert skipped[(city, "OPS-DATA-OPEN")] == derived.NO_METRIC
    message = done.report.skipped[0].render("en")
    assert "ParkingSpot.status" in message or "open_share" in message


def test_running_again_changes_nothing(done: Derived) -> None:
    before = done.db.row_counts()
    again = derived.derive(done.db, FRAMEWORK, done.cities, YEAR, actor="tester", metrics=hub)
    assert (again.counts.inserted, again.counts.updated) == (0, 0)
    assert again.counts.unchanged == len(done.report.values)
    after = done.db.row_counts()
    assert before["indicator_values"] == after["indicator_values"]
    assert before["value_history"] == after["value_history"]


def test_an_evaluation_run_uses_the_derived_values(done: Derived) -> None:
    run_id, result = runs.evaluate_stored(done.db, FRAMEWORK, actor="tester", years=[YEAR])
    scores = done.db.run_scores(run_id, max_level=0)
    assert sorted(scores["unit"].unique()) == sorted(done.cities)
    assert scores["score"].notna().all()
    table = result.scores_table
    light = table[table["node"] == "OPS-LIGHT-OK"]
    assert sorted(light["unit"]) == sorted(done.cities) and light["score"].notna().all()


def test_unknown_units_and_frameworks_without_formulas_are_refused(done: Derived) -> None:
    before = done.db.row_counts()["indicator_values"]
    with pytest.raises(InputError) as caught:
        derived.derive(done.db, FRAMEWORK, ["999999"], YEAR, actor="tester", metrics=hub)
    assert caught.value.key == "derived.svc.unknown_units"
    with pytest.raises(InputError) as caught:
        derived.derive(done.db, "gbt33356-2016", done.cities, YEAR, actor="tester", metrics=hub)
    assert caught.value.key == "derived.svc.no_formulas"
    assert done.db.row_counts()["indicator_values"] == before


def test_provenance_view_shows_the_series_per_day(done: Derived) -> None:
    view = derived.provenance_view(done.db, FRAMEWORK, done.cities[0], YEAR, "OPS-AQ-GOOD")
    assert view.stored is not None and view.provenance["formula"] == view.item.formula.text
    daily = view.series["AirQualityObserved.pm25"]
    assert len(daily) == 10 and int(daily["readings"].sum()) == 960
    assert view.entities["AirQualityObserved.pm25"]["entity_id"].tolist() == ["aq1", "aq2"]
