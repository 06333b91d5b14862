"""Indicator weights: expert judgments (AHP) and data-driven weights (entropy, CRITIC, PCA).

Pure NumPy kernels. Data-driven weights take normalised values ``x`` (observations ×
indicators, in [0, 1], higher is better, NaN = missing) and ``groups[j]``, the parent node of
indicator j, and return weights that are non-negative and sum to one within every group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from cityloop.errors import MethodError
from cityloop.i18n import t

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Saaty's random consistency index RI(n): the mean CI of random reciprocal matrices on the
# 1–9 scale. Saaty (1980) *The Analytic Hierarchy Process*, McGraw-Hill, table of R.I.;
# reprinted in Saaty (2012) *Decision Making for Leaders*, 3rd ed., RWS Publications.
SAATY_RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
RECIPROCAL_TOLERANCE = 1e-6  # relative: |a_ij · a_ji − 1| and |a_ii − 1| may not exceed it
RANGE_SLACK = 1e-9  # normalised values this far outside [0, 1] are rounding, clipped back
NEGLIGIBLE = 1e-12  # a divergence, conflict or eigenvalue gap below this is rounding noise
PAIR_VARIANCE_FLOOR = 1e-10  # pairwise variance below this share of the sum of squares is 0


@dataclass(frozen=True)
class AHPResult:
    """Priorities of one judgment matrix and how consistent the judgments were."""

    weights: FloatArray
    lambda_max: float
    consistency_index: float
    consistency_ratio: float
    n: int


@dataclass(frozen=True)
class _Reason:
    """A catalogue entry translated when the error is rendered, in the language of that moment."""

    key: str
    params: dict[str, object]

    def __format__(self, spec: str) -> str:
        return format(t(self.key, **self.params), spec)

    def __str__(self) -> str:
        return t(self.key, **self.params)


def _bad_matrix(reason_key: str, **params: object) -> MethodError:
    return MethodError("ahp.bad_matrix", reason=_Reason(reason_key, params))


def validate_judgment_matrix(matrix: ArrayLike) -> FloatArray:
    """Check that ``matrix`` is a pairwise-comparison (judgment) matrix and return it as floats.

    A judgment matrix is square, finite and positive, has a unit diagonal and is reciprocal:
    ``a[j, i] == 1 / a[i, j]`` within a relative tolerance of 1e-6 (Saaty 1977, §2).

    Raises
    ------
    MethodError
        ``ahp.bad_matrix`` with a translated ``reason`` naming the first faulty cell (1-based).
    """
    try:
        a = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise _bad_matrix("ahp.reason.not_numeric") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise _bad_matrix("ahp.reason.not_square", shape="×".join(map(str, a.shape)))
    if not np.isfinite(a).all():
        raise _bad_matrix("ahp.reason.not_finite")
    if (a <= 0).any():
        row, col = np.argwhere(a <= 0)[0]
        raise _bad_matrix("ahp.reason.not_positive", row=row + 1, column=col + 1, value=a[row, col])
    off_diagonal = np.abs(np.diag(a) - 1.0) > RECIPROCAL_TOLERANCE
    if off_diagonal.any():
        i = int(np.argmax(off_diagonal))
        raise _bad_matrix("ahp.reason.bad_diagonal", index=i + 1, value=a[i, i])
    broken = np.abs(a * a.T - 1.0) > RECIPROCAL_TOLERANCE
    if broken.any():
        row, col = np.argwhere(np.triu(broken))[0]
        raise _bad_matrix(
            "ahp.reason.not_reciprocal",
            row=row + 1,
            column=col + 1,
            value=a[row, col],
            mirror=a[col, row],
        )
    return a


def combine_judgments(matrices: Sequence[ArrayLike]) -> FloatArray:
    """Merge several experts' judgment matrices by the element-wise geometric mean.

    The geometric mean is the only synthesis of ratio judgments that keeps the result
    reciprocal (Aczél & Saaty 1983, "Procedures for synthesizing ratio judgements",
    *J. Math. Psychology* 27(1), 93–102). The mean of the logarithms is antisymmetrised, so
    the result is reciprocal to rounding even when the inputs were only reciprocal to 1e-6.

    Raises
    ------
    MethodError
        ``ahp.no_judgments`` for an empty sequence, ``ahp.expert_matrix`` when one matrix is
        invalid, ``ahp.shape_mismatch`` when the matrices differ in size.
    """
    if len(matrices) == 0:
        raise MethodError("ahp.no_judgments")
    checked: list[FloatArray] = []
    for k, matrix in enumerate(matrices):  # one per expert: a handful, each validated alone
        try:
            checked.append(validate_judgment_matrix(matrix))
        except MethodError as exc:
            raise MethodError("ahp.expert_matrix", expert=k + 1, **exc.params) from exc
        if checked[-1].shape != checked[0].shape:
            raise MethodError(
                "ahp.shape_mismatch",
                expert=k + 1,
                size=checked[-1].shape[0],
                expected=checked[0].shape[0],
            )
    mean_log = np.log(np.stack(checked)).mean(axis=0)
    combined: FloatArray = np.exp((mean_log - mean_log.T) / 2.0)
    return combined


def ahp_weights(matrix: ArrayLike, *, max_cr: float = 0.1, force: bool = False) -> AHPResult:
    """Priority weights of a judgment matrix by Saaty's principal-eigenvector method.

    The weights are the right eigenvector of the Perron root λmax (the largest real
    eigenvalue), normalised to sum to one. Consistency: CI = (λmax − n)/(n − 1) and
    CR = CI / RI(n) with Saaty's random index (:data:`SAATY_RANDOM_INDEX`); any 1×1 or 2×2
    reciprocal matrix is consistent, so CR = 0 there.

    Parameters
    ----------
    matrix
        Square, positive, reciprocal judgment matrix of size n ≤ 15.
    max_cr
        Largest acceptable consistency ratio; Saaty's rule of thumb is 0.1.
    force
        Return the weights even when CR exceeds ``max_cr``.

    Raises
    ------
    MethodError
        ``ahp.bad_matrix`` (see :func:`validate_judgment_matrix`), ``ahp.too_large`` when
        n > 15, ``ahp.inconsistent`` when CR > ``max_cr`` and not ``force``.

    References
    ----------
    Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures.
    *J. Math. Psychology* 15(3), 234–281. Saaty, T. L. (2008). Decision making with the
    analytic hierarchy process. *Int. J. Services Sciences* 1(1), 83–98.
    """
    a = validate_judgment_matrix(matrix)
    n = a.shape[0]
    if n > max(SAATY_RANDOM_INDEX):
        raise MethodError("ahp.too_large", n=n, max_n=max(SAATY_RANDOM_INDEX))
    eigenvalues, eigenvectors = np.linalg.eig(a)
    perron = int(np.argmax(eigenvalues.real))
    # The Perron vector has one sign; abs() removes the arbitrary sign eig() returns.
    vector = np.abs(eigenvectors[:, perron].real)
    weights = vector / vector.sum()
    weights.setflags(write=False)
    lambda_max = float(eigenvalues[perron].real)
    # λmax ≥ n for every positive reciprocal matrix (Saaty 1977, thm. 1); below is rounding.
    ci = max(lambda_max - n, 0.0) / (n - 1) if n > 1 else 0.0
    ri = SAATY_RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    if cr > max_cr and not force:
        raise MethodError("ahp.inconsistent", cr=cr, max_cr=max_cr, n=n)
    return AHPResult(
        weights=weights, lambda_max=lambda_max, consistency_index=ci, consistency_ratio=cr, n=n
    )


# --- data-driven weights -------------------------------------------------------------------


def _prepare(x: FloatArray, groups: IntArray) -> tuple[FloatArray, BoolArray, IntArray, int]:
    """Check the shapes and range; return values clipped to [0, 1], the observed mask, the
    group of each indicator renumbered 0..G−1, and G."""
    values = np.asarray(x, dtype=np.float64)
    parents = np.asarray(groups)
    if values.ndim != 2:
        raise MethodError("weights.bad_shape", shape="×".join(map(str, values.shape)))
    if (
        parents.ndim != 1
        or parents.shape[0] != values.shape[1]
        or not np.issubdtype(parents.dtype, np.integer)
    ):
        raise MethodError(
            "weights.bad_groups",
            expected=values.shape[1],
            got=f"{'×'.join(map(str, parents.shape))} ({parents.dtype})",
        )
    observed = ~np.isnan(values)
    outside = observed & ((values < -RANGE_SLACK) | (values > 1.0 + RANGE_SLACK))
    if outside.any():
        raise MethodError(
            "weights.out_of_range",
            count=int(outside.sum()),
            low=float(np.nanmin(values)),
            high=float(np.nanmax(values)),
        )
    _, inverse = np.unique(parents, return_inverse=True)
    inverse = inverse.astype(np.int64).reshape(-1)
    n_groups = int(inverse.max()) + 1 if inverse.size else 0
    return np.clip(values, 0.0, 1.0), observed, inverse, n_groups


def _share_within_groups(score: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """score / (sum of score in its group); a group whose scores are all 0 gets equal weights."""
    total = np.bincount(group, weights=score, minlength=n_groups)[group]
    size = np.bincount(group, minlength=n_groups)[group]
    return np.where(total > 0, score / np.where(total > 0, total, 1.0), 1.0 / size)


def _varies(values: FloatArray, observed: BoolArray) -> BoolArray:
    """Columns with at least two distinct observed values (order-independent, exact test)."""
    low = np.min(np.where(observed, values, np.inf), axis=0, initial=np.inf)
    high = np.max(np.where(observed, values, -np.inf), axis=0, initial=-np.inf)
    varies: BoolArray = high > low
    return varies


def _centred(values: FloatArray, observed: BoolArray) -> FloatArray:
    """Observed values minus their column mean, 0 where missing.

    Each column is first shifted to start at its minimum, so the mean and the deviations are
    computed at the scale of the column's own spread: a nearly constant column keeps its
    variation instead of losing it to cancellation, and a constant column is exactly 0.
    """
    low = np.min(np.where(observed, values, np.inf), axis=0, initial=np.inf)
    shifted = np.where(observed, values - np.where(np.isfinite(low), low, 0.0), 0.0)
    mean = shifted.sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
    return np.where(observed, shifted - mean, 0.0)


def _pairwise_correlation(centred: FloatArray, observed: BoolArray) -> FloatArray:
    """Pearson correlation of every pair of columns over the rows where both are observed.

    Computed for all pairs at once from masked cross-products (pairwise deletion, as
    ``pandas.DataFrame.corr`` does). Undefined correlations — fewer than two common rows, or
    a column constant on them — are 0; the diagonal is 1 for columns that vary, else 0.
    """
    m = observed.astype(np.float64)
    pairs = m.T @ m
    safe_pairs = np.maximum(pairs, 1.0)
    sums = centred.T @ m  # [j, k]: sum of column j over the rows where k is observed too
    squares = (centred * centred).T @ m
    variance = squares - sums * sums / safe_pairs
    covariance = centred.T @ centred - sums * sums.T / safe_pairs
    # A single common row gives variance exactly 0, so "defined" also means two or more rows.
    defined = variance > PAIR_VARIANCE_FLOOR * squares
    defined &= defined.T
    spread = np.sqrt(np.maximum(variance, 0.0))
    denominator = np.where(defined, spread * spread.T, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # spreads so small they underflow
        r = np.clip(np.where(defined & (denominator > 0), covariance / denominator, 0.0), -1.0, 1.0)
    np.fill_diagonal(r, np.diag(defined).astype(np.float64))
    return r


def entropy_weights(x: FloatArray, groups: IntArray) -> FloatArray:
    """Shannon entropy weights: indicators that separate the observations more weigh more.

    For indicator j with n_j observed values, p_ij = x_ij / Σ_i x_ij,
    e_j = −(1 / ln n_j) Σ_i p_ij ln p_ij (with 0 ln 0 = 0), d_j = 1 − e_j and
    w_j = d_j / Σ_{k in group} d_k. An indicator that is constant, all zero or observed
    fewer than twice has d_j = 0; d_j below 1e-12 (a coefficient of variation below about
    1e-6) is rounding noise and counts as 0. A group whose d are all 0 gets equal weights,
    so a one-indicator group gets weight 1.

    d_j is computed as the divergence from the uniform distribution, Σ p ln(n_j p) / ln n_j,
    which equals 1 − e_j without subtracting two numbers close to one.

    References
    ----------
    Shannon, C. E. (1948). A mathematical theory of communication. *Bell Syst. Tech. J.* 27.
    Zou, Z., Yun, Y., Sun, J. (2006). Entropy method for determination of weight of
    evaluating indicators in fuzzy synthetic evaluation for water quality assessment.
    *J. Environmental Sciences* 18(5), 1020–1023. Zhu, Y., Tian, D., Yan, F. (2020).
    Effectiveness of entropy weight method in decision-making. *Math. Problems in
    Engineering* 2020, 3564835.
    """
    values, observed, group, n_groups = _prepare(x, groups)
    count = observed.sum(axis=0)
    filled = np.where(observed, values, 0.0)
    total = filled.sum(axis=0)
    informative = _varies(values, observed)  # implies two or more values and a positive total
    p = filled / np.where(total > 0, total, 1.0)
    n_p = p * count
    terms = np.where(n_p > 0, p * np.log(np.where(n_p > 0, n_p, 1.0)), 0.0)
    log_n = np.log(np.where(count >= 2, count, 2))
    divergence = np.where(informative, terms.sum(axis=0) / log_n, 0.0)
    divergence = np.where(divergence > NEGLIGIBLE, divergence, 0.0)
    return _share_within_groups(divergence, group, n_groups)


def critic_weights(x: FloatArray, groups: IntArray) -> FloatArray:
    """CRITIC weights: contrast (standard deviation) times conflict with sibling indicators.

    C_j = σ_j Σ_{k in group} (1 − r_jk) and w_j = C_j / Σ_{k in group} C_k, where σ_j is the
    population standard deviation of the observed values and r_jk the Pearson correlation
    over the observations where both j and k are present (undefined correlations count as 0).
    Correlations are taken among indicators of the same group only, because CRITIC weighs
    rivals for the same parent. A constant indicator has σ = 0 and weight 0; a total conflict
    below 1e-12 is rounding noise and counts as 0; a group whose C are all 0 (all constant,
    perfectly correlated, or a single indicator) gets equal weights.

    References
    ----------
    Diakoulaki, D., Mavrotas, G., Papayannakis, L. (1995). Determining objective weights in
    multiple criteria problems: the CRITIC method. *Computers & Operations Research* 22(7),
    763–770.
    """
    values, observed, group, n_groups = _prepare(x, groups)
    centred = _centred(values, observed)
    sigma = np.sqrt((centred * centred).sum(axis=0) / np.maximum(observed.sum(axis=0), 1))
    r = _pairwise_correlation(centred, observed)
    same_group = group[:, None] == group[None, :]
    conflict = np.where(same_group, 1.0 - r, 0.0).sum(axis=1)
    # Perfectly correlated siblings leave only rounding noise in 1 − r: no conflict at all.
    conflict = np.where(conflict > NEGLIGIBLE, conflict, 0.0)
    return _share_within_groups(sigma * conflict, group, n_groups)


def _group_blocks(group: IntArray, n_groups: int) -> list[IntArray]:
    """Indicator indices of every group with two or more members, stacked by group size:
    one (groups of that size, size) array per distinct size."""
    order = np.argsort(group, kind="stable")
    size = np.bincount(group, minlength=n_groups)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    return [order[start[size == s][:, None] + np.arange(s)] for s in np.unique(size[size > 1])]


def pca_weights(x: FloatArray, groups: IntArray) -> FloatArray:
    """PCA weights: squared loadings of each group's first principal component.

    Within each group, the first principal component of the (pairwise-complete) correlation
    matrix is found; an indicator's weight is its squared loading scaled so the group sums
    to one, which is the squared entry of the unit eigenvector (OECD/JRC 2008, §6.1). The
    sign of the component does not matter. Constant indicators are left out (weight 0).
    When the largest eigenvalue is repeated — e.g. uncorrelated indicators — the first
    component is not identified; the weight is then the mean squared entry over that
    eigenspace, which does not depend on the basis chosen (equal weights for an identity
    matrix). A one-indicator group gets weight 1.

    Eigendecompositions are batched: one ``numpy.linalg.eigh`` call per distinct group size.

    References
    ----------
    OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User
    Guide*, §6.1 "Weights based on principal components analysis or factor analysis".
    Nicoletti, G., Scarpetta, S., Boylaud, O. (2000). Summary indicators of product market
    regulation. OECD Economics Department Working Papers 226.
    """
    values, observed, group, n_groups = _prepare(x, groups)
    r = _pairwise_correlation(_centred(values, observed), observed)
    score = np.zeros(values.shape[1])
    for members in _group_blocks(group, n_groups):  # one batch per distinct group size
        block = r[members[:, :, None], members[:, None, :]]
        eigenvalues, eigenvectors = np.linalg.eigh(block)  # ascending eigenvalues
        top = eigenvalues[:, -1:]
        tied = top - eigenvalues <= NEGLIGIBLE * np.maximum(np.abs(top), 1.0)
        squared = (eigenvectors**2 * tied[:, None, :]).sum(axis=2)
        score[members] = squared / tied.sum(axis=1, keepdims=True)
    return _share_within_groups(score, group, n_groups)
