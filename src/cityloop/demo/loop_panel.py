"""SYNTHETIC indicator values for the years after a plan starts: each city's own trend carried on
with seeded noise, plus PLANTED project effects — the panel the demo loop measures outcomes on.

Pure (no I/O). Every number is synthetic; nothing here is a measured value of a real city.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.frameworks.schema import Direction, ValueType

FloatArray = npt.NDArray[np.float64]

# The continuation's yearly noise as a share of the history's own residual spread. The demo
# history is deliberately rough (a city's indicator swings by about a tenth of its range from
# year to year); a quarter of that keeps the continuation plausible while a catalogue-sized
# planted effect stands out against ~60 control cities (docs/demo-loop.md, "Signal to noise").
NOISE_SCALE = 0.25
# Valid range of each kind of value (the importer's rules); a continued value is clipped to it.
VALUE_BOUNDS: Mapping[ValueType, tuple[float, float]] = {
    ValueType.PERCENTAGE: (0.0, 100.0),
    ValueType.SHARE: (0.0, 1.0),
    ValueType.SCORE: (0.0, 100.0),
    ValueType.COUNT: (0.0, np.inf),
    ValueType.AMOUNT: (0.0, np.inf),
    ValueType.RATE: (0.0, np.inf),
    ValueType.INDEX: (-np.inf, np.inf),
    ValueType.BOOLEAN: (0.0, 1.0),
}
_FROZEN = frozenset({ValueType.BOOLEAN})  # a yes/no item keeps its last value
_INTEGER = frozenset({ValueType.COUNT, ValueType.BOOLEAN})
KEY = ["unit", "indicator"]


@dataclass(frozen=True)
class PlantedEffect:
    """An improvement planted in one unit's indicator from ``first_year`` on, in the indicator's
    own unit and towards its target (a fall for a lower-is-better indicator)."""

    unit: str
    indicator: str
    first_year: int
    improvement: float


@dataclass(frozen=True)
class Trend:
    """Per indicator: the pooled within-unit slope (units per year) and residual spread."""

    slope: pd.Series
    noise: pd.Series


def _cube(history: pd.DataFrame) -> pd.DataFrame:
    """(unit, indicator) × year table of the history."""
    return history.pivot_table(index=KEY, columns="year", values="value", aggfunc="mean")


def pooled_trend(history: pd.DataFrame) -> Trend:
    """Each indicator's slope over the years, pooled over units (the within-unit least-squares
    slope: every unit's own mean removed), and the spread of the residuals around it.

    ``history`` is a long table with columns unit, year, indicator, value.
    """
    cube = _cube(history)
    values = cube.to_numpy(np.float64)
    seen = ~np.isnan(values)
    years = np.broadcast_to(cube.columns.to_numpy(np.float64), values.shape)
    count = seen.sum(axis=1)
    centre_t = np.where(seen, years, 0.0).sum(axis=1) / np.maximum(count, 1)
    centre_v = np.where(seen, values, 0.0).sum(axis=1) / np.maximum(count, 1)
    dt = np.where(seen, years - centre_t[:, None], 0.0)
    dv = np.where(seen, values - centre_v[:, None], 0.0)
    indicator = cube.index.get_level_values("indicator")
    sums = pd.DataFrame({"tv": (dt * dv).sum(axis=1), "tt": (dt * dt).sum(axis=1)})
    grouped = sums.groupby(indicator.to_numpy()).sum()
    slope = (grouped["tv"] / grouped["tt"].where(grouped["tt"] > 0)).fillna(0.0)
    residual = dv - slope.reindex(indicator).to_numpy()[:, None] * dt
    squares = (
        pd.DataFrame(
            {"ss": np.where(seen, residual**2, 0.0).sum(axis=1), "n": np.maximum(count - 1, 0)}
        )
        .groupby(indicator.to_numpy())
        .sum()
    )
    noise = (squares["ss"] / squares["n"].where(squares["n"] > 0)).pow(0.5).fillna(0.0)
    return Trend(slope=slope.rename("slope"), noise=noise.rename("noise"))


def continue_panel(
    history: pd.DataFrame,
    years: Sequence[int],
    value_types: Mapping[str, ValueType],
    *,
    seed: int,
    noise_scale: float = NOISE_SCALE,
) -> pd.DataFrame:
    """Values for ``years`` continuing every (unit, indicator) of ``history`` on its trend.

    Each unit starts from its last reported value and moves by the indicator's pooled slope
    (``pooled_trend``) a year plus independent normal noise of
    ``noise_scale`` × the indicator's residual spread; values are clipped to the value type's
    range (``VALUE_BOUNDS``), counts and yes/no items rounded, yes/no items kept at their last
    value. Indicators missing from ``value_types`` are left out. Equal inputs and ``seed`` give
    equal output.

    Returns
    -------
    pandas.DataFrame
        Columns unit, year, indicator, value; one row per continued pair and year.
    """
    if noise_scale < 0 or not np.isfinite(noise_scale):
        raise ValueError("noise_scale must be a finite number ≥ 0")
    known = history[history["indicator"].isin(list(value_types))]
    cube = _cube(known)
    new_years = np.asarray(sorted(set(years)), dtype=np.float64)
    if cube.empty or new_years.size == 0:
        return pd.DataFrame(columns=["unit", "year", "indicator", "value"])
    trend = pooled_trend(known)
    indicator = cube.index.get_level_values("indicator")
    slope = trend.slope.reindex(indicator).to_numpy()
    noise = trend.noise.reindex(indicator).to_numpy()
    values = cube.to_numpy(np.float64)
    seen = ~np.isnan(values)
    past = cube.columns.to_numpy(np.float64)
    # Anchored at the unit's last reported value, so the continuation starts where the city
    # stands; the history's own year-to-year noise then cancels out of any later before/after
    # comparison instead of swamping it.
    last_column = seen.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1)
    last = values[np.arange(len(values)), last_column]
    level = last - slope * past[last_column]
    rng = np.random.default_rng(seed)
    shock = rng.standard_normal((len(values), new_years.size))
    future = level[:, None] + slope[:, None] * new_years + noise_scale * noise[:, None] * shock
    kinds = [value_types[code] for code in indicator]
    frozen = np.array([k in _FROZEN for k in kinds])
    future = np.where(frozen[:, None], last[:, None], future)
    low, high = (np.array([VALUE_BOUNDS[k][j] for k in kinds]) for j in (0, 1))
    future = np.clip(future, low[:, None], high[:, None])
    integer = np.array([k in _INTEGER for k in kinds])
    future = np.where(integer[:, None], np.rint(future), np.round(future, 4))
    frame = pd.DataFrame(future, index=cube.index, columns=new_years.astype(np.int64))
    long = frame.reset_index().melt(id_vars=KEY, var_name="year", value_name="value")
    long["year"] = long["year"].astype(np.int64)
    return long[["unit", "year", "indicator", "value"]].sort_values(
        ["unit", "year", "indicator"], ignore_index=True
    )


def plant_effects(
    panel: pd.DataFrame,
    effects: Sequence[PlantedEffect],
    directions: Mapping[str, Direction],
    value_types: Mapping[str, ValueType],
) -> pd.DataFrame:
    """``panel`` with each effect added to its unit's indicator from its first year on: up for a
    higher-is-better indicator, down for a lower-is-better one; clipped to the value type's
    range (so an indicator at its ceiling cannot improve — choose planted indicators with room).
    Effects on the same cell add up; rows without an effect are returned unchanged.
    """
    if not effects:
        return panel.copy()
    planted = pd.DataFrame(
        [(e.unit, e.indicator, e.first_year, e.improvement) for e in effects],
        columns=["unit", "indicator", "first_year", "improvement"],
    )
    signed = [c for c, d in directions.items() if d in (Direction.HIGHER, Direction.LOWER)]
    bad = planted[~planted["indicator"].isin(signed)]
    if not bad.empty:
        raise ValueError(f"no direction of improvement for {sorted(set(bad['indicator']))}")
    sign = planted["indicator"].map(lambda c: -1.0 if directions[c] == Direction.LOWER else 1.0)
    planted["shift"] = sign * planted["improvement"]
    rows = panel.reset_index(drop=True)
    hits = rows.reset_index().merge(planted, on=KEY)
    hits = hits[hits["year"] >= hits["first_year"]]
    shift = hits.groupby("index")["shift"].sum().reindex(rows.index, fill_value=0.0).to_numpy()
    touched = shift != 0
    kinds = rows["indicator"].map(lambda c: value_types.get(c, ValueType.INDEX))
    low = kinds.map(lambda k: VALUE_BOUNDS[k][0]).to_numpy(np.float64)
    high = kinds.map(lambda k: VALUE_BOUNDS[k][1]).to_numpy(np.float64)
    value = rows["value"].to_numpy(np.float64)
    moved = np.clip(value + shift, low, high)
    integer = kinds.isin(list(_INTEGER)).to_numpy()
    moved = np.where(integer, np.rint(moved), np.round(moved, 4))
    out = rows.copy()
    out["value"] = np.where(touched, moved, value)
    return out


def change_spread(panel: pd.DataFrame, pre: Sequence[int], post: Sequence[int]) -> pd.Series:
    """Per indicator, the spread (standard deviation over units) of each unit's change from the
    mean of the ``pre`` years to the mean of the ``post`` years: the noise a one-city
    difference-in-differences estimate is judged against."""
    cube = _cube(panel[panel["year"].isin([*pre, *post])])
    before = cube.reindex(columns=list(pre)).mean(axis=1, skipna=False)
    after = cube.reindex(columns=list(post)).mean(axis=1, skipna=False)
    change = (after - before).dropna()
    return change.groupby(level="indicator").std().rename("spread")


__all__ = [
    "NOISE_SCALE",
    "VALUE_BOUNDS",
    "PlantedEffect",
    "Trend",
    "change_spread",
    "continue_panel",
    "plant_effects",
    "pooled_trend",
]
