"""Outlier treatment: the skew/kurtosis rule and winsorisation, checked by hand."""

from __future__ import annotations

import numpy as np
from scipy import stats

from cityloop.evaluation.outliers import OutlierMethod, skew_kurtosis, treat_outliers


def test_skew_kurtosis_match_scipy() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=(200, 3))
    skew, kurt = skew_kurtosis(x)
    np.testing.assert_allclose(skew, stats.skew(x, axis=0), rtol=1e-10)
    np.testing.assert_allclose(kurt, stats.kurtosis(x, axis=0, fisher=False), rtol=1e-10)


def test_winsorise_replaces_extreme_by_next_value() -> None:
    base = np.arange(1.0, 41.0)
    col = np.append(base, 1000.0)  # one huge value: skewed and heavy-tailed
    normal = np.linspace(0, 1, 41)
    x = np.column_stack([col, normal])
    out, report = treat_outliers(x, OutlierMethod.WINSORISE)
    assert report.flagged.tolist() == [True, False]
    assert report.winsorised[0] == 1
    assert out[-1, 0] == 40.0  # the outlier now equals the next highest value
    np.testing.assert_array_equal(out[:, 1], normal)


def test_log_keeps_order_and_only_touches_flagged() -> None:
    col = np.append(np.arange(1.0, 41.0), 1000.0)
    x = np.column_stack([col, np.linspace(0, 1, 41)])
    out, report = treat_outliers(x, OutlierMethod.LOG)
    assert report.logged.tolist() == [True, False]
    assert np.all(np.diff(out[:, 0]) > 0)
    np.testing.assert_allclose(out[:, 0], np.log(col - 1.0 + 1.0))


def test_none_is_identity() -> None:
    x = np.array([[1.0], [2.0], [100.0]])
    out, report = treat_outliers(x, OutlierMethod.NONE)
    assert out is x and not report.flagged.any()
