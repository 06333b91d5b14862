"""Survey weighting: post-stratification, raking with trimming, design effect and weighted CIs.

Pure NumPy/pandas on one array per respondent attribute; no loops over respondents.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class RakingResult:
    """Raked weights and how the iteration ended.

    ``weights`` sum to the number of respondents ``n`` (mean weight 1), so they read as "how
    many respondents this one stands for, relative to an average respondent"; with trimming the
    sum is ``n`` up to ``max_error``. ``max_error`` is the largest absolute difference between a
    weighted sample share and its population share, over every category of every variable.
    """

    weights: FloatArray
    iterations: int
    converged: bool
    max_error: float


@dataclass(frozen=True)
class Estimate:
    """A weighted estimate with its confidence interval, respondents and effective sample size."""

    value: float
    low: float
    high: float
    n: int
    n_eff: float


def _position(mask: npt.NDArray[np.bool_]) -> int:
    """1-based position of the first flagged respondent, as users count rows."""
    return int(np.flatnonzero(mask)[0]) + 1


def _check_length(what: str, got: int, expected: int) -> None:
    if got != expected:
        raise InputError("survey.length_mismatch", what=what, got=got, expected=expected)


def _as_weights(weights: npt.ArrayLike, what: str = "weights") -> FloatArray:
    """Weights as a float vector; each must be positive and finite (Kish's formulas need it)."""
    array = np.asarray(weights, dtype=np.float64).ravel()
    if array.size == 0:
        raise InputError("survey.no_respondents")
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        first = _position(bad)
        raise InputError(
            "survey.weights_invalid", what=what, position=first, value=array[first - 1]
        )
    return array


def _shares(variable: str, population: Mapping[Any, float]) -> FloatArray:
    """Population counts or shares of one variable, normalised to shares summing to 1."""
    if not population:
        raise InputError("survey.population_empty", variable=variable)
    values = np.asarray(list(population.values()), dtype=np.float64)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        first = _position(bad) - 1
        raise InputError(
            "survey.population_invalid",
            variable=variable,
            category=list(population)[first],
            value=values[first],
        )
    shares: FloatArray = values / values.sum()
    return shares


def _codes(variable: str, labels: pd.Series[Any], categories: list[Hashable]) -> IntArray:
    """Index of each respondent's category in ``categories``; every category needs someone.

    A respondent in a category the population does not know, or a population category nobody
    answered in, makes the weights undefined (Holt & Smith 1979), so both are refused.
    """
    missing = labels.isna().to_numpy()
    if missing.any():
        raise InputError("survey.label_missing", variable=variable, position=_position(missing))
    codes = pd.Categorical(labels, categories=categories).codes.astype(np.intp)
    unknown = codes < 0
    if unknown.any():
        cells = sorted({str(v) for v in labels[unknown]})
        raise InputError(
            "survey.category_unknown",
            variable=variable,
            cells=", ".join(cells),
            known=", ".join(map(str, categories)),
        )
    counts = np.bincount(codes, minlength=len(categories))
    if (counts == 0).any():
        empty = [str(c) for c, k in zip(categories, counts, strict=True) if k == 0]
        raise InputError("survey.category_empty", variable=variable, cells=", ".join(empty))
    return codes


def post_stratify(
    cells: pd.Series[Any] | npt.ArrayLike, population: Mapping[Any, float]
) -> FloatArray:
    """Post-stratification weights: population share of a cell over its sample share.

    Parameters
    ----------
    cells
        The cell (stratum) label of each respondent, e.g. ``"district×age band"``.
    population
        Population count or share of every cell; normalised to shares.

    Returns
    -------
    numpy.ndarray
        One weight per respondent, summing to the number of respondents; the weighted cell
        shares equal the population shares exactly.

    Raises
    ------
    InputError
        A respondent without a cell or in a cell the population lacks, a population cell
        without respondents (merge it with a neighbour), or a non-positive population value.

    References
    ----------
    Holt, D. & Smith, T. M. F. (1979). Post stratification. *JRSS A* 142(1), 33–46.
    """
    labels = pd.Series(cells).reset_index(drop=True)
    if labels.empty:
        raise InputError("survey.no_respondents")
    target = _shares("cell", population)
    codes = _codes("cell", labels, list(population))
    sample = np.bincount(codes, minlength=target.size) / codes.size
    weights: FloatArray = (target / sample)[codes]
    return weights


def _validate_rake_settings(max_iter: int, tol: float, trim: tuple[float, float] | None) -> None:
    if max_iter < 1:
        raise InputError("survey.max_iter_invalid", value=max_iter)
    if not (np.isfinite(tol) and tol > 0):
        raise InputError("survey.tol_invalid", value=tol)
    if trim is not None:
        low, high = trim
        if not (0 <= low <= 1 <= high and low < high and np.isfinite(high)):
            raise InputError("survey.trim_invalid", low=low, high=high)


def rake(
    frame: pd.DataFrame,
    margins: Mapping[str, Mapping[Any, float]],
    base_weights: npt.ArrayLike | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-8,
    trim: tuple[float, float] | None = None,
) -> RakingResult:
    """Rake weights to population margins by iterative proportional fitting.

    Each iteration scales the weights so that the weighted sample matches the population
    distribution of each variable in turn (Deming & Stephan 1940); with ``trim=(lo, hi)`` the
    weights are then clipped to ``[lo, hi]`` × the mean weight (1) and raking continues, so
    the result both fits the margins and respects the bounds when that is possible
    (Kolenikov 2014, §2.3). Iteration stops when every weighted share is within ``tol`` of its
    target or after ``max_iter`` iterations; ``converged`` says which, never hidden.

    Parameters
    ----------
    frame
        One row per respondent, one column per weighting variable (district, age band, …).
    margins
        For each variable, the population count or share of every category; normalised per
        variable, so counts and shares give the same weights.
    base_weights
        Design weights to start from (default: all equal).
    max_iter
        Maximum number of full passes over the variables.
    tol
        Convergence threshold on the largest absolute share error.
    trim
        Bounds ``(lo, hi)`` relative to the mean weight, with ``0 ≤ lo ≤ 1 ≤ hi``.

    Returns
    -------
    RakingResult
        Weights summing to the number of respondents, iterations used, convergence flag and
        the final largest share error.

    Raises
    ------
    InputError
        No margins; a variable missing from ``frame``; a respondent without a category or in a
        category the margins lack; a margin category nobody answered in; non-positive
        population values or weights; invalid settings.

    References
    ----------
    Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency
    table when the expected marginal totals are known. *Ann. Math. Statist.* 11(4), 427–444.
    Kolenikov, S. (2014). Calibrating survey data using iterative proportional fitting
    (raking). *The Stata Journal* 14(1), 22–59.
    """
    _validate_rake_settings(max_iter, tol, trim)
    if not margins:
        raise InputError("survey.margins_empty")
    n = len(frame)
    if n == 0:
        raise InputError("survey.no_respondents")
    absent = [name for name in margins if name not in frame.columns]
    if absent:
        raise InputError(
            "survey.variable_unknown",
            variables=", ".join(map(str, absent)),
            known=", ".join(map(str, frame.columns)),
        )
    # Per variable: respondent codes and target shares (few variables, so a loop is fine).
    targets = [_shares(name, margins[name]) for name in margins]
    codes = [
        _codes(name, frame[name].reset_index(drop=True), list(margins[name])) for name in margins
    ]
    if base_weights is None:
        # Without design weights every respondent of one cross-classified cell gets the same
        # weight, so raking the table of occupied cells (with their counts) gives the same
        # weights as raking respondents, at a cost that does not grow with n.
        cells, cell_codes, counts = _occupied_cells(codes, [s.size for s in targets])
        cell_weights = _ipf(cell_codes, counts, targets, np.ones(counts.size), max_iter, tol, trim)
        return replace(cell_weights, weights=cell_weights.weights[cells])
    weights = _as_weights(base_weights, "base_weights")
    _check_length("base_weights", weights.size, n)
    return _ipf(codes, np.ones(n), targets, weights * (n / weights.sum()), max_iter, tol, trim)


def _occupied_cells(
    codes: list[IntArray], sizes: list[int]
) -> tuple[IntArray, list[IntArray], FloatArray]:
    """Each respondent's cell, each occupied cell's category codes and its respondent count."""
    key = np.ravel_multi_index(codes, sizes) if len(codes) > 1 else codes[0]
    cells, occupied = pd.factorize(key)
    counts = np.bincount(cells, minlength=occupied.size).astype(np.float64)
    cell_codes = [np.asarray(c, dtype=np.intp) for c in np.unravel_index(occupied, sizes)]
    return cells.astype(np.intp), cell_codes, counts


def _ipf(
    codes: list[IntArray],
    counts: FloatArray,
    targets: list[FloatArray],
    weights: FloatArray,
    max_iter: int,
    tol: float,
    trim: tuple[float, float] | None,
) -> RakingResult:
    """Iterative proportional fitting of units that each stand for ``counts`` respondents."""
    n = counts.sum()

    def largest_error(w: FloatArray) -> float:
        total = (w * counts).sum()
        return max(
            float(np.abs(np.bincount(c, weights=w * counts, minlength=s.size) / total - s).max())
            for c, s in zip(codes, targets, strict=True)
        )

    error = largest_error(weights)
    iterations = 0
    while iterations < max_iter and error > tol:
        iterations += 1
        for c, s in zip(codes, targets, strict=True):
            totals = np.bincount(c, weights=weights * counts, minlength=s.size)
            weights = weights * (s * n / totals)[c]
        if trim is not None:
            weights = np.clip(weights, trim[0], trim[1])
        error = largest_error(weights)
    return RakingResult(weights, iterations, error <= tol, error)


def design_effect(weights: npt.ArrayLike) -> float:
    """Kish's design effect of unequal weighting, ``n·Σw² / (Σw)²`` (≥ 1, = 1 iff equal).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*, §11.7. Wiley.
    """
    w = _as_weights(weights)
    return float(w.size * np.square(w).sum() / np.square(w.sum()))


def effective_sample_size(weights: npt.ArrayLike) -> float:
    """Kish's effective sample size ``n / deff = (Σw)² / Σw²`` (≤ n).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*, §11.7. Wiley.
    """
    w = _as_weights(weights)
    return float(np.square(w.sum()) / np.square(w).sum())


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InputError("survey.confidence_invalid", value=confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def weighted_share(
    indicator: npt.ArrayLike, weights: npt.ArrayLike, *, confidence: float = 0.95
) -> Estimate:
    """A weighted proportion with a Wilson interval on the effective sample size.

    The share is ``Σw·x / Σw``; the interval is Wilson's score interval with ``n`` replaced by
    Kish's effective sample size, which keeps it inside [0, 1] and sensible near 0 and 1.

    Parameters
    ----------
    indicator
        True (or 1) for each respondent who has the property, False (or 0) otherwise.
    weights
        Positive weight of each respondent.
    confidence
        Nominal coverage of the interval, in (0, 1).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22(158), 209–212. Kish, L. (1965). *Survey Sampling*, §11.7. Wiley.
    """
    z = _z(confidence)
    w = _as_weights(weights)
    x = np.asarray(indicator).ravel()
    _check_length("indicator", x.size, w.size)
    if x.dtype != np.bool_:
        not_binary = ~np.isin(x, (0, 1))
        if not_binary.any():
            first = _position(not_binary)
            raise InputError("survey.indicator_invalid", position=first, value=x[first - 1])
    p = float(w[x.astype(bool)].sum() / w.sum())
    n_eff = effective_sample_size(w)
    z2n = z * z / n_eff
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n_eff + z2n / (4 * n_eff))
    # The exact interval contains p; rounding at p ∈ {0, 1} must not push a bound past it.
    low = min(max(centre - half, 0.0), p)
    high = max(min(centre + half, 1.0), p)
    return Estimate(p, float(low), float(high), int(w.size), n_eff)


def weighted_mean(
    values: npt.ArrayLike, weights: npt.ArrayLike, *, confidence: float = 0.95
) -> Estimate:
    """A weighted mean with a normal interval from the linearised variance of the ratio.

    The mean ``ȳ = Σw·y / Σw`` is a ratio estimator; its Taylor-linearised variance, treating
    respondents as drawn with replacement, is ``n/(n−1) · Σ w²(y − ȳ)² / (Σw)²``. The
    interval is ``ȳ ± z·√v``.

    Parameters
    ----------
    values
        Finite value of each respondent (e.g. a 0–10 satisfaction score).
    weights
        Positive weight of each respondent.
    confidence
        Nominal coverage of the interval, in (0, 1).

    Raises
    ------
    InputError
        Fewer than two respondents, non-finite values, bad weights or mismatched lengths.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 6. Springer.
    Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed., §9.1. CRC Press.
    """
    z = _z(confidence)
    w = _as_weights(weights)
    y = np.asarray(values, dtype=np.float64).ravel()
    _check_length("values", y.size, w.size)
    bad = ~np.isfinite(y)
    if bad.any():
        first = _position(bad)
        raise InputError("survey.values_invalid", position=first, value=y[first - 1])
    n = w.size
    if n < 2:
        raise InputError("survey.too_few_for_mean", n=n)
    total = w.sum()
    mean = float((w * y).sum() / total)
    variance = n / (n - 1) * float((np.square(w * (y - mean))).sum()) / total**2
    half = z * np.sqrt(variance)
    return Estimate(mean, mean - half, mean + half, n, effective_sample_size(w))
