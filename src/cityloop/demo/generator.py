"""Synthetic demo data: the units of ``regions`` and their values for any framework.

Every number is SYNTHETIC, drawn from a fixed seed; no city here is real and no value is measured.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from cityloop.demo.regions import Panel, units_and_panel
from cityloop.frameworks.schema import Direction, Indicator, ValueType
from cityloop.frameworks.tree import Framework

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEMO_SEED = 20261124
DEFAULT_YEARS = (2021, 2022, 2023, 2024, 2025)
MIN_CITIES = 31  # one per province
MAX_CITIES = 1500  # keeps every province under 99 cities, the limit of two-digit city codes
VALUE_COLUMNS = ("unit", "year", "indicator", "value", "source", "note")

MISSING_NOT_CORE = 0.03  # extra for indicators the framework marks as not core
ROLLOUT_SHARE = 0.2  # share of indicators only gradually collected in the first years
ROLLOUT_COVERAGE = (0.6, 0.85)  # share of units reporting them in the first and second year
DIMENSION_GAP = 0.002  # probability a unit misses a whole top-level dimension in a year
OUTLIER_SHARE = 0.005

# Goalposts (value of the worst city, value of the best city) when a framework gives none.
_DEFAULT_HIGHER = {
    ValueType.PERCENTAGE: (25.0, 95.0),
    ValueType.SHARE: (0.25, 0.95),
    ValueType.SCORE: (45.0, 95.0),
    ValueType.INDEX: (60.0, 140.0),
    ValueType.COUNT: (2.0, 80.0),
    ValueType.AMOUNT: (10.0, 200.0),
    ValueType.RATE: (5.0, 100.0),
    ValueType.BOOLEAN: (0.0, 1.0),
}
_DEFAULT_LOWER = {
    ValueType.PERCENTAGE: (60.0, 5.0),
    ValueType.SHARE: (0.6, 0.05),
    ValueType.SCORE: (60.0, 5.0),
    ValueType.INDEX: (140.0, 60.0),
    ValueType.COUNT: (80.0, 2.0),
    ValueType.AMOUNT: (200.0, 10.0),
    ValueType.RATE: (100.0, 5.0),
    ValueType.BOOLEAN: (1.0, 0.0),
}
_RANGE = {
    ValueType.PERCENTAGE: (0.0, 100.0),
    ValueType.SHARE: (0.0, 1.0),
    ValueType.SCORE: (0.0, 100.0),
    ValueType.INDEX: (-np.inf, np.inf),
    ValueType.COUNT: (0.0, np.inf),
    ValueType.AMOUNT: (0.0, np.inf),
    ValueType.RATE: (0.0, np.inf),
    ValueType.BOOLEAN: (0.0, 1.0),
}
# Quantities that spread over orders of magnitude: interpolated on a log scale.
_GEOMETRIC = frozenset({ValueType.COUNT, ValueType.AMOUNT, ValueType.RATE})
_POSITIVE = frozenset({ValueType.AMOUNT, ValueType.RATE})
_BOUNDED = frozenset({ValueType.PERCENTAGE, ValueType.SHARE, ValueType.SCORE})
_DECIMALS = {ValueType.PERCENTAGE: 2, ValueType.SHARE: 4, ValueType.SCORE: 2, ValueType.INDEX: 2}


@dataclass(frozen=True, eq=False)
class DemoData:
    """The synthetic units table and one long values table per framework id."""

    units: pd.DataFrame
    values: dict[str, pd.DataFrame]


def source_label(seed: int) -> str:
    """The ``source`` written on every synthetic row."""
    return f"合成演示数据 SYNTHETIC demo (seed {seed})"


def generate_demo(
    frameworks: Sequence[Framework],
    *,
    n_cities: int = 320,
    years: Sequence[int] = DEFAULT_YEARS,
    seed: int = DEMO_SEED,
) -> DemoData:
    """Generate the synthetic units table and values for each framework.

    Units and the latent development of each city depend only on ``seed`` and ``n_cities``;
    each framework's values come from a generator seeded by ``seed`` and the framework id, so a
    framework's table does not change when other frameworks are asked for too.
    """
    if not MIN_CITIES <= n_cities <= MAX_CITIES:
        raise ValueError(f"n_cities must be between {MIN_CITIES} and {MAX_CITIES}")
    year_array = np.asarray(list(years), dtype=np.int64)
    if year_array.size == 0 or np.unique(year_array).size != year_array.size:
        raise ValueError("years must be a non-empty sequence of distinct years")
    ids = [fw.id for fw in frameworks]
    if len(set(ids)) != len(ids):
        raise ValueError("each framework may be given once")
    rng = np.random.default_rng(seed)
    units, panel = units_and_panel(rng, n_cities, year_array)
    values = {
        fw.id: _framework_values(
            fw,
            panel,
            year_array,
            np.random.default_rng([seed, zlib.crc32(fw.id.encode())]),
            source_label(seed),
        )
        for fw in frameworks
    }
    return DemoData(units=units, values=values)


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Specs:
    """Per-indicator arrays that map a cell's goodness in (0, 1) to a value."""

    bad: FloatArray
    good: FloatArray
    low: FloatArray  # valid range
    high: FloatArray
    geometric: BoolArray
    band: BoolArray
    boolean: BoolArray
    scales_with_population: BoolArray
    core: BoolArray
    kind: tuple[ValueType, ...]


