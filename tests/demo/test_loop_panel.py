"""The demo loop's synthetic continuation: every pair continued in every year, within the value
type's range, reproducible, exactly linear without noise, and planted effects added as asked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.demo.loop_panel import (
    PlantedEffect,
    change_spread,
    continue_panel,
    plant_effects,
    pooled_trend,
)
from cityloop.frameworks.schema import Direction, ValueType

KINDS = {"pct": ValueType.PERCENTAGE, "cnt": ValueType.COUNT, "yes": ValueType.BOOLEAN}
DIRECTIONS = {"pct": Direction.HIGHER, "cnt": Direction.LOWER, "yes": Direction.HIGHER}
HISTORY_YEARS = (2021, 2022, 2023, 2024, 2025)


def history(levels: list[float], slope: float, noise: float, seed: int) -> pd.DataFrame:
    """A long history: one unit per level, the three indicators, a shared slope plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, level in enumerate(levels):
        for year in HISTORY_YEARS:
            step = slope * (year - HISTORY_YEARS[0])
            rows += [
                (f"u{k}", year, "pct", float(np.clip(level + step + noise * rng.normal(), 0, 100))),
                (f"u{k}", year, "cnt", float(max(0.0, round(level + step)))),
                (f"u{k}", year, "yes", float(k % 2)),
            ]
    return pd.DataFrame(rows, columns=["unit", "year", "indicator", "value"])


levels = st.lists(st.floats(5, 90), min_size=2, max_size=8)


@settings(max_examples=25, deadline=None)
@given(levels, st.floats(-3, 3), st.floats(0, 10), st.integers(0, 2**32 - 1))
def test_every_pair_is_continued_within_range_and_reproducibly(
    lv: list[float], slope: float, noise: float, seed: int
) -> None:
    past = history(lv, slope, noise, seed)
    future = continue_panel(past, [2026, 2027, 2028], KINDS, seed=seed)
    assert len(future) == len(lv) * 3 * 3
    assert future.groupby(["unit", "indicator"]).size().eq(3).all()
    pct = future[future["indicator"] == "pct"]["value"]
    assert pct.between(0, 100).all()
    counts = future[future["indicator"] == "cnt"]["value"]
    assert (counts >= 0).all() and (counts == np.round(counts)).all()
    # A yes/no item keeps its last value.
    last = past[(past["indicator"] == "yes") & (past["year"] == 2025)].set_index("unit")["value"]
    yes = future[future["indicator"] == "yes"]
    assert (yes["value"].to_numpy() == last.reindex(yes["unit"]).to_numpy()).all()
    again = continue_panel(past, [2026, 2027, 2028], KINDS, seed=seed)
    pd.testing.assert_frame_equal(future, again)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(20, 40), min_size=2, max_size=6), st.floats(-2, 2))
def test_without_noise_an_exact_line_goes_on_as_a_line(lv: list[float], slope: float) -> None:
    past = history(lv, slope, 0.0, 0)
    past = past[past["indicator"] == "pct"]
    assert pooled_trend(past).slope["pct"] == pytest.approx(slope, abs=1e-9)
    future = continue_panel(past, [2027, 2026], KINDS, seed=1, noise_scale=0.0)
    expected = [
        round(level + slope * (year - HISTORY_YEARS[0]), 4)
        for k, level in enumerate(lv)
        for year in (2026, 2027)
    ]
    assert future["value"].to_numpy() == pytest.approx(expected, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 20), st.sampled_from(["pct", "cnt"]))
def test_a_planted_effect_moves_only_its_cells_towards_the_target(size: float, code: str) -> None:
    past = history([30.0, 50.0, 60.0], 1.0, 2.0, 3)
    plain = continue_panel(past, [2026, 2027, 2028], KINDS, seed=4)
    effect = PlantedEffect("u1", code, 2027, size)
    planted = plant_effects(plain, [effect], DIRECTIONS, KINDS)
    moved = planted["value"] - plain["value"]
    cells = (plain["unit"] == "u1") & (plain["indicator"] == code) & (plain["year"] >= 2027)
    assert (moved[~cells] == 0).all()
    sign = -1.0 if DIRECTIONS[code] == Direction.LOWER else 1.0
    expected = np.clip(plain.loc[cells, "value"] + sign * size, 0, 100 if code == "pct" else None)
    if code == "cnt":
        expected = np.rint(expected)
    assert planted.loc[cells, "value"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-4)


def test_an_effect_on_an_indicator_without_a_direction_is_refused() -> None:
    plain = continue_panel(history([30.0, 50.0], 1.0, 1.0, 0), [2026], KINDS, seed=0)
    with pytest.raises(ValueError, match="band"):
        plant_effects(plain, [PlantedEffect("u0", "band", 2026, 1.0)],
                      {**DIRECTIONS, "band": Direction.BAND}, KINDS)  # fmt: skip


def test_the_spread_of_changes_is_measured_per_indicator() -> None:
    frame = pd.DataFrame(
        [("a", 1, "x", 0.0), ("a", 2, "x", 2.0), ("b", 1, "x", 0.0), ("b", 2, "x", 4.0)],
        columns=["unit", "year", "indicator", "value"],
    )
    assert change_spread(frame, [1], [2])["x"] == pytest.approx(np.std([2.0, 4.0], ddof=1))
