"""The array kernel of the difference-in-differences outcome estimate: stacked 2×2 contrasts,
placebo (Conley–Taber) and cluster-robust inference, vectorised over any leading batch axes.

Every function trusts its input (``outcomes.did_effect`` validates); arrays may carry leading
batch axes (e.g. simulation replications), so a whole Monte Carlo study is one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Contrast:
    """The stacked design: one row per (cohort, unit) pair taking part in a cohort's 2×2.

    ``cohort`` and ``unit`` are row labels (0-based, contiguous); ``unit`` is the cluster, so a
    not-yet-treated city serving as a control in one cohort and treated in a later one is one
    cluster. ``weight`` is each cohort's share of the treated units (sums to 1).
    """

    cohort: IntArray
    unit: IntArray
    treated: BoolArray
    weight: FloatArray

    @property
    def cell(self) -> IntArray:
        """Cell of each row: ``2 * cohort + treated`` (the cohort's control or treated group)."""
        return 2 * self.cohort + self.treated.astype(np.int64)

    @property
    def cell_size(self) -> IntArray:
        return np.bincount(self.cell, minlength=2 * self.weight.size)

    def coefficients(self) -> FloatArray:
        """Row weights c with estimate = x @ c: +w_g/n_treated(g) or −w_g/n_control(g)."""
        size = self.cell_size[self.cell]
        sign = np.where(self.treated, 1.0, -1.0)
        return sign * self.weight[self.cohort] / size


@dataclass(frozen=True)
class Inference:
    """Estimate, standard error, confidence interval and two-sided p-value (arrays over the
    leading batch axes); ``df`` is the t degrees of freedom (NaN for the placebo method)."""

    estimate: FloatArray
    std_error: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    p_value: FloatArray
    df: FloatArray


def unit_changes(values: FloatArray, pre: BoolArray, post: BoolArray) -> FloatArray:
    """Post-period mean minus pre-period mean of each unit: ``values`` is (..., units, years).

    On a balanced panel with one treatment date, the two-way fixed-effects coefficient on
    treated×post equals the treated minus control mean of these changes (the 2×2 formula).
    """
    change = values[..., post].mean(axis=-1) - values[..., pre].mean(axis=-1)
    return np.asarray(change, dtype=np.float64)


def pre_slopes(values: FloatArray, years: IntArray, pre: BoolArray) -> FloatArray:
    """The least-squares slope on year of each unit's pre-period values, per year."""
    t = years[pre].astype(np.float64)
    centred = t - t.mean()
    y = values[..., pre]
    slope = (y - y.mean(axis=-1, keepdims=True)) @ centred / float(centred @ centred)
    return np.asarray(slope, dtype=np.float64)


def placebo_count(contrast: Contrast) -> int:
    """How many distinct pseudo-treated assignments the controls allow (product over cohorts)."""
    size = contrast.cell_size.reshape(-1, 2)
    return math.prod(math.comb(int(c), int(t)) for c, t in size)


def placebo_subsets(contrast: Contrast, draws: int, seed: int) -> list[BoolArray]:
    """Per cohort, a (draws, n_controls) mask choosing as many pseudo-treated controls as the
    cohort has treated units. One cohort with one treated unit enumerates every control
    exactly (Conley & Taber 2011); otherwise ``draws`` random subsets from ``seed``."""
    size = contrast.cell_size.reshape(-1, 2)
    if size.shape[0] == 1 and size[0, 1] == 1:
        return [np.eye(int(size[0, 0]), dtype=np.bool_)]
    rng = np.random.default_rng(seed)
    subsets = []
    for n_controls, n_treated in size:  # one pass per cohort (delivery year), not per unit
        rank = rng.random((draws, int(n_controls))).argsort(axis=1).argsort(axis=1)
        subsets.append(rank < n_treated)
    return subsets


def placebo_inference(
    x: FloatArray, contrast: Contrast, subsets: list[BoolArray], confidence: float
) -> Inference:
    """Inference from the placebo distribution: each pseudo-treated set of controls is compared
    with the remaining controls exactly as the treated units are, and the spread of those
    placebo estimates stands in for the estimate's sampling error (Conley & Taber 2011).

    Valid with one or a handful of treated units, provided the controls' shocks are
    exchangeable with the treated units' (same variance); ``x`` is (..., rows).
    """
    estimate = x @ contrast.coefficients()
    placebo = np.zeros((*x.shape[:-1], subsets[0].shape[0]))
    for g, chosen in enumerate(subsets):  # a handful of cohorts; each is one matrix product
        rows = np.flatnonzero((contrast.cohort == g) & ~contrast.treated)
        n_pseudo = chosen.sum(axis=1, keepdims=True)
        pseudo = chosen / n_pseudo - ~chosen / (chosen.shape[1] - n_pseudo)
        placebo += contrast.weight[g] * (x[..., rows] @ pseudo.T)
    # The k-th smallest and k-th largest placebo estimates with k = ⌊(n + 1) α / 2⌋: under
    # exchangeability the true error falls beyond each with probability at most α / 2, where
    # interpolated quantiles of a few dozen placebos under-cover by several points.
    n = placebo.shape[-1]
    k = max(1, math.floor((n + 1) * (1.0 - confidence) / 2.0 + 1e-9))
    ordered = np.sort(placebo, axis=-1)
    lower, upper = ordered[..., k - 1], ordered[..., n - k]
    beyond = (np.abs(placebo) >= np.abs(estimate)[..., None]).sum(axis=-1)
    return Inference(
        estimate=estimate,
        std_error=placebo.std(axis=-1, ddof=1),
        ci_low=estimate - upper,
        ci_high=estimate - lower,
        p_value=(1.0 + beyond) / (1.0 + placebo.shape[-1]),
        df=np.full(estimate.shape, np.nan),
    )


def cluster_inference(x: FloatArray, contrast: Contrast, confidence: float) -> Inference:
    """Cluster-robust (by unit) inference for many treated units.

    The variance sums, per unit, its leverage-corrected residuals times its row weights
    (CR2 in the collapsed form of Bertrand, Duflo & Mullainathan 2004), so a unit used in
    several cohorts counts once; with one cohort this is Welch's variance. The t degrees of
    freedom are Welch–Satterthwaite over the cells, the Bell–McCaffrey correction for a
    binary regressor (Imbens & Kolesár 2016). Every cell needs at least two units.
    """
    cell, size = contrast.cell, contrast.cell_size
    c = contrast.coefficients()
    one_hot = np.eye(size.size)[cell]  # (rows, cells)
    cell_mean = (x @ one_hot) / size
    residual = (x - cell_mean @ one_hot.T) / np.sqrt(1.0 - 1.0 / size[cell])
    scored = c * residual
    by_unit = scored @ np.eye(int(contrast.unit.max()) + 1)[contrast.unit]
    variance = (by_unit**2).sum(axis=-1)
    by_cell = (scored**2) @ one_hot
    df = variance**2 / ((by_cell**2) / (size - 1)).sum(axis=-1)
    estimate = x @ c
    se = np.sqrt(variance)
    crit = stats.t.ppf(0.5 + confidence / 2.0, df)
    return Inference(
        estimate=estimate,
        std_error=se,
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        p_value=2.0 * stats.t.sf(np.abs(estimate) / se, df),
        df=np.asarray(df, dtype=np.float64),
    )
