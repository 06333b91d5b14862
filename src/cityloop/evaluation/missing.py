"""Missing data: coverage, exclusion of thin units and imputation, on the values cube.

The cube is ``x[unit, year, indicator]`` with NaN for a missing value. Imputation methods
return a new cube and a boolean cube marking which cells were filled.
"""

from __future__ import annotations

import warnings
from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Imputation(StrEnum):
    NONE = "none"  # leave missing; aggregation re-weights the present siblings
    CARRY_FORWARD = "carry_forward"  # the unit's latest earlier value of the indicator
    GROUP_MEAN = "group_mean"  # mean of the unit's group in the same year
    GROUP_MEDIAN = "group_median"  # median of the unit's group in the same year


def coverage(x: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """Share of indicators present per (unit, year); weighted by ``weights`` if given.

    With leaf weights equal to each indicator's share of the total score, the weighted
    coverage is the share of the score that rests on observed data.
    """
    present = ~np.isnan(x)
    if weights is None:
        return np.asarray(present.mean(axis=-1), dtype=np.float64)
    total = float(weights.sum())
    if total <= 0:
        raise ValueError("coverage weights must have a positive sum")
    return np.asarray((present @ weights) / total, dtype=np.float64)


def carry_forward(x: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Fill each gap with the same unit's latest earlier observation of the indicator.

    Vectorised forward fill along the year axis: for every cell, the index of the latest
    observed year so far comes from a running maximum of observed-year indices.
    """
    n_years = x.shape[1]
    observed = ~np.isnan(x)
    idx = np.where(observed, np.arange(n_years)[None, :, None], -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    safe = np.maximum(idx, 0)
    filled = np.take_along_axis(x, safe, axis=1)
    filled = np.where(idx >= 0, filled, np.nan)
    return filled, ~observed & ~np.isnan(filled)


def group_fill(x: FloatArray, group: IntArray, how: Imputation) -> tuple[FloatArray, BoolArray]:
    """Fill gaps with the mean or median of the unit's group in the same year.

    ``group[unit]`` is a group id (0..g-1) or -1 for a unit without a group (left missing).
    Means use segment sums (np.add.at); medians sort each group's block once.
    """
    missing = np.isnan(x)
    n_groups = int(group.max()) + 1 if group.size and group.max() >= 0 else 0
    if n_groups == 0:
        return x.copy(), np.zeros_like(missing)
    stats = np.full((n_groups, *x.shape[1:]), np.nan)
    in_group = group >= 0
    if how == Imputation.GROUP_MEAN:
        sums = np.zeros((n_groups, *x.shape[1:]))
        counts = np.zeros((n_groups, *x.shape[1:]))
        np.add.at(sums, group[in_group], np.nan_to_num(x[in_group]))
        np.add.at(counts, group[in_group], ~missing[in_group])
        with np.errstate(invalid="ignore", divide="ignore"):
            stats = np.where(counts > 0, sums / counts, np.nan)
    else:
        order = np.argsort(group[in_group], kind="stable")
        sorted_x = x[in_group][order]
        starts = np.searchsorted(group[in_group][order], np.arange(n_groups))
        ends = np.append(starts[1:], sorted_x.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN group-years stay NaN
            # One nanmedian per group block: a loop over groups (tens), never over units.
            for g, (s, e) in enumerate(zip(starts, ends, strict=True)):
                if e > s:
                    stats[g] = np.nanmedian(sorted_x[s:e], axis=0)
    fill = np.where(in_group[:, None, None], stats[np.maximum(group, 0)], np.nan)
    out = np.where(missing, fill, x)
    return out, missing & ~np.isnan(out)


def impute(
    x: FloatArray, methods: list[Imputation], group: IntArray | None
) -> tuple[FloatArray, BoolArray]:
    """Apply imputation methods in order; later methods fill only what earlier ones left."""
    filled = np.zeros(x.shape, dtype=bool)
    for method in methods:
        if method == Imputation.NONE:
            continue
        if method == Imputation.CARRY_FORWARD:
            x, new = carry_forward(x)
        else:
            if group is None:
                raise ValueError("group imputation needs a group for every unit")
            x, new = group_fill(x, group, method)
        filled |= new
    return x, filled
