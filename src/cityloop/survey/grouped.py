"""Grouped weighted means of respondent scores, computed from per-stratum sums in a few scans.

Respondents are folded into strata (same year, weight and grouping attributes) once; every
estimate for every group then comes from three sums per stratum — no loop over respondents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

ALL = "*"
"""``group_by`` and ``group`` of the whole-city rows (every respondent of the year)."""

ESTIMATE_COLUMNS = ["kind", "key", "year", "group_by", "group"]
VALUE_COLUMNS = ["value", "se", "low", "high", "n", "n_eff"]


@dataclass(frozen=True)
class Strata:
    """Respondents folded into strata within which year, weight and grouping are constant.

    ``codes`` gives each respondent's stratum, ``sizes`` each stratum's respondents and
    ``table`` one row per stratum with its ``year``, one column per grouping attribute and its
    ``weight``. Weights after raking take
    one value per raking cell, so there are few strata even for millions of respondents.
    """

    codes: IntArray
    table: pd.DataFrame
    by: tuple[str, ...]
    sizes: FloatArray


def _factorize(column: pd.Series) -> tuple[IntArray, npt.NDArray[Any]]:
    """Codes and distinct values of a column; categorical and small-range integer columns are
    coded without hashing, which matters at 10 million respondents."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.intp)
        values = np.asarray(column.cat.categories, dtype=object)
        if (codes < 0).any():  # missing attribute: its own group (NaN)
            codes = np.where(codes < 0, len(values), codes)
            values = np.append(values, np.nan)
        return codes, values
    if pd.api.types.is_integer_dtype(column.dtype) and len(column):
        raw = column.to_numpy()
        low, high = int(raw.min()), int(raw.max())
        if high - low < 1_000_000:
            present = np.flatnonzero(np.bincount(raw - low))
            relabel = np.zeros(high - low + 1, dtype=np.intp)
            relabel[present] = np.arange(present.size)
            return relabel[raw - low], present + low
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques)


def build_strata(frame: pd.DataFrame, weights: FloatArray, by: Sequence[str]) -> Strata:
    """Fold respondents into strata of equal year, weight and grouping attributes.

    Parameters
    ----------
    frame
        Responses with a ``year`` column and the attributes named in ``by``.
    weights
        One positive weight per respondent.
    by
        Attributes to report groups for (e.g. ``("district",)``); may be empty.
    """
    absent = [name for name in ("year", *by) if name not in frame.columns]
    if absent:
        raise InputError(
            "survey.variable_unknown",
            variables=", ".join(absent),
            known=", ".join(map(str, frame.columns)),
        )
    if len(weights) != len(frame):
        raise InputError(
            "survey.length_mismatch", what="weights", got=len(weights), expected=len(frame)
        )
    names = ("year", *by, "weight")
    parts = [_factorize(frame[name]) for name in names[:-1]]
    parts.append(_factorize(pd.Series(weights)))
    sizes = tuple(len(values) for _, values in parts)
    if float(np.prod(np.asarray(sizes, dtype=np.float64))) <= max(4.0 * len(frame), 2.0**20):
        # Few combinations (raked weights take one value per cell): number the occupied ones
        # with a dense table instead of hashing ten million keys.
        key = np.ravel_multi_index([codes for codes, _ in parts], sizes)
        counts = np.bincount(key, minlength=int(np.prod(sizes)))
        occupied = np.flatnonzero(counts)
        relabel = np.zeros(counts.size, dtype=np.intp)
        relabel[occupied] = np.arange(occupied.size)
        strata = relabel[key]
        members = np.unravel_index(occupied, sizes)
    else:
        # Many distinct weights: hash the combined key, re-numbering before it overflows.
        combined = np.zeros(len(frame), dtype=np.int64)
        bound = 1
        for codes, values in parts:
            if bound * len(values) >= 2**62:
                combined = np.asarray(pd.factorize(combined)[0], dtype=np.int64)
                bound = int(combined.max()) + 1
            combined = combined * len(values) + codes
            bound *= len(values)
        strata = np.asarray(pd.factorize(combined)[0], dtype=np.intp)
        # pandas numbers strata in order of first appearance, so these are their first members.
        first = pd.Series(strata).drop_duplicates().index.to_numpy()
        members = tuple(codes[first] for codes, _ in parts)
        counts = np.bincount(strata)
        occupied = np.arange(counts.size)
    table = pd.DataFrame(
        {
            name: values[member]
            for (_, values), member, name in zip(parts, members, names, strict=True)
        }
    )
    table["weight"] = table["weight"].astype(np.float64)
    return Strata(strata, table, tuple(by), counts[occupied].astype(np.float64))


class _Scratch:
    """Work arrays reused from one variable to the next: fresh 80 MB arrays per variable cost
    more in page faults than the arithmetic done in them."""

    def __init__(self, size: int) -> None:
        self.missing = np.empty(size, dtype=bool)
        self.filled = np.empty(size)
        self.squares = np.empty(size)


