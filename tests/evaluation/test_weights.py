"""Tests for cityloop.evaluation.weights: AHP against published figures, the data-driven
methods against hand computations and naive reference implementations, and properties."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from cityloop.errors import MethodError
from cityloop.evaluation.weights import (
    SAATY_RANDOM_INDEX,
    ahp_weights,
    combine_judgments,
    critic_weights,
    entropy_weights,
    pca_weights,
    validate_judgment_matrix,
)
from cityloop.i18n import t, use_language
from tests.strategies import (
    FloatArray,
    IntArray,
    judgment_matrices,
    normalised_data,
    positive_vectors,
)

WeightFn = Callable[[FloatArray, IntArray], FloatArray]
DATA_DRIVEN: list[WeightFn] = [entropy_weights, critic_weights, pca_weights]


# --- AHP -----------------------------------------------------------------------------------


def test_drinks_example_of_saaty_2008() -> None:
    """Saaty, T. L. (2008). Decision making with the analytic hierarchy process. *Int. J.
    Services Sciences* 1(1), 83–98, Table 2 "Which drink is consumed more in the U.S.?".

    Published derived scale: coffee .177, wine .019, tea .042, beer .116, sodas .190,
    milk .129, water .327, consistency ratio .022 (Saaty's RI(7) = 1.32). The same figures
    are reproduced by the AHPy test suite (PhilipGriffith/AHPy, tests/test_ahp.py).
    """
    # rows/columns: coffee, wine, tea, beer, sodas, milk, water
    drinks = [
        [1, 9, 5, 2, 1, 1, 1 / 2],
        [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
        [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
        [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
        [1, 9, 4, 2, 1, 2, 1 / 2],
        [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
        [2, 9, 9, 3, 2, 3, 1],
    ]
    result = ahp_weights(drinks)
    published = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert_allclose(result.weights, published, atol=5e-4)
    assert result.consistency_ratio == pytest.approx(0.022, abs=5e-4)
    assert result.n == 7
    assert result.consistency_index == pytest.approx((result.lambda_max - 7) / 6, abs=1e-12)


def test_three_by_three_eigenvector_equals_row_geometric_mean() -> None:
    """For n = 3 the principal eigenvector coincides with the normalised geometric means of
    the rows (Crawford & Williams 1985, *J. Math. Psychology* 29, 387–405), an independent
    check of the eigen-solver. Figures for this matrix: w = (0.157, 0.594, 0.249),
    λmax = 3.054, CI = 0.027, CR = 0.027 / 0.58 = 0.046."""
    a = np.array([[1, 1 / 3, 1 / 2], [3, 1, 3], [2, 1 / 3, 1]])
    geometric = np.prod(a, axis=1) ** (1 / 3)
    result = ahp_weights(a)
    assert_allclose(result.weights, geometric / geometric.sum(), rtol=1e-12)
    assert_allclose(result.weights, [0.157, 0.594, 0.249], atol=5e-4)
    assert result.lambda_max == pytest.approx(3.054, abs=5e-4)
    assert result.consistency_ratio == pytest.approx(0.046, abs=5e-4)


def test_consistent_matrix_recovers_generating_weights_with_cr_zero() -> None:
    w = np.array([0.4, 0.3, 0.2, 0.1])
    a = np.outer(w, 1 / w)  # a_ij = w_i / w_j: perfectly consistent
    result = ahp_weights(a)
    assert_allclose(result.weights, w, rtol=1e-12)
    assert result.lambda_max == pytest.approx(4.0, abs=1e-12)
    assert result.consistency_index == pytest.approx(0.0, abs=1e-12)
    assert result.consistency_ratio == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("matrix", "expected"), [([[1.0]], [1.0]), ([[1, 3], [1 / 3, 1]], [0.75, 0.25])]
)
def test_one_and_two_items_are_always_consistent(
    matrix: list[list[float]], expected: list[float]
) -> None:
    result = ahp_weights(matrix, max_cr=0.0)
    assert_allclose(result.weights, expected, rtol=1e-12)
    assert result.consistency_ratio == 0.0


def test_weights_are_read_only() -> None:
    with pytest.raises(ValueError, match="read-only"):
        ahp_weights([[1, 2], [0.5, 1]]).weights[0] = 0.0


CYCLIC = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]  # a ≻ b ≻ c ≻ a, all "extreme"


def test_inconsistent_matrix_is_refused() -> None:
    # λmax = 1 + 9 + 1/9 = 10.111 (circulant), CI = 3.556, CR = 3.556 / 0.58 = 6.130
    with pytest.raises(MethodError) as caught:
        ahp_weights(CYCLIC)
    assert caught.value.key == "ahp.inconsistent"
    assert caught.value.params["cr"] == pytest.approx(6.130, abs=5e-4)
    assert caught.value.params["max_cr"] == 0.1
    with use_language("en"):
        assert "CR = 6.130" in str(caught.value)
    with use_language("zh-CN"):
        assert "一致性比率" in str(caught.value)


def test_force_returns_inconsistent_weights() -> None:
    result = ahp_weights(CYCLIC, force=True)
    assert result.consistency_ratio == pytest.approx(6.130, abs=5e-4)
    assert_allclose(result.weights, [1 / 3, 1 / 3, 1 / 3], rtol=1e-12)  # symmetric cycle


def test_max_cr_threshold_is_inclusive_and_adjustable() -> None:
    a = [[1, 1 / 3, 1 / 2], [3, 1, 3], [2, 1 / 3, 1]]  # CR = 0.046
    assert ahp_weights(a, max_cr=0.05).consistency_ratio < 0.05
    with pytest.raises(MethodError, match=r"0\.046|CR"):
        ahp_weights(a, max_cr=0.04)


def test_more_than_fifteen_items_is_refused() -> None:
    with pytest.raises(MethodError) as caught:
        ahp_weights(np.ones((16, 16)))
    assert caught.value.key == "ahp.too_large"
    assert len(SAATY_RANDOM_INDEX) == 15


def test_random_index_table_is_saatys() -> None:
    assert [SAATY_RANDOM_INDEX[n] for n in range(1, 16)] == [
        0.0,
        0.0,
        0.58,
        0.90,
        1.12,
        1.24,
        1.32,
        1.41,
        1.45,
        1.49,
        1.51,
        1.48,
        1.56,
        1.57,
        1.59,
    ]


@pytest.mark.parametrize(
    ("matrix", "fragment"),
    [
        ([[1, 2, 3], [0.5, 1, 1]], "2×3"),
        ([[1, 2], [0.5]], "number"),
        ([[1, -2], [-0.5, 1]], "row 1, column 2"),
        ([[1, 0], [0, 1]], "not positive"),
        ([[1, np.nan], [np.nan, 1]], "missing"),
        ([[2, 2], [0.5, 1]], "diagonal entry 1"),
        ([[1, 2], [0.6, 1]], "mirrored entry is 0.6"),
        ([], "shape"),
    ],
)
def test_invalid_matrices_are_refused_with_a_reason(matrix: object, fragment: str) -> None:
    with pytest.raises(MethodError) as caught:
        validate_judgment_matrix(matrix)  # type: ignore[arg-type]
    assert caught.value.key == "ahp.bad_matrix"
    with use_language("en"):
        assert fragment in str(caught.value)


def test_reciprocity_tolerance_is_relative_1e6() -> None:
    assert validate_judgment_matrix([[1, 4], [0.25 * (1 + 5e-7), 1]]).shape == (2, 2)
    with pytest.raises(MethodError):
        validate_judgment_matrix([[1, 4], [0.25 * (1 + 5e-6), 1]])


def test_combine_two_experts_by_geometric_mean() -> None:
    a = [[1, 2, 8], [1 / 2, 1, 4], [1 / 8, 1 / 4, 1]]
    b = [[1, 8, 2], [1 / 8, 1, 1 / 4], [1 / 2, 4, 1]]
    # by hand: (1,2) √(2·8) = 4, (1,3) √(8·2) = 4, (2,3) √(4·¼) = 1; lower triangle reciprocal
    expected = [[1, 4, 4], [1 / 4, 1, 1], [1 / 4, 1, 1]]
    combined = combine_judgments([a, b])
    assert_allclose(combined, expected, rtol=1e-12)
    assert_allclose(combined * combined.T, np.ones((3, 3)), rtol=1e-12)
    # the combined matrix happens to be consistent: weights (2/3, 1/6, 1/6), CR 0
    result = ahp_weights(combined)
    assert_allclose(result.weights, [2 / 3, 1 / 6, 1 / 6], rtol=1e-12)
    assert result.consistency_ratio == pytest.approx(0.0, abs=1e-12)


def test_combine_errors_name_the_expert() -> None:
    with pytest.raises(MethodError) as empty:
        combine_judgments([])
    assert empty.value.key == "ahp.no_judgments"
    with pytest.raises(MethodError) as bad:
        combine_judgments([[[1, 2], [0.5, 1]], [[1, 2], [2, 1]]])
    assert bad.value.key == "ahp.expert_matrix"
    assert bad.value.params["expert"] == 2
    with pytest.raises(MethodError) as mismatch:
        combine_judgments([[[1, 2], [0.5, 1]], np.ones((3, 3))])
    assert mismatch.value.key == "ahp.shape_mismatch"


@given(positive_vectors(min_size=1, max_size=15))
def test_consistent_matrix_property(w: np.ndarray) -> None:
    result = ahp_weights(np.outer(w, 1 / w))
    assert_allclose(result.weights, w / w.sum(), rtol=1e-9, atol=1e-12)
    assert result.consistency_ratio == pytest.approx(0.0, abs=1e-9)


@given(judgment_matrices(), st.integers(min_value=1, max_value=5))
def test_combine_identical_matrices_returns_the_matrix(a: np.ndarray, copies: int) -> None:
    assert_allclose(combine_judgments([a] * copies), a, rtol=1e-12)


@given(st.lists(judgment_matrices(min_n=4, max_n=4), min_size=1, max_size=6))
def test_combined_matrix_is_a_valid_judgment_matrix(matrices: list[np.ndarray]) -> None:
    combined = combine_judgments(matrices)
    assert_allclose(combined * combined.T, np.ones((4, 4)), rtol=1e-12)
    validate_judgment_matrix(combined)
    weights = ahp_weights(combined, force=True).weights
    assert (weights > 0).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)


# --- entropy -------------------------------------------------------------------------------

# Three observations × three indicators, one group.
#   A = (0, .5, 1): Σ = 1.5, p = (0, 1/3, 2/3), −Σ p ln p = 0.366204 + 0.270310 = 0.636514,
#       e = 0.636514 / ln 3 = 0.579380, d = 0.420620
#   B = (.2, .2, .2): constant, e = 1, d = 0
#   C = (1, 1, .5): Σ = 2.5, p = (.4, .4, .2), −Σ p ln p = 0.733033 + 0.321888 = 1.054920,
#       e = 1.054920 / ln 3 = 0.960230, d = 0.039770
#   Σ d = 0.460390 → w = (0.913616, 0, 0.086384)
ENTROPY_X = np.array([[0.0, 0.2, 1.0], [0.5, 0.2, 1.0], [1.0, 0.2, 0.5]])


def test_entropy_hand_computed() -> None:
    w = entropy_weights(ENTROPY_X, np.zeros(3, dtype=np.int64))
    assert_allclose(w, [0.913616, 0.0, 0.086384], atol=1e-6)


def test_entropy_uses_observed_values_only() -> None:
    # C's middle value missing: n_C = 2, p = (2/3, 1/3), e = 0.636514 / ln 2 = 0.918296,
    # d = 0.081704; A unchanged (d = 0.420620) → w = (0.837348, 0, 0.162652)
    x = ENTROPY_X.copy()
    x[1, 2] = np.nan
    w = entropy_weights(x, np.zeros(3, dtype=np.int64))
    assert_allclose(w, [0.837348, 0.0, 0.162652], atol=1e-6)


def test_entropy_groups_constant_and_single() -> None:
    # groups: {A, B} and {C}; B constant → A takes all of its group; C alone → 1
    w = entropy_weights(ENTROPY_X, np.array([5, 5, 9]))
    assert_allclose(w, [1.0, 0.0, 1.0], atol=1e-12)
    constant = np.full((4, 3), 0.3)
    assert_allclose(entropy_weights(constant, np.zeros(3, dtype=np.int64)), [1 / 3] * 3)


# --- CRITIC and PCA ------------------------------------------------------------------------

# Four observations × three indicators, one group:
#   A = (0, 1, 0, 1), B = (0, 1, 1, 0), C = (0, 1, 1, 1)
#   σ_A = σ_B = 0.5, σ_C = √3/4 = 0.433013 (population standard deviations)
#   r_AB = 0, r_AC = r_BC = 0.125 / (0.5 · 0.433013) = 1/√3 = 0.577350
CORR_X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])


def test_critic_hand_computed() -> None:
    # C_A = C_B = 0.5 · ((1 − 0) + (1 − 0.577350)) = 0.711325
    # C_C = 0.433013 · 2 · (1 − 0.577350) = (√3 − 1)/2 = 0.366025
    # Σ C = 1.788675 → w = (0.397683, 0.397683, 0.204635)
    w = critic_weights(CORR_X, np.zeros(3, dtype=np.int64))
    assert_allclose(w, [0.397683, 0.397683, 0.204635], atol=1e-6)


def test_critic_correlates_within_group_only() -> None:
    # D joins another group: the first group's weights are unchanged, D alone gets 1.
    x = np.column_stack([CORR_X, [1.0, 0.0, 0.5, 0.5]])
    w = critic_weights(x, np.array([0, 0, 0, 1]))
    assert_allclose(w, [0.397683, 0.397683, 0.204635, 1.0], atol=1e-6)
    # Alone in their groups A, B, C each get 1 — correlation with other groups is ignored.
    assert_allclose(critic_weights(CORR_X, np.array([0, 1, 2])), [1.0, 1.0, 1.0])


def test_critic_constant_column_gets_zero() -> None:
    x = np.column_stack([CORR_X[:, 0], np.full(4, 0.7), CORR_X[:, 2]])
    w = critic_weights(x, np.zeros(3, dtype=np.int64))
    assert w[1] == 0.0
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert_allclose(critic_weights(np.full((4, 2), 0.7), np.zeros(2, dtype=np.int64)), [0.5, 0.5])


def test_pca_hand_computed() -> None:
    # R = [[1, 0, s], [0, 1, s], [s, s, 1]], s = 1/√3. By symmetry the first component is
    # (a, a, b): (1 − λ)a + s b = 0 and 2 s a + (1 − λ) b = 0 → (1 − λ)² = 2 s² = 2/3,
    # λ1 = 1 + √(2/3) = 1.816497, b = √2 a → unit vector (1, 1, √2)/2,
    # squared loadings (1/4, 1/4, 1/2). PCA rewards the redundant C that CRITIC penalises.
    w = pca_weights(CORR_X, np.zeros(3, dtype=np.int64))
    assert_allclose(w, [0.25, 0.25, 0.5], atol=1e-12)


def test_pca_uncorrelated_and_constant_indicators() -> None:
    # A and B are uncorrelated: λ = 1 twice, the component is not identified → equal.
    assert_allclose(pca_weights(CORR_X[:, :2], np.zeros(2, dtype=np.int64)), [0.5, 0.5], atol=1e-12)
    # A constant indicator is left out; single-indicator groups get 1.
    x = np.column_stack([CORR_X, np.full(4, 0.4)])
    w = pca_weights(x, np.array([0, 0, 0, 0]))
    assert_allclose(w, [0.25, 0.25, 0.5, 0.0], atol=1e-12)
    assert_allclose(pca_weights(x, np.array([0, 0, 0, 1])), [0.25, 0.25, 0.5, 1.0], atol=1e-12)


def _random_panel(seed: int, shape: tuple[int, int], missing: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(shape[0], 1))
    x = 1 / (1 + np.exp(-(latent * rng.uniform(0.2, 2, shape[1]) + rng.normal(size=shape))))
    x[rng.random(shape) < missing] = np.nan
    return x


GROUPS = np.array([3, 3, 3, 8, 8, 1, 1, 1, 1, 6])


def _pairwise_corr(block: np.ndarray) -> np.ndarray:
    return pd.DataFrame(block).corr().fillna(0.0).to_numpy()


def test_critic_matches_naive_reference_with_missing_values() -> None:
    x = _random_panel(7, (40, GROUPS.size), missing=0.2)
    expected = np.empty(GROUPS.size)
    for g in np.unique(GROUPS):  # reference: one group at a time, pandas pairwise correlation
        cols = np.flatnonzero(g == GROUPS)
        c = np.nanstd(x[:, cols], axis=0) * (1 - _pairwise_corr(x[:, cols])).sum(axis=1)
        expected[cols] = c / c.sum() if c.sum() > 0 else 1 / cols.size
    assert_allclose(critic_weights(x, GROUPS), expected, rtol=1e-10, atol=1e-12)


def test_pca_matches_naive_reference_with_missing_values() -> None:
    x = _random_panel(11, (60, GROUPS.size), missing=0.15)
    expected = np.empty(GROUPS.size)
    for g in np.unique(GROUPS):
        cols = np.flatnonzero(g == GROUPS)
        _, vectors = np.linalg.eigh(_pairwise_corr(x[:, cols]))
        expected[cols] = vectors[:, -1] ** 2
    assert_allclose(pca_weights(x, GROUPS), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", DATA_DRIVEN)
def test_rows_without_data_change_nothing(method: WeightFn) -> None:
    x = _random_panel(3, (25, GROUPS.size), missing=0.1)
    padded = np.vstack([x, np.full((3, GROUPS.size), np.nan)])
    assert_allclose(method(padded, GROUPS), method(x, GROUPS), rtol=1e-12)


@pytest.mark.parametrize("method", DATA_DRIVEN)
def test_no_data_gives_equal_weights(method: WeightFn) -> None:
    groups = np.array([1, 1, 2])
    for x in (np.full((2, 3), np.nan), np.empty((0, 3))):
        assert_allclose(method(x, groups), [0.5, 0.5, 1.0])
    assert method(np.empty((4, 0)), np.empty(0, dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize("method", DATA_DRIVEN)
def test_bad_input_is_refused(method: WeightFn) -> None:
    cases = [
        (np.zeros(3), np.zeros(3, dtype=np.int64), "weights.bad_shape"),
        (np.zeros((2, 3)), np.zeros(2, dtype=np.int64), "weights.bad_groups"),
        (np.zeros((2, 3)), np.zeros(3), "weights.bad_groups"),
        (
            np.array([[0.5, 1.5], [0.2, np.nan]]),
            np.zeros(2, dtype=np.int64),
            "weights.out_of_range",
        ),
    ]
    for x, groups, key in cases:
        with pytest.raises(MethodError) as caught:
            method(x, groups)
        assert caught.value.key == key


# --- properties of the data-driven methods -------------------------------------------------


def _assert_group_shares(w: np.ndarray, groups: np.ndarray) -> None:
    assert w.shape == groups.shape
    assert np.isfinite(w).all()
    assert (w >= 0).all()
    for g in np.unique(groups):
        assert w[groups == g].sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", DATA_DRIVEN)
@settings(max_examples=200, deadline=None)
@given(data=normalised_data())
def test_weights_are_shares_within_groups(
    method: WeightFn, data: tuple[np.ndarray, np.ndarray]
) -> None:
    x, groups = data
    _assert_group_shares(method(x, groups), groups)


@pytest.mark.parametrize("method", DATA_DRIVEN)
@settings(max_examples=200, deadline=None)
@given(data=normalised_data(), order=st.randoms(use_true_random=False))
def test_order_of_observations_does_not_matter(
    method: WeightFn, data: tuple[np.ndarray, np.ndarray], order: object
) -> None:
    x, groups = data
    perm = list(range(x.shape[0]))
    order.shuffle(perm)  # type: ignore[attr-defined]
    assert_allclose(method(x[perm], groups), method(x, groups), rtol=1e-7, atol=1e-9)


# --- translation catalogue -----------------------------------------------------------------


def _catalogue_keys(name: str) -> set[str]:
    text = resources.files("cityloop.i18n").joinpath(name).read_text(encoding="utf-8")
    return set(yaml.safe_load(text))


def test_weights_catalogue_has_the_same_keys_in_both_languages() -> None:
    zh, en = _catalogue_keys("weights.zh_CN.yaml"), _catalogue_keys("weights.en.yaml")
    assert zh == en
    assert all(key.startswith(("ahp.", "weights.")) for key in zh)
    for key in zh:
        assert t(key, "zh-CN") != key
        assert t(key, "en") != key