def _goalposts(ind: Indicator) -> tuple[float, float]:
    """(worst, best) value: the framework's worst/target completed from defaults; a band's ends."""
    vt = ind.value_type
    defaults = _DEFAULT_LOWER if ind.direction == Direction.LOWER else _DEFAULT_HIGHER
    d_bad, d_good = defaults[vt]
    low, high = _RANGE[vt]
    if vt == ValueType.BOOLEAN:
        if ind.band is not None:
            yes = 1.0 if ind.band[0] <= 1.0 <= ind.band[1] else 0.0
        elif ind.target is not None:
            yes = 1.0 if ind.target >= 0.5 else 0.0
        else:
            yes = d_good
        return 1.0 - yes, yes
    if ind.band is not None:
        return float(ind.band[0]), float(ind.band[1])

    def shifted(known: float, d_known: float, d_other: float) -> float:
        # Move the default pair so its known end sits on the framework's goalpost.
        if vt in _GEOMETRIC and known > 0:
            return float(np.clip(known * d_other / d_known, low, high))
        return float(np.clip(known + d_other - d_known, low, high))

    if ind.target is not None:
        good = ind.target
        bad = ind.worst if ind.worst is not None else shifted(good, d_good, d_bad)
    elif ind.worst is not None:
        bad, good = ind.worst, shifted(ind.worst, d_bad, d_good)
    else:
        bad, good = d_bad, d_good
    if bad == good:  # degenerate goalposts: spread the cities below/above them
        bad = float(np.clip(good - (d_good - d_bad), low, high))
        if bad == good:
            good = float(np.clip(bad + (d_good - d_bad), low, high))
    return float(bad), float(good)


def _specs(fw: Framework) -> _Specs:
    posts = np.array([_goalposts(ind) for ind in fw.indicators], dtype=np.float64).reshape(-1, 2)
    bad, good = posts[:, 0], posts[:, 1]
    kind = fw.value_type
    low = np.array([_RANGE[k][0] for k in kind])
    high = np.array([_RANGE[k][1] for k in kind])
    # A positive quantity never reaches zero: the floor is a thousandth of its scale.
    positive = np.array([k in _POSITIVE for k in kind])
    scale = np.maximum(np.abs(bad), np.abs(good))
    low = np.where(positive, 1e-3 * np.where(scale > 0, scale, 1.0), low)
    # A survey-style score (goalposts within 0–10) stays between its goalposts.
    band = fw.direction == 0
    survey = np.array([k == ValueType.SCORE for k in kind]) & (scale <= 10) & ~band
    low = np.where(survey, np.minimum(bad, good), low)
    high = np.where(survey, np.maximum(bad, good), high)
    return _Specs(
        bad=bad,
        good=good,
        low=low,
        high=high,
        geometric=np.array([k in _GEOMETRIC for k in kind]) & (bad > 0) & (good > 0),
        band=band,
        boolean=np.array([k == ValueType.BOOLEAN for k in kind]),
        scales_with_population=np.array(
            [
                i.value_type == ValueType.COUNT and i.target is None and i.worst is None
                for i in fw.indicators
            ]
        ),
        core=np.array([i.core for i in fw.indicators]),
        kind=kind,
    )


def _framework_values(
    fw: Framework, panel: Panel, years: IntArray, rng: np.random.Generator, source: str
) -> pd.DataFrame:
    """The long table for one framework, built as a (units, years, indicators) cube."""
    spec = _specs(fw)
    n_units, n_years = panel.level.shape
    shape = (n_units, n_years, len(spec.kind))

    # Goodness of each cell: the unit's development plus persistent and yearly idiosyncrasy.
    loading = rng.uniform(0.55, 0.85, size=shape[2])
    noise = 0.8 * rng.standard_normal((n_units, 1, shape[2])) + 0.6 * rng.standard_normal(shape)
    goodness = ndtr(loading * panel.level[:, :, None] + np.sqrt(1 - loading**2) * noise)

    value = _value_from_goodness(spec, goodness, panel.population, rng)
    missing = _missing_mask(fw, spec, panel, years, rng, shape)
    outlier = (rng.random(shape) < OUTLIER_SHARE) & ~missing & ~spec.boolean
    value = np.where(outlier, _extremes(spec, value, rng), value)
    value = _round_to_type(spec, np.clip(value, spec.low, spec.high))

    u, y, i = np.nonzero(~missing)
    return pd.DataFrame(
        {
            "unit": panel.codes[u].astype(object),
            "year": years[y],
            "indicator": np.array(fw.indicator_codes, dtype=object)[i],
            "value": value[u, y, i],
            "source": source,
            "note": "",
        },
        columns=list(VALUE_COLUMNS),
    )


