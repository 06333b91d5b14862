"""The synthetic demo generator: determinism, the unit hierarchy, value ranges, missingness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cityloop.datahub.units import build_units
from cityloop.demo.generator import DEMO_SEED, DemoData, generate_demo, source_label
from cityloop.demo.regions import CLUSTERS, SIZE_CLASSES
from cityloop.frameworks import Framework, FrameworkFile, compile_framework, load_framework

MINI = Path(__file__).parents[1] / "data" / "mini-framework.yaml"
YEARS = (2021, 2022, 2023, 2024, 2025)


def _indicator(
    code: str, parent: str, value_type: str, direction: str, **extra: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "parent": parent,
        "name": {"zh": code},
        "unit": "-",
        "value_type": value_type,
        "direction": direction,
        "source_kind": "statistics",
        "department": "statistics",
        **extra,
    }


def every_kind_framework() -> Framework:
    """One indicator per value type, direction and goalpost combination."""
    indicators = [
        _indicator("pct_up", "A", "percentage", "higher"),
        _indicator("pct_full", "A", "percentage", "higher", target=100, worst=0),
        _indicator("pct_band", "A", "percentage", "band", band=[40, 60]),
        _indicator("share_down", "A", "share", "lower"),
        _indicator("count_up", "A", "count", "higher"),
        _indicator("count_down", "A", "count", "lower", target=0),
        _indicator("bool_up", "B", "boolean", "higher"),
        _indicator("bool_down", "B", "boolean", "lower"),
        _indicator("score_up", "B", "score", "higher", core=False),
        _indicator("survey", "B", "score", "higher", target=5, worst=1),
        _indicator("amount_up", "B", "amount", "higher", target=50),
        _indicator("rate_down", "B", "rate", "lower", worst=30),
        _indicator("rate_point", "B", "rate", "band", band=[2, 2]),
        _indicator("index_up", "B", "index", "higher"),
    ]
    spec = FrameworkFile.model_validate(
        {
            "id": "every-kind",
            "version": "1",
            "title": {"zh": "全部类型"},
            "dimensions": [
                {"code": "A", "name": {"zh": "甲"}},
                {"code": "B", "name": {"zh": "乙"}},
            ],
            "indicators": indicators,
        }
    )
    return compile_framework(spec)


@pytest.fixture(scope="module")
def mini() -> Framework:
    return load_framework(MINI)


@pytest.fixture(scope="module")
def every_kind() -> Framework:
    return every_kind_framework()


@pytest.fixture(scope="module")
def demo(mini: Framework, every_kind: Framework) -> DemoData:
    return generate_demo([mini, every_kind])


def test_same_seed_gives_identical_data(mini: Framework, demo: DemoData) -> None:
    again = generate_demo([mini])
    pd.testing.assert_frame_equal(again.units, demo.units)
    pd.testing.assert_frame_equal(again.values["mini"], demo.values["mini"])


def test_other_seed_gives_other_data(mini: Framework, demo: DemoData) -> None:
    other = generate_demo([mini], seed=DEMO_SEED + 1)
    assert list(other.units["code"]) != list(demo.units["code"]) or not np.array_equal(
        other.units["population"], demo.units["population"]
    )
    assert not other.values["mini"]["value"].equals(demo.values["mini"]["value"])


def test_framework_values_do_not_depend_on_the_other_frameworks(
    mini: Framework, demo: DemoData
) -> None:
    alone = generate_demo([mini])
    pd.testing.assert_frame_equal(alone.values["mini"], demo.values["mini"])


def test_units_have_three_levels_31_provinces_and_300_cities(demo: DemoData) -> None:
    units = demo.units
    counts = units["level"].value_counts()
    assert counts["province"] == 31
    assert counts["city"] >= 300
    assert counts["district"] >= 3
    assert list(units.columns) == [
        "code",
        "name_zh",
        "name_en",
        "level",
        "parent",
        "population",
        "size_class",
        "groups",
    ]
    table = build_units(units).table
    assert set(table["level"]) == {"province", "city", "district"}


def test_provinces_are_real_and_cities_plainly_synthetic(demo: DemoData) -> None:
    units = demo.units.set_index("code")
    assert units.loc["330000", "name_zh"] == "浙江省"
    assert units.loc["110000", "name_en"] == "Beijing"
    provinces = units[units["level"] == "province"]
    assert all(code.endswith("0000") for code in provinces.index)
    below = units[units["level"] != "province"]
    assert below["name_zh"].str.contains("示例").all()
    assert below["name_en"].str.contains("Synthetic").all()
    assert (below.index.str[:2] == below["parent"].str[:2]).all()
    cities = units[units["level"] == "city"]
    assert cities.index.str.endswith("00").all()
    assert units.loc["330700", "name_zh"] == "浙江示例市07"
    assert units.loc["330700", "name_en"] == "Zhejiang Synthetic City 07"


def test_cities_follow_the_real_number_of_prefectures(demo: DemoData) -> None:
    cities = demo.units[demo.units["level"] == "city"]
    per_province = cities["parent"].value_counts()
    for municipality in ("110000", "120000", "310000", "500000"):
        assert per_province[municipality] == 1
    assert per_province["440000"] >= 15
    assert per_province["510000"] >= 15
    assert per_province["460000"] <= 6
    assert per_province.min() >= 1


def test_size_classes_follow_the_2014_thresholds(demo: DemoData) -> None:
    cities = demo.units[demo.units["level"] == "city"]
    assert set(cities["size_class"]) <= set(SIZE_CLASSES)
    assert (cities["population"] > 0).all()
    big = cities[cities["size_class"] == "超大城市"]
    small = cities[cities["size_class"] == "小城市"]
    assert (big["population"] >= 1000).all()
    assert (small["population"] < 50).all()
    assert cities["size_class"].nunique() >= 5


def test_cluster_groups_are_known_and_some_overlap(demo: DemoData) -> None:
    groups = demo.units["groups"].dropna()
    names = set(groups.str.split(";").explode())
    assert names == {name for name, _ in CLUSTERS}
    assert groups.str.contains(";").any()
    memberships = build_units(demo.units).memberships
    members = memberships[(memberships["kind"] == "cluster") & (memberships["group"] == "京津冀")]
    assert set(members["unit"].str[:2]) <= {"11", "12", "13"}


def test_values_cover_only_cities_and_districts(demo: DemoData) -> None:
    level = demo.units.set_index("code")["level"]
    for table in demo.values.values():
        assert list(table.columns) == ["unit", "year", "indicator", "value", "source", "note"]
        assert set(table["unit"].map(level)) <= {"city", "district"}
        assert not table.duplicated(["unit", "year", "indicator"]).any()


def test_every_indicator_and_year_is_present_for_most_cities(
    demo: DemoData, mini: Framework, every_kind: Framework
) -> None:
    n_cities = int((demo.units["level"] == "city").sum())
    city_codes = set(demo.units.loc[demo.units["level"] == "city", "code"])
    for fw in (mini, every_kind):
        table = demo.values[fw.id]
        cities = table[table["unit"].isin(city_codes)]
        present = cities.groupby(["indicator", "year"]).size()
        assert len(present) == len(fw.indicators) * len(YEARS)
        assert (present / n_cities > 0.5).all()


def test_missing_share_is_between_5_and_10_percent(demo: DemoData) -> None:
    n_units = int((demo.units["level"] != "province").sum())
    for table in demo.values.values():
        n_indicators = table["indicator"].nunique()
        missing = 1 - len(table) / (n_units * len(YEARS) * n_indicators)
        assert 0.05 <= missing <= 0.10


def test_small_cities_miss_more_than_large_ones(demo: DemoData) -> None:
    table = demo.values["every-kind"]
    size = demo.units.set_index("code")["size_class"]
    reported = table.groupby(table["unit"].map(size)).size()
    n_units = demo.units.groupby("size_class").size()
    per_unit = reported / n_units
    assert per_unit["小城市"] < per_unit["Ⅱ型大城市"]


def test_some_unit_lacks_a_whole_dimension_in_a_year(demo: DemoData, mini: Framework) -> None:
    table = demo.values["mini"]
    d1 = table[table["indicator"].isin(["I1", "I2"])].groupby(["unit", "year"]).size()
    d2 = table[table["indicator"].isin(["I3", "I4", "I5"])].groupby(["unit", "year"]).size()
    only_d2 = d2.index.difference(d1.index)
    assert len(only_d2) >= 1


def test_values_respect_their_value_type(demo: DemoData) -> None:
    table = demo.values["every-kind"]
    value = table.set_index("indicator")["value"]
    assert np.isfinite(value).all()
    for code in ("pct_up", "pct_full", "pct_band"):
        assert value[code].between(0, 100).all()
    assert value["share_down"].between(0, 1).all()
    for code in ("count_up", "count_down"):
        assert (value[code] >= 0).all()
        assert (value[code] == np.round(value[code])).all()
    for code in ("bool_up", "bool_down"):
        assert set(value[code]) == {0.0, 1.0}
    assert value["score_up"].between(0, 100).all()
    assert value["survey"].between(1, 5).all()
    for code in ("amount_up", "rate_down", "rate_point"):
        assert (value[code] > 0).all()


def test_direction_and_trend(demo: DemoData) -> None:
    table = demo.values["every-kind"]
    median = table.groupby(["indicator", "year"])["value"].median().unstack()
    for code in ("pct_up", "count_up", "amount_up", "index_up"):
        assert median.loc[code, 2025] > median.loc[code, 2021]
    for code in ("share_down", "rate_down"):
        assert median.loc[code, 2025] < median.loc[code, 2021]
    wide = table[table["year"] == 2023].pivot(index="unit", columns="indicator", values="value")
    assert wide["pct_up"].corr(wide["share_down"], method="spearman") < 0
    assert wide["pct_up"].corr(wide["index_up"], method="spearman") > 0


def test_band_indicators_scatter_around_the_band(demo: DemoData) -> None:
    value = demo.values["every-kind"].set_index("indicator")["value"]
    band = value["pct_band"]
    inside = band.between(40, 60).mean()
    assert 0.3 < inside < 0.95
    assert 40 <= band.median() <= 60


def test_goalposts_shape_the_values(demo: DemoData) -> None:
    value = demo.values["mini"].set_index("indicator")["value"]
    # I2: processing time, target 1 day, worst 20 days, lower is better.
    assert 1 <= value["I2"].median() <= 20
    assert value["I2"].quantile(0.9) < 20


def test_a_few_extreme_values(demo: DemoData) -> None:
    value = demo.values["every-kind"].set_index("indicator")["value"]
    amount = value["amount_up"]
    assert amount.max() > 2 * amount.quantile(0.99)
    assert (value["pct_up"] == 0).sum() >= 1  # an implausible zero, far from 25–95


def test_synthetic_label_on_every_row(demo: DemoData) -> None:
    for table in demo.values.values():
        assert (table["source"] == source_label(DEMO_SEED)).all()
        assert "SYNTHETIC" in source_label(DEMO_SEED)
        assert (table["note"] == "").all()


def test_fewer_cities_and_other_years(mini: Framework) -> None:
    data = generate_demo([mini], n_cities=31, years=(2019, 2020))
    assert (data.units["level"] == "city").sum() == 31
    assert set(data.values["mini"]["year"]) == {2019, 2020}
    build_units(data.units)


@pytest.mark.parametrize(
    "kwargs", [{"n_cities": 30}, {"n_cities": 5000}, {"years": ()}, {"years": (2021, 2021)}]
)
def test_rejects_impossible_arguments(mini: Framework, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        generate_demo([mini], **kwargs)


def test_rejects_a_framework_given_twice(mini: Framework) -> None:
    with pytest.raises(ValueError, match="once"):
        generate_demo([mini, mini])