def stratum_sums(values: FloatArray, strata: Strata, scratch: _Scratch | None = None) -> FloatArray:
    """Per stratum: respondents with a value, sum of values and sum of squares (NaN skipped).

    Returns an array of shape ``(strata, 3)``.
    """
    work = _Scratch(values.size) if scratch is None else scratch
    missing = np.isnan(values, out=work.missing)
    filled = work.filled
    np.copyto(filled, values)
    filled[missing] = 0.0
    squares = np.multiply(filled, filled, out=work.squares)
    size = len(strata.table)
    # Few answers are missing, so counting them is cheaper than counting the answered ones.
    answered = strata.sizes - np.bincount(strata.codes[missing], minlength=size)
    return np.column_stack(
        [
            answered,
            np.bincount(strata.codes, weights=filled, minlength=size),
            np.bincount(strata.codes, weights=squares, minlength=size),
        ]
    )


def many_stratum_sums(
    variables: Sequence[FloatArray], strata: Strata, *, workers: int = 2
) -> list[FloatArray]:
    """:func:`stratum_sums` of many variables, split over ``workers`` threads.

    NumPy releases the GIL inside its array loops, so two threads use both cores of the
    reference machine; every sum is computed exactly as in one thread.
    """
    shares = [list(range(k, len(variables), workers)) for k in range(workers)]

    def run(positions: list[int]) -> list[FloatArray]:
        scratch = _Scratch(len(strata.codes))
        return [stratum_sums(variables[k], strata, scratch) for k in positions]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(run, shares))
    result: list[FloatArray] = [np.empty(0)] * len(variables)
    for positions, sums in zip(shares, done, strict=True):
        for k, value in zip(positions, sums, strict=True):
            result[k] = value
    return result


def z_value(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level in (0, 1)."""
    if not 0 < confidence < 1:
        raise InputError("survey.confidence_invalid", value=confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def grouped_means(
    sums: Mapping[tuple[str, str], FloatArray], strata: Strata, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Weighted mean of each variable per year, for the whole city and per grouping attribute.

    With weight ``w_s`` constant in stratum ``s`` and the stratum sums ``n_s, Σy, Σy²``, the
    group totals are ``W = Σ w_s n_s``, ``Σwy = Σ w_s Σy``, ``Σw² = Σ w_s² n_s`` and so on; the
    mean is ``ȳ = Σwy / W`` and its Taylor-linearised variance (respondents as drawn with
    replacement, Wolter 2007 ch. 6) is ``n/(n−1) · (Σw²y² − 2ȳ Σw²y + ȳ² Σw²) / W²`` — the same
    as :func:`cityloop.survey.weighting.weighted_mean`, summed in another order. The effective
    sample size is Kish's ``W² / Σw²``.

    Parameters
    ----------
    sums
        ``(kind, key)`` of each variable → its :func:`stratum_sums`.
    strata
        The strata the sums were taken over.
    confidence
        Nominal coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, key, year, group_by, group, value, se, low, high, n, n_eff``; whole-city
        rows have ``group_by = group = "*"``. Groups without answers are left out; a group of
        one respondent has a value but no interval (NaN).
    """
    z = z_value(confidence)
    table = strata.table
    weight = table["weight"].to_numpy(dtype=np.float64)
    names = list(sums)
    stacked = np.stack([sums[name] for name in names])  # (variables, strata, 3)
    # Weighted moments per stratum: Σw, Σwy, Σw², Σw²y, Σw²y², n.
    moments = np.concatenate(
        [
            stacked * weight[None, :, None],
            stacked * np.square(weight)[None, :, None],
            stacked[:, :, :1],
        ],
        axis=2,
    )[:, :, [0, 1, 3, 4, 5, 6]]
    frames = []
    for group_by in (ALL, *strata.by):
        labels = table[["year"]].assign(group=ALL if group_by == ALL else table[group_by])
        grouping = labels.groupby(["year", "group"], sort=True, dropna=False)
        codes = grouping.ngroup().to_numpy()
        groups = grouping.size().index.to_frame(index=False)
        # Sum the strata of each group: one grouped sum over a (strata × moments) table.
        flat = moments.transpose(1, 0, 2).reshape(len(table), -1)
        summed = pd.DataFrame(flat).groupby(codes).sum().to_numpy()
        totals = summed.reshape(len(groups), len(names), 6).transpose(1, 0, 2)
        frames.append(_estimates(totals, names, groups, group_by, z))
    return pd.concat(frames, ignore_index=True)


def _estimates(
    totals: FloatArray, names: list[tuple[str, str]], groups: pd.DataFrame, group_by: str, z: float
) -> pd.DataFrame:
    w, wy, w2, w2y, w2y2, n = np.moveaxis(totals, 2, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = wy / w
        squares = np.maximum(w2y2 - 2 * mean * w2y + mean * mean * w2, 0.0)
        variance = np.where(n > 1, n / (n - 1) * squares / (w * w), np.nan)
        n_eff = w * w / w2
    se = np.sqrt(variance)
    frame = pd.DataFrame(
        {
            "kind": np.repeat([k for k, _ in names], len(groups)),
            "key": np.repeat([key for _, key in names], len(groups)),
            "year": np.tile(groups["year"].to_numpy(), len(names)),
            "group_by": group_by,
            "group": np.tile(groups["group"].to_numpy(), len(names)),
            "value": mean.ravel(),
            "se": se.ravel(),
            "low": (mean - z * se).ravel(),
            "high": (mean + z * se).ravel(),
            "n": n.ravel().astype(np.int64),
            "n_eff": n_eff.ravel(),
        }
    )
    return frame[frame["n"] > 0].reset_index(drop=True)
