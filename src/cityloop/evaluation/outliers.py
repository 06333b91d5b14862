"""Outlier treatment before normalisation: winsorisation driven by skew and kurtosis, or logs.

Follows the JRC/COIN rule of thumb: an indicator with |skewness| > 2 and kurtosis > 3.5 is
treated (OECD/JRC 2008 Handbook §4; Becker et al. 2019 COINr ``treat()``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class OutlierMethod(StrEnum):
    NONE = "none"
    WINSORISE = "winsorise"
    LOG = "log"


@dataclass(frozen=True)
class OutlierReport:
    """Which indicator columns were flagged, and how many values were winsorised in each."""

    flagged: BoolArray
    winsorised: npt.NDArray[np.int64]
    logged: BoolArray


def skew_kurtosis(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sample skewness and excess-free (Pearson) kurtosis per column, ignoring NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x, axis=0)
        dev = x - mean
        m2 = np.nanmean(dev**2, axis=0)
        m3 = np.nanmean(dev**3, axis=0)
        m4 = np.nanmean(dev**4, axis=0)
        skew = np.where(m2 > 0, m3 / np.where(m2 > 0, m2, 1.0) ** 1.5, 0.0)
        kurt = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, 0.0)
    return skew, kurt


def _flag(x: FloatArray, max_skew: float, max_kurtosis: float) -> BoolArray:
    skew, kurt = skew_kurtosis(x)
    return (np.abs(skew) > max_skew) & (kurt > max_kurtosis)


def treat_outliers(
    x: FloatArray,
    method: OutlierMethod,
    *,
    max_skew: float = 2.0,
    max_kurtosis: float = 3.5,
    max_winsorised: int = 5,
) -> tuple[FloatArray, OutlierReport]:
    """Treat flagged columns of ``x`` (observations, indicators); others are returned as is.

    Winsorisation replaces, one at a time, the most extreme value on the side of the skew by
    the next value inward, until the column is no longer flagged or ``max_winsorised`` values
    were replaced. Each round is one whole-matrix step over all still-flagged columns.
    The log method maps a flagged column to log(x − min + 1), which keeps order.
    """
    n_ind = x.shape[1]
    none = np.zeros(n_ind, dtype=bool)
    if method == OutlierMethod.NONE or x.shape[0] < 3:
        return x, OutlierReport(none, np.zeros(n_ind, dtype=np.int64), none)
    flagged = _flag(x, max_skew, max_kurtosis)
    if method == OutlierMethod.LOG:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            shifted = x - np.nanmin(x, axis=0) + 1.0
        out = np.where(flagged, np.log(np.where(flagged, shifted, 1.0)), x)
        return out, OutlierReport(flagged, np.zeros(n_ind, dtype=np.int64), flagged)

    out = x.copy()
    count = np.zeros(n_ind, dtype=np.int64)
    active = np.flatnonzero(flagged)
    for _ in range(max_winsorised):
        if active.size == 0:
            break
        block = out[:, active]
        skew, _k = skew_kurtosis(block)
        # Key so that the extreme value on the skewed side sorts first and NaN last; a partial
        # sort (argpartition) then finds the extreme and its inward neighbour per column.
        key = np.where(skew > 0, -block, block)
        key = np.where(np.isnan(key), np.inf, key)
        two = np.argpartition(key, 1, axis=0)[:2]
        cols = np.arange(active.size)
        block[two[0], cols] = block[two[1], cols]
        out[:, active] = block
        count[active] += 1
        active = active[_flag(block, max_skew, max_kurtosis)]
    return out, OutlierReport(flagged, count, none)
