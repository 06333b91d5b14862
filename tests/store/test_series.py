"""Sensor series reads on both backends: the SQL hourly pre-aggregation equals pandas on the raw
readings, formulas get the same value from either, and only the unit's entities are read."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from cityloop.datahub.formula_eval import evaluate_formula
from cityloop.datahub.formulas import Ref, parse_formula
from cityloop.store import Database, Settings
from cityloop.store.series import Window
from tests.store.databases import BACKENDS, new_database_url
from tests.store.observations import add_readings
from tests.store.samples import Demo

START = 1_735_660_800  # 2025-01-01 00:00 Beijing time
WINDOW = Window(START, START + 3 * 86400)


@pytest.fixture(scope="module", params=BACKENDS)
def stored(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mini_demo: Demo
) -> Iterator[tuple[Database, str, pd.DataFrame]]:
    """One database per backend for the module (the reads do not change it)."""
    for url in new_database_url(str(request.param), tmp_path_factory.mktemp("series")):
        db = Database.open(Settings(database_url=url))
        db.upgrade()
        yield _fill(db, mini_demo)
        db.dispose()


def _fill(db: Database, mini_demo: Demo) -> tuple[Database, str, pd.DataFrame]:
    db.load_units(mini_demo.units, "test")
    cities = mini_demo.units.table.index[mini_demo.units.table["level"] == "city"]
    city, other = str(cities[0]), str(cities[1])
    rng = np.random.default_rng(3)
    n = 900
    readings = pd.DataFrame(
        {
            "entity_id": rng.choice(["s1", "s2", "s3"], n),
            "attribute": "pm25",
            # Spread over three days and one reading outside the window on each side.
            "observed_at": rng.choice(
                np.arange(START - 600, START + 3 * 86400 + 600, 7), n, replace=False
            ),
            "value": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(3, 20, n)),
        }
    )
    add_readings(db, city, "AirQualityObserved", readings)
    add_readings(db, other, "AirQualityObserved", readings.assign(entity_id="elsewhere"))
    return db, city, readings


def test_hourly_pre_aggregation_equals_pandas_on_the_raw_readings(
    stored: tuple[Database, str, pd.DataFrame],
) -> None:
    db, city, readings = stored
    hourly = db.series.frame(city, "AirQualityObserved", "pm25", WINDOW, hourly=True)
    raw = db.series.frame(city, "AirQualityObserved", "pm25", WINDOW, hourly=False)
    inside = readings[
        (readings["observed_at"] >= WINDOW.start) & (readings["observed_at"] < WINDOW.end)
    ]
    assert len(raw) == len(inside)
    expected = (
        raw.assign(hour=raw["t"] // 3600 * 3600)
        .groupby(["entity", "hour"])
        .agg(n=("t", "size"), nv=("value", "count"), vsum=("value", "sum"),
             vmin=("value", "min"), vmax=("value", "max"), first=("t", "min"), last=("t", "max"))
        .reset_index()
    )  # fmt: skip
    got = hourly.sort_values(["entity", "t"]).reset_index(drop=True)
    assert got["entity"].tolist() == expected["entity"].tolist()
    assert got["t"].tolist() == expected["hour"].tolist()
    for column in ("n", "nv", "first", "last"):
        assert got[column].tolist() == expected[column].tolist(), column
    numeric = expected["nv"] > 0
    for column in ("vsum", "vmin", "vmax"):
        np.testing.assert_allclose(got.loc[numeric, column], expected.loc[numeric, column])
    assert got["n"].sum() == len(inside)


@pytest.mark.parametrize(
    "formula",
    [
        'mean(daily(AirQualityObserved.pm25, "mean"))',
        'share(daily(AirQualityObserved.pm25, "max") <= 150)',
        'mean(hours(AirQualityObserved.pm25, "7-9,17-19"))',
        'min(per_entity(AirQualityObserved.pm25, "count"))',
        'share_entities(coverage(AirQualityObserved.pm25, "1h") >= 0.5)',
        "sum(AirQualityObserved.pm25) / count(AirQualityObserved.pm25)",
    ],
)
def test_formulas_get_the_same_value_from_hourly_sums_and_raw_readings(
    stored: tuple[Database, str, pd.DataFrame], formula: str
) -> None:
    db, city, _ = stored
    ref = Ref("AirQualityObserved", "pm25")
    parsed = parse_formula(formula)
    values = [
        evaluate_formula(
            parsed, {ref: db.series.frame(city, ref.entity_type, ref.attribute, WINDOW, hourly=h)},
            timezone="Asia/Shanghai",
        ).value
        for h in (True, False)
    ]  # fmt: skip
    assert values[0] is not None
    assert values[0] == pytest.approx(values[1], rel=1e-9)


def test_only_the_units_entities_and_the_attribute_are_read(
    stored: tuple[Database, str, pd.DataFrame],
) -> None:
    db, city, _ = stored
    raw = db.series.frame(city, "AirQualityObserved", "pm25", WINDOW, hourly=False)
    entities = db.series.entities(city, "AirQualityObserved", "pm25", WINDOW)
    assert sorted(entities["entity_id"]) == ["s1", "s2", "s3"]
    assert int(entities["observations"].sum()) == len(raw)
    assert db.series.frame(city, "AirQualityObserved", "no2", WINDOW, hourly=True).empty
    assert db.series.frame(city, "Streetlight", "pm25", WINDOW, hourly=False).empty
