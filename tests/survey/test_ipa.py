"""Tests of importance–performance analysis: quadrants, order and derived importance.

Items are built so that each lands in a known quadrant; derived importance must carry the sign
of the item's relation to overall satisfaction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cityloop.survey.ipa import (
    CONCENTRATE,
    KEEP_UP,
    LOW_PRIORITY,
    OVERKILL,
    importance_performance,
    weighted_correlation,
)
from cityloop.survey.items import AnalysisPlan, RatedQuestion, Role, Subject


def rated(item: str, role: Role, low: float = 1, high: float = 5) -> RatedQuestion:
    prefix = {Role.SATISFACTION: "s", Role.IMPORTANCE: "i", Role.OVERALL: "o"}[role]
    return RatedQuestion(f"{prefix}_{item}", role, item, "L1P1", None, low, high)


def plan_of(*questions: RatedQuestion) -> AnalysisPlan:
    return AnalysisPlan("t", Subject.PUBLIC, "fw", None, (), questions, (), ())


def test_quadrants_and_order_on_a_constructed_case() -> None:
    # Satisfaction and importance (1–5, two equal respondents, so the value is the answer).
    wanted = {  # item: (satisfaction, importance) on 0–100
        "fix": (0, 100),  # important, unsatisfying → concentrate here
        "fix_less": (25, 75),  # also concentrate, smaller gap
        "keep": (100, 100),
        "low": (0, 0),
        "over": (100, 25),
    }
    questions, columns = [], {"year": [2026, 2026]}
    for item, (s, i) in wanted.items():
        questions += [rated(item, Role.SATISFACTION), rated(item, Role.IMPORTANCE)]
        columns[f"s_{item}"] = [1 + s / 25] * 2
        columns[f"i_{item}"] = [1 + i / 25] * 2
    table = importance_performance(plan_of(*questions), pd.DataFrame(columns), [1.0, 1.0])
    quadrant = dict(zip(table["item"], table["quadrant"], strict=True))
    # Grand means: satisfaction 45, importance 60.
    assert table["satisfaction_cut"].tolist() == pytest.approx([45.0] * 5)
    assert table["importance_cut"].tolist() == pytest.approx([60.0] * 5)
    assert quadrant == {
        "fix": CONCENTRATE,
        "fix_less": CONCENTRATE,
        "keep": KEEP_UP,
        "low": LOW_PRIORITY,
        "over": OVERKILL,
    }
    assert list(table["item"]) == ["fix", "fix_less", "low", "keep", "over"]
    assert list(table["priority"]) == [1, 2, 3, 4, 5]
    assert table.set_index("item").loc["fix", "gap"] == pytest.approx(100.0)
    assert set(table["importance_source"]) == {"stated"}
    # With scale midpoints (50) "fix_less" (75, 25) stays in the concentrate-here quadrant and
    # "over" (importance 25) is overkill.
    mid = importance_performance(
        plan_of(*questions), pd.DataFrame(columns), [1.0, 1.0], cut="midpoint"
    )
    assert dict(zip(mid["item"], mid["quadrant"], strict=True))["over"] == OVERKILL


def test_derived_importance_has_the_sign_of_the_relation() -> None:
    rng = np.random.default_rng(5)
    n = 400
    overall = rng.integers(0, 11, n).astype(float)
    frame = pd.DataFrame(
        {
            "year": 2026,
            "o_overall": overall,
            "s_with": np.clip(np.round(1 + overall * 0.4 + rng.normal(0, 0.5, n)), 1, 5),
            "s_against": np.clip(np.round(5 - overall * 0.4 + rng.normal(0, 0.5, n)), 1, 5),
        }
    )
    plan = plan_of(
        rated("overall", Role.OVERALL, 0, 10),
        rated("with", Role.SATISFACTION),
        rated("against", Role.SATISFACTION),
    )
    table = importance_performance(plan, frame, np.ones(n)).set_index("item")
    assert table.loc["with", "importance"] > 50
    assert table.loc["against", "importance"] < -50
    assert set(table["importance_source"]) == {"derived"}


def test_weighted_correlation_equals_pearson_with_equal_weights() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    x[3] = np.nan  # respondents who did not answer both are left out
    both = ~np.isnan(x)
    expected = np.corrcoef(x[both], y[both])[0, 1]
    assert weighted_correlation(x, y, np.full(50, 2.0)) == pytest.approx(expected)
    assert np.isnan(weighted_correlation(np.ones(5), y[:5], np.ones(5)))
