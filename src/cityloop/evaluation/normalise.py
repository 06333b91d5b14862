"""Normalisation of raw indicator values onto a common, direction-aware scale.

Every function takes raw values ``x`` shaped (observations, …, indicators): statistics are taken
over axis 0 only, so a (units, years, indicators) cube normalises each year separately and a
(unit-years, indicators) matrix normalises the pooled panel. NaN means missing and stays NaN.
After normalisation higher is always better; all methods but the z-score map onto [0, 1].

References: OECD/JRC (2008) *Handbook on Constructing Composite Indicators*, §5 (methods);
Becker et al. (2019) COINr, ``normalise()`` (goalposts, distance to reference).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import stats

from cityloop.errors import MethodError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Normalisation(StrEnum):
    MIN_MAX = "min_max"
    Z_SCORE = "z_score"
    RANK = "rank"
    GOALPOSTS = "goalposts"
    DISTANCE_TO_BEST = "distance_to_best"
    TARGET_POINTS = "target_points"


BOUNDED = frozenset(
    {
        Normalisation.MIN_MAX,
        Normalisation.RANK,
        Normalisation.GOALPOSTS,
        Normalisation.DISTANCE_TO_BEST,
        Normalisation.TARGET_POINTS,
    }
)

# U4SSC benchmark bands: share of the target reached → points 1–4 (U4SSC KPI factsheets).
TARGET_POINT_BANDS = (0.33, 0.66, 0.95)


def orient(x: FloatArray, direction: IntArray, band: FloatArray) -> FloatArray:
    """Turn raw values into 'higher is better' values.

    ``direction`` is +1 (higher is better), -1 (lower is better) or 0 (inside ``band`` is
    best); a band indicator becomes minus its distance to the band, so every value inside the
    band is equally best (0) and values further outside are worse.
    """
    out = x * np.where(direction < 0, -1.0, 1.0)
    banded = np.flatnonzero(direction == 0)
    if banded.size:  # the distance is only worth computing for band columns
        lo, hi = band[banded, 0], band[banded, 1]
        xb = x[..., banded]
        with np.errstate(invalid="ignore"):
            out[..., banded] = -(np.maximum(lo - xb, 0.0) + np.maximum(xb - hi, 0.0))
    return out


def _nanmin(a: FloatArray) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN on purpose
        return np.asarray(np.nanmin(a, axis=0), dtype=np.float64)


def _nanmax(a: FloatArray) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmax(a, axis=0), dtype=np.float64)


def _scale_between(o: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    """(o − low) / (high − low); a column with high == low gives 1 (nobody is behind)."""
    span = high - low
    safe = np.where(span > 0, span, 1.0)
    out = (o - low) / safe
    return np.where(span > 0, out, np.where(np.isnan(o), np.nan, 1.0))


def normalise_min_max(x: FloatArray, direction: IntArray, band: FloatArray) -> FloatArray:
    """Min–max on oriented values: worst observed → 0, best observed → 1 (Handbook §5, eq. 5)."""
    o = orient(x, direction, band)
    return _scale_between(o, _nanmin(o), _nanmax(o))


def normalise_z_score(x: FloatArray, direction: IntArray, band: FloatArray) -> FloatArray:
    """Standardisation (x − mean) / sample sd on oriented values; a constant column gives 0."""
    o = orient(x, direction, band)
    count = np.sum(~np.isnan(o), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(o, axis=0)
        sd = np.where(count > 1, np.nanstd(o, axis=0, ddof=1), 0.0)
    safe = np.where(sd > 0, sd, 1.0)
    return np.where(sd > 0, (o - mean) / safe, np.where(np.isnan(o), np.nan, 0.0))


def normalise_rank(x: FloatArray, direction: IntArray, band: FloatArray) -> FloatArray:
    """Percentile rank (rank − 1) / (n − 1) with average ties; a single value gives 1."""
    o = orient(x, direction, band)
    r = stats.rankdata(o, axis=0, method="average", nan_policy="omit")
    n = np.sum(~np.isnan(o), axis=0)
    safe = np.where(n > 1, n - 1, 1)
    return np.where(n > 1, (r - 1.0) / safe, np.where(np.isnan(o), np.nan, 1.0))


def normalise_goalposts(
    x: FloatArray,
    direction: IntArray,
    band: FloatArray,
    target: FloatArray,
    worst: FloatArray,
) -> FloatArray:
    """Distance to target: worst goalpost → 0, target → 1, clipped to [0, 1].

    A band indicator's target is the band itself (distance 0). Where an indicator has no
    ``target`` (or ``worst``) the best (worst) observed value stands in, so the method stays
    defined; ``goalposts_used`` reports which indicators relied on that fallback.
    """
    o = orient(x, direction, band)
    target_o = np.where(direction == 0, 0.0, orient(target[None, :], direction, band)[0])
    worst_o = orient(worst[None, :], direction, band)[0]
    high = np.where(np.isnan(target_o), _nanmax(o), target_o)
    low = np.where(np.isnan(worst_o), _nanmin(o), worst_o)
    return np.clip(_scale_between(o, low, high), 0.0, 1.0)


def goalposts_fallback(target: FloatArray, worst: FloatArray, direction: IntArray) -> IntArray:
    """Indices of indicators whose goalposts fall back on observed values."""
    no_target = np.isnan(target) & (direction != 0)
    return np.flatnonzero(no_target | np.isnan(worst))


def normalise_distance_to_best(x: FloatArray, direction: IntArray, band: FloatArray) -> FloatArray:
    """Ratio to the best performer: x / max(x) if higher is better, min(x) / x if lower.

    Needs non-negative values (a ratio of signed values has no meaning); for a band indicator
    the score falls linearly from 1 inside the band to 0 at the largest observed distance.
    """
    ratio_cols = direction != 0
    if np.any(x[..., ratio_cols] < 0):
        bad = np.flatnonzero(np.any(x < 0, axis=tuple(range(x.ndim - 1))) & ratio_cols)
        raise MethodError("norm.negative_for_ratio", columns=", ".join(map(str, bad.tolist())))
    best_high = _nanmax(x)
    best_low = _nanmin(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        higher = np.where(best_high > 0, x / np.where(best_high > 0, best_high, 1.0), 1.0)
        lower = np.where(x > 0, best_low / np.where(x > 0, x, 1.0), 1.0)
    o = orient(x, direction, band)
    banded = _scale_between(o, _nanmin(o), np.zeros_like(best_high))
    out = np.where(direction > 0, higher, np.where(direction < 0, lower, banded))
    return np.where(np.isnan(x), np.nan, out)


def normalise_target_points(
    x: FloatArray, direction: IntArray, band: FloatArray, target: FloatArray
) -> FloatArray:
    """U4SSC-style benchmark points on a 0–1 scale: 1 point below 33 % of the target, 2 from
    33 %, 3 from 66 % and 4 from 95 %, divided by 4.

    The share of the target is x / target when higher is better and target / x when lower
    is better; a band indicator inside its band reaches 100 %. Indicators without a target
    are left out (NaN), as U4SSC leaves out KPIs without one, so a parent's arithmetic mean
    of these values is exactly points ÷ (4 × KPIs reported).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        higher = x / target
        lower = np.where(x > 0, target / np.where(x > 0, x, 1.0), np.inf)
    distance = -orient(x, np.zeros_like(direction), band)
    inside = np.where(distance > 0, 0.0, 1.0)
    share = np.where(direction > 0, higher, np.where(direction < 0, lower, inside))
    has_target = (direction == 0) | ~np.isnan(target)
    points = 1.0 + sum((share >= cut).astype(np.float64) for cut in TARGET_POINT_BANDS)
    return np.where(np.isnan(x) | ~has_target, np.nan, points / 4.0)


Normaliser = Callable[[FloatArray, IntArray, FloatArray], FloatArray]

SIMPLE_NORMALISERS: dict[Normalisation, Normaliser] = {
    Normalisation.MIN_MAX: normalise_min_max,
    Normalisation.Z_SCORE: normalise_z_score,
    Normalisation.RANK: normalise_rank,
    Normalisation.DISTANCE_TO_BEST: normalise_distance_to_best,
}


def normalise(
    method: Normalisation,
    x: FloatArray,
    direction: IntArray,
    band: FloatArray,
    target: FloatArray,
    worst: FloatArray,
) -> FloatArray:
    """Dispatch to one normalisation method."""
    if method == Normalisation.GOALPOSTS:
        return normalise_goalposts(x, direction, band, target, worst)
    if method == Normalisation.TARGET_POINTS:
        return normalise_target_points(x, direction, band, target)
    return SIMPLE_NORMALISERS[method](x, direction, band)