def _value_from_goodness(
    spec: _Specs, goodness: FloatArray, population: FloatArray, rng: np.random.Generator
) -> FloatArray:
    # Slightly past both goalposts so a few cities beat the target or fall below the worst.
    position = -0.05 + 1.1 * goodness
    linear = spec.bad + (spec.good - spec.bad) * position
    log_bad = np.log(np.where(spec.geometric, spec.bad, 1.0))
    log_good = np.log(np.where(spec.geometric, spec.good, 1.0))
    value = np.where(spec.geometric, np.exp(log_bad + (log_good - log_bad) * position), linear)
    size_factor = (population / np.median(population)) ** 0.6
    value = np.where(spec.scales_with_population, value * size_factor[:, None, None], value)

    # Band indicators scatter around the band; the better the unit, the tighter inside it.
    mid = np.where(spec.band, (spec.bad + spec.good) / 2, 0.0)
    half = np.abs(spec.good - spec.bad) / 2
    half = np.where(half > 0, half, np.maximum(0.1 * np.abs(mid), 1.0))  # a band that is a point
    shape = goodness.shape
    scatter = 0.8 * rng.standard_normal((shape[0], 1, shape[2])) + 0.6 * rng.standard_normal(shape)
    banded = mid + half * scatter * (0.5 + 1.5 * (1 - goodness))
    value = np.where(spec.band & ~spec.boolean, banded, value)

    yes_no = np.where(goodness > 0.45, spec.good, spec.bad)
    return np.where(spec.boolean, yes_no, value)


def _missing_mask(
    fw: Framework,
    spec: _Specs,
    panel: Panel,
    years: IntArray,
    rng: np.random.Generator,
    shape: tuple[int, int, int],
) -> BoolArray:
    n_units, n_years, n_ind = shape
    rate = panel.missing_rate[:, None, None] + MISSING_NOT_CORE * ~spec.core
    missing = rng.random(shape) < rate

    # Some indicators are collected by the more developed units first.
    rollout = np.zeros(n_ind, dtype=bool)
    rollout[rng.permutation(n_ind)[: round(ROLLOUT_SHARE * n_ind)]] = True
    year_rank = np.argsort(np.argsort(years))
    coverage = np.ones(n_years)
    early = year_rank < len(ROLLOUT_COVERAGE)
    coverage[early] = np.array(ROLLOUT_COVERAGE)[year_rank[early]]
    start_key = -panel.level[:, 0] + rng.standard_normal(n_units)
    start_order = (np.argsort(np.argsort(start_key)) + 0.5) / n_units  # uniform rank in (0, 1)
    not_yet = start_order[:, None] > coverage[None, :]
    missing |= not_yet[:, :, None] & rollout

    # Now and then a unit reports nothing for a whole top-level dimension in a year.
    root = fw.leaf_nodes.copy()
    while np.any(fw.parent[root] >= 0):
        up = fw.parent[root] >= 0
        root[up] = fw.parent[root[up]]
    roots, root_column = np.unique(root, return_inverse=True)
    gap = rng.random((n_units, n_years, roots.size)) < DIMENSION_GAP
    return missing | gap[:, :, root_column]


def _extremes(spec: _Specs, value: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Extreme but valid values: the far end of a bounded range, 3–10 × beyond the goalposts."""
    mid = (spec.bad + spec.good) / 2
    far_end = np.where(np.abs(spec.low - mid) > np.abs(spec.high - mid), spec.low, spec.high)
    factor = rng.uniform(3.0, 10.0, size=value.shape)
    up = rng.random(value.shape) < 0.5
    top, bottom = np.maximum(spec.bad, spec.good), np.minimum(spec.bad, spec.good)
    scaled = np.where(up, np.maximum(value, top) * factor, np.minimum(value, bottom) / factor)
    span = np.maximum(np.abs(spec.good - spec.bad), 1.0)
    swing = mid + np.where(up, 6.0, -6.0) * span
    bounded = np.array([k in _BOUNDED for k in spec.kind])
    quantity = np.array([k in _GEOMETRIC for k in spec.kind])
    return np.where(bounded, far_end, np.where(quantity, scaled, swing))


def _round_to_type(spec: _Specs, value: FloatArray) -> FloatArray:
    """Integers for counts and yes/no, fixed decimals for bounded kinds, 4 significant digits."""
    decimals = np.array([_DECIMALS.get(k, -1) for k in spec.kind])
    integer = np.array([k in {ValueType.COUNT, ValueType.BOOLEAN} for k in spec.kind])
    magnitude = np.floor(np.log10(np.where(value != 0, np.abs(value), 1.0)))
    significant = np.round(value * 10.0 ** (3 - magnitude)) / 10.0 ** (3 - magnitude)
    rounded = np.where(integer, np.rint(value), significant)
    for d in np.unique(decimals[decimals >= 0]):  # at most one pass per value type
        rounded[..., decimals == d] = np.round(value[..., decimals == d], int(d))
    return rounded


__all__ = [
    "DEFAULT_YEARS",
    "DEMO_SEED",
    "MAX_CITIES",
    "MIN_CITIES",
    "DemoData",
    "generate_demo",
    "source_label",
]
