"""Shared hypothesis strategies for the property tests (one module, reused by every test file).

Import as ``from tests.strategies import ...``.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SAATY_SCALE = tuple(float(v) for v in (1, 2, 3, 4, 5, 6, 7, 8, 9)) + tuple(
    1.0 / v for v in (2, 3, 4, 5, 6, 7, 8, 9)
)

# Normalised indicator values: any float in [0, 1], a few grid values (so ties, constant
# columns and exact correlations turn up) and missing values.
unit_values = st.one_of(
    st.floats(min_value=0.0, max_value=1.0, allow_subnormal=False),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
    st.just(float("nan")),
)


@st.composite
def normalised_data(
    draw: st.DrawFn, *, max_observations: int = 12, max_indicators: int = 8
) -> tuple[FloatArray, IntArray]:
    """(x, groups): x is (observations, indicators) in [0, 1] with NaNs; groups are parent ids
    (arbitrary integers, not necessarily contiguous or sorted)."""
    n_obs = draw(st.integers(min_value=1, max_value=max_observations))
    n_ind = draw(st.integers(min_value=1, max_value=max_indicators))
    x = draw(hnp.arrays(np.float64, (n_obs, n_ind), elements=unit_values))
    groups = draw(hnp.arrays(np.int64, n_ind, elements=st.integers(min_value=-1, max_value=4)))
    return x, groups


def positive_vectors(*, min_size: int = 1, max_size: int = 15) -> st.SearchStrategy[FloatArray]:
    """Positive vectors (e.g. the true priorities behind a consistent judgment matrix)."""
    return hnp.arrays(
        np.float64,
        st.integers(min_value=min_size, max_value=max_size),
        elements=st.floats(min_value=0.01, max_value=100.0),
    )


@st.composite
def judgment_matrices(draw: st.DrawFn, *, min_n: int = 1, max_n: int = 9) -> FloatArray:
    """Reciprocal judgment matrices with upper-triangle entries on Saaty's 1–9 scale."""
    n = draw(st.integers(min_value=min_n, max_value=max_n))
    upper = draw(hnp.arrays(np.float64, (n, n), elements=st.sampled_from(SAATY_SCALE)))
    return np.triu(upper, 1) + np.tril(1.0 / upper.T, -1) + np.eye(n)


# Time between two login attempts: quick retries, pauses around the lock lengths, and quiet
# spells long enough for a failure streak to be forgotten.
attempt_gaps = st.one_of(
    st.integers(min_value=0, max_value=120).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=0, max_value=5 * 3600).map(lambda s: timedelta(seconds=s)),
    st.sampled_from([timedelta(minutes=m) for m in (15, 30, 60, 240, 24 * 60, 30 * 60)]),
)


def login_attempts(*, max_size: int = 60) -> st.SearchStrategy[list[tuple[timedelta, bool]]]:
    """Sequences of (gap since the previous attempt, whether the password was right)."""
    return st.lists(st.tuples(attempt_gaps, st.booleans()), max_size=max_size)
