"""The derived-indicator formula language: refusals with clear messages, worked examples
computed by hand, and properties of the evaluation (hypothesis)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.datahub.formula_eval import evaluate_formula, raw_frame
from cityloop.datahub.formulas import FormulaError, Grain, Ref, parse_formula, parse_hours
from cityloop.i18n import t

ZONE = "Asia/Shanghai"
PM25 = Ref("AirQualityObserved", "pm25")
SPEED = Ref("TrafficFlowObserved", "averageVehicleSpeed")
PARKING = Ref("ParkingSpot", "status")
LIGHT = Ref("Streetlight", "status")


def at(day: int, hour: int, minute: int = 0) -> int:
    """Unix seconds of 2025-01-<day> <hour>:<minute> Beijing time."""
    return int(datetime(2025, 1, day, hour, minute, tzinfo=ZoneInfo(ZONE)).timestamp())


def value_of(formula: str, frames: dict[Ref, pd.DataFrame], **metrics: float) -> float | None:
    return evaluate_formula(parse_formula(formula), frames, timezone=ZONE, metrics=metrics).value


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "key", "column"),
    [
        ("foo(AirQualityObserved.pm25)", "derived.formula.unknown_function", 1),
        ("mean(AirQualityObserved.pm25.mean())", "derived.formula.method_call", 6),
        ("(lambda: 1)()", "derived.formula.method_call", 1),
        ("mean(AirQualityObserved.pm25[0])", "derived.formula.not_allowed", 6),
        ('hours(AirQualityObserved.pm25, "25")', "derived.formula.bad_hours", 32),
        ('mean(hours(AirQualityObserved.pm25, "9-7"))', "derived.formula.bad_hours", 37),
        ('daily(AirQualityObserved.pm25, "median")', "derived.formula.bad_option", 32),
        (
            "mean(AirQualityObserved.pm25) + AirQualityObserved.pm25",
            "derived.formula.not_scalar",
            1,
        ),
        ("hub.nonsense * 100", "derived.formula.unknown_metric", 1),
        ('__import__("os")', "derived.formula.unknown_function", 1),
        ("mean(x)", "derived.formula.bare_name", 6),
        ("mean(air.pm25)", "derived.formula.bad_reference", 6),
        ("1 < mean(AirQualityObserved.pm25) < 3", "derived.formula.chained_comparison", 1),
        ('share(Streetlight.status < "ok")', "derived.formula.text_order", 7),
        ("share(mean(AirQualityObserved.pm25) > 1)", "derived.formula.bad_comparison", 7),
        (
            "mean(AirQualityObserved.pm25 * Streetlight.status)",
            "derived.formula.series_arithmetic",
            6,
        ),
        ("mean(AirQualityObserved.pm25, x=1)", "derived.formula.arity", 1),
        ("share(AirQualityObserved.pm25)", "derived.formula.argument_kind", 1),
        ("mean(AirQualityObserved.pm25) + * 2", "derived.formula.syntax", 33),
        ("True * 2", "derived.formula.bad_constant", 1),
        ("[1, 2]", "derived.formula.not_allowed", 1),
    ],
)
def test_refusals_name_the_fault_and_the_column(formula: str, key: str, column: int) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(formula)
    assert caught.value.key == key
    assert caught.value.params["column"] == column
    message = t(key, "en", **caught.value.params)
    assert message != key and "{" not in message


def test_hours_are_half_open_ranges_of_local_hours() -> None:
    assert parse_hours("7-9,17-19") == {7, 8, 17, 18}
    assert parse_hours("0,23") == {0, 23}
    assert parse_hours("0-24") == set(range(24))
    for bad in ("24", "7-7", "a-b", "7-9,", ""):
        with pytest.raises(FormulaError):
            parse_hours(bad)


def test_grain_is_hourly_only_where_hourly_sums_are_exact() -> None:
    assert (
        parse_formula('mean(daily(AirQualityObserved.pm25, "mean"))').grains[PM25] == Grain.HOURLY
    )
    assert parse_formula('mean(hours(AirQualityObserved.pm25, "7-9"))').grains[PM25] == Grain.HOURLY
    assert parse_formula("median(AirQualityObserved.pm25)").grains[PM25] == Grain.RAW
    assert parse_formula('share(Streetlight.status == "ok")').grains[LIGHT] == Grain.RAW
    both = parse_formula("mean(AirQualityObserved.pm25) + median(AirQualityObserved.pm25)")
    assert both.grains[PM25] == Grain.RAW
    assert parse_formula("100 * hub.open_share").metrics == ("open_share",)


# -- worked examples, computed by hand ------------------------------------------------------


def test_share_of_days_meeting_the_pm25_24_hour_limit() -> None:
    # GB 3095-2012 grade II 24-hour limit for PM2.5: 75 µg/m³. Local days (Beijing time):
    # 1 Jan: (40 + 60) / 2 = 50 ok; 2 Jan: (90 + 110) / 2 = 100 over; 3 Jan: 70 ok;
    # 4 Jan 00:30 local is still 3 Jan 16:30 UTC: it must count on 4 Jan (80, over).
    frame = raw_frame(
        ["a", "b", "a", "b", "a", "a"],
        [at(1, 1), at(1, 2), at(2, 10), at(2, 11), at(3, 5), at(4, 0, 30)],
        [40, 60, 90, 110, 70, 80],
    )
    formula = '100 * share(daily(AirQualityObserved.pm25, "mean") <= 75)'
    assert value_of(formula, {PM25: frame}) == pytest.approx(100 * 2 / 4)
    assert value_of('mean(daily(AirQualityObserved.pm25, "mean"))', {PM25: frame}) == (
        pytest.approx((50 + 100 + 70 + 80) / 4)
    )


def test_average_peak_hour_speed_keeps_7_to_9_and_17_to_19_local() -> None:
    # Kept: 07:00 (30), 08:59 (20), 17:30 (40), 18:10 (50); dropped: 09:00, 12:00, 19:00, 06:59.
    times = [at(1, 7), at(1, 8, 59), at(1, 17, 30), at(1, 18, 10)]
    dropped = [at(1, 9), at(1, 12), at(1, 19), at(1, 6, 59)]
    frame = raw_frame(["r1"] * 8, times + dropped, [30, 20, 40, 50, 99, 99, 99, 99])
    formula = 'mean(hours(TrafficFlowObserved.averageVehicleSpeed, "7-9,17-19"))'
    assert value_of(formula, {SPEED: frame}) == pytest.approx((30 + 20 + 40 + 50) / 4)


def test_share_of_parking_spots_with_live_availability() -> None:
    # The data span 1 Jan 00:00-23:59 (24 hours). p1 reports every hour (100 %), p2 in 23 of
    # 24 hours (95.8 %), p3 in 20 (83 %). At >= 95 %: 2 of 3 spots.
    hours = np.arange(24)
    rows = [("p1", h) for h in hours] + [("p2", h) for h in hours if h != 5]
    rows += [("p3", h) for h in hours if h < 20] + [("p3", 23)]
    frame = raw_frame(
        [e for e, _ in rows], [at(1, int(h), 10) for _, h in rows], text=["free"] * len(rows)
    )
    formula = '100 * share_entities(coverage(ParkingSpot.status, "1h") >= 0.95)'
    assert value_of(formula, {PARKING: frame}) == pytest.approx(100 * 2 / 3)


def test_streetlight_availability_counts_ok_readings() -> None:
    frame = raw_frame(
        ["l1", "l2", "l3", "l1", "l2"],
        [at(1, 1), at(1, 1), at(1, 1), at(1, 2), at(1, 2)],
        text=["ok", "defectiveLamp", "ok", "ok", None],
    )
    # 3 ok of 4 status readings (the reading without text is not a status reading).
    assert value_of('100 * share(Streetlight.status == "ok")', {LIGHT: frame}) == 75.0
    # Lamps whose every reading is ok: l1 and l3 of three.
    shared = value_of('share_entities(Streetlight.status == "ok")', {LIGHT: frame})
    assert shared == pytest.approx(2 / 3)
    latest = value_of('share_entities(latest(Streetlight.status) == "ok")', {LIGHT: frame})
    assert latest == pytest.approx(2 / 3)  # last status: l1 ok, l2 defectiveLamp, l3 ok


def test_hub_metrics_and_missing_ones() -> None:
    assert value_of("100 * hub.open_share", {}, open_share=0.42) == pytest.approx(42.0)
    result = evaluate_formula(parse_formula("100 * hub.uptime"), {}, timezone=ZONE, metrics={})
    assert result.value is None and result.missing_metrics == ("uptime",)
    nan = {"uptime": float("nan")}
    assert (
        evaluate_formula(parse_formula("hub.uptime"), {}, timezone=ZONE, metrics=nan).value is None
    )


def test_provenance_counts_readings_entities_and_span() -> None:
    frame = raw_frame(["a", "b", "a"], [at(1, 1), at(1, 2), at(2, 3)], [1.0, 2.0, 3.0])
    result = evaluate_formula(
        parse_formula('mean(daily(AirQualityObserved.pm25, "mean"))'), {PM25: frame}, timezone=ZONE
    )
    p = result.provenance
    assert (p.observations, p.entities, p.first, p.last, p.buckets) == (3, 2, at(1, 1), at(2, 3), 2)


def test_no_readings_gives_no_value() -> None:
    empty = raw_frame([], [], [])
    assert value_of("mean(AirQualityObserved.pm25)", {PM25: empty}) is None
    assert value_of('share(daily(AirQualityObserved.pm25, "mean") < 3)', {PM25: empty}) is None


# -- properties ----------------------------------------------------------------------------

readings = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(min_value=at(1, 0), max_value=at(20, 0)),
        st.floats(min_value=0, max_value=500, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


def frame_of(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    entity, times, values = zip(*rows, strict=True)
    return raw_frame(list(entity), list(times), list(values))


@settings(max_examples=30, deadline=None)
@given(readings, st.floats(min_value=0, max_value=500))
def test_a_share_lies_between_zero_and_one(
    rows: list[tuple[str, int, float]], limit: float
) -> None:
    frames = {PM25: frame_of(rows)}
    for formula in (
        f'share(daily(AirQualityObserved.pm25, "mean") <= {limit})',
        f"share_entities(AirQualityObserved.pm25 > {limit})",
        'share_entities(coverage(AirQualityObserved.pm25, "1h") >= 0.5)',
    ):
        share = value_of(formula, frames)
        assert share is not None and 0.0 <= share <= 1.0


@settings(max_examples=30, deadline=None)
@given(readings, st.randoms(use_true_random=False))
def test_the_value_does_not_depend_on_row_order(rows: list[tuple[str, int, float]], rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(rows)
    rng.shuffle(shuffled)
    for formula in (
        'mean(daily(AirQualityObserved.pm25, "mean"))',
        "median(AirQualityObserved.pm25)",
        'max(per_entity(AirQualityObserved.pm25, "mean"))',
    ):
        a, b = (
            value_of(formula, {PM25: frame_of(rows)}),
            value_of(formula, {PM25: frame_of(shuffled)}),
        )
        assert a == pytest.approx(b, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(readings, st.sampled_from(["7-9,17-19", "0-24", "3", "22-24,0-2"]))
def test_the_hours_filter_never_adds_readings(
    rows: list[tuple[str, int, float]], spec: str
) -> None:
    frames = {PM25: frame_of(rows)}
    kept = value_of(f'count(hours(AirQualityObserved.pm25, "{spec}"))', frames)
    assert kept is not None and kept <= len(rows)
    assert value_of('count(hours(AirQualityObserved.pm25, "0-24"))', frames) == len(rows)
