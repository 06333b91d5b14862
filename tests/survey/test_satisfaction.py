"""Tests of the satisfaction indices: hand-worked values and CIs, roll-ups, YoY and properties.

The grouped computation is checked against ``weighted_mean`` respondent by respondent.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.survey.grouped import ALL
from cityloop.survey.items import AnalysisPlan, RatedQuestion, Role, Subject
from cityloop.survey.satisfaction import (
    experience_score,
    satisfaction_indices,
    year_over_year,
)
from cityloop.survey.weighting import weighted_mean

Z95 = 1.959963984540054


def plan_of(*questions: RatedQuestion) -> AnalysisPlan:
    return AnalysisPlan("t", Subject.PUBLIC, "fw", "L8P1-A1", ("district",), questions, (), ())


def sat(question: str, domain: str, low: float = 1, high: float = 5) -> RatedQuestion:
    return RatedQuestion(question, Role.SATISFACTION, question, domain, None, low, high)


def city(frame: pd.DataFrame, key: str, year: int = 2026) -> pd.Series:
    rows = frame[(frame["key"] == key) & (frame["group_by"] == ALL) & (frame["year"] == year)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_index_and_ci_hand_worked() -> None:
    # Answers 1, 3, 5 on 1–5 are 0, 50, 100; the fourth respondent skipped the question.
    frame = pd.DataFrame(
        {"year": 2026, "district": ["a", "a", "b", "b"], "q": [1.0, 3.0, 5.0, np.nan]}
    )
    weights = [1.0, 1.0, 2.0, 1.0]
    row = city(satisfaction_indices(plan_of(sat("q", "L1P1")), frame, weights), "L1P1")
    # Mean (0 + 50 + 2·100) / 4 = 62.5; Σw²(y−ȳ)² = 62.5² + 12.5² + 4·37.5² = 9687.5;
    # variance 3/2 · 9687.5 / 16 = 908.203125; n_eff = 4² / 6.
    assert row["value"] == pytest.approx(62.5)
    assert row["se"] == pytest.approx(math.sqrt(908.203125))
    assert row["low"] == pytest.approx(62.5 - Z95 * math.sqrt(908.203125))
    assert row["n"] == 3
    assert row["n_eff"] == pytest.approx(16 / 6)


def test_groups_match_weighted_mean_respondent_by_respondent() -> None:
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "year": rng.choice([2025, 2026], n),
            "district": rng.choice(["a", "b", "c"], n),
            "q": rng.integers(0, 11, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.1, "q"] = np.nan
    weights = rng.uniform(0.3, 3.0, n)
    indices = satisfaction_indices(
        plan_of(sat("q", "L1P1", 0, 10)), frame, weights, by=("district",)
    )
    for row in indices.itertuples():
        rows = (frame["year"] == row.year) & frame["q"].notna()
        if row.group_by != ALL:
            rows &= frame["district"] == row.group
        expected = weighted_mean(frame.loc[rows, "q"] * 10, weights[rows.to_numpy()])
        assert row.value == pytest.approx(expected.value)
        assert row.low == pytest.approx(expected.low)
        assert row.n_eff == pytest.approx(expected.n_eff)
    assert set(indices["group"]) == {ALL, "a", "b", "c"}


def test_domain_and_parent_are_respondent_means() -> None:
    # Domain L1P1 has two items; the parent L1 averages the respondent's domain scores.
    frame = pd.DataFrame(
        {"year": 2026, "district": "a", "a1": [5.0, 1.0], "a2": [np.nan, 3.0], "b": [1.0, 5.0]}
    )
    plan = plan_of(sat("a1", "L1P1"), sat("a2", "L1P1"), sat("b", "L1P2"))
    indices = satisfaction_indices(plan, frame, [1.0, 1.0], parents={"L1P1": "L1", "L1P2": "L1"})
    # Respondent 1: L1P1 = 100, L1P2 = 0 → L1 = 50. Respondent 2: L1P1 = 25, L1P2 = 100 → 62.5.
    assert city(indices, "L1P1")["value"] == pytest.approx(62.5)
    assert city(indices, "L1")["value"] == pytest.approx(56.25)
    experience = experience_score(plan, frame, [1.0, 1.0])
    # Experience: mean over answered items: (100 + 0)/2 = 50 and (0 + 50 + 100)/3 = 50.
    assert city(experience, "L8P1-A1")["value"] == pytest.approx(50.0)


def test_year_over_year_change_and_ci() -> None:
    frame = pd.DataFrame(
        {"year": [2025] * 3 + [2026] * 3, "district": "a", "q": [1.0, 2, 3, 3, 4, 5]}
    )
    indices = satisfaction_indices(plan_of(sat("q", "L1P1")), frame, np.ones(6))
    change = year_over_year(indices).iloc[0]
    before, now = city(indices, "L1P1", 2025), city(indices, "L1P1", 2026)
    assert change["change"] == pytest.approx(50.0)
    se = math.hypot(before["se"], now["se"])
    assert change["se"] == pytest.approx(se)
    assert change["high"] == pytest.approx(50.0 + Z95 * se)
    assert change["previous_year"] == 2025


def test_out_of_range_answer_is_refused_with_its_position() -> None:
    frame = pd.DataFrame({"year": 2026, "district": "a", "q": [1.0, 6.0]})
    with pytest.raises(InputError) as caught:
        satisfaction_indices(plan_of(sat("q", "L1P1")), frame, [1.0, 1.0])
    assert caught.value.key == "survey.answer_out_of_range"
    assert caught.value.params["position"] == 2


def test_missing_question_column_is_refused() -> None:
    frame = pd.DataFrame({"year": 2026, "district": "a", "other": [1.0]})
    with pytest.raises(InputError, match="q"):
        satisfaction_indices(plan_of(sat("q", "L1P1")), frame, [1.0])


answers = st.lists(
    st.tuples(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0]), st.floats(0.1, 10.0)),
    min_size=2,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(answers, st.floats(0.01, 1000.0))
def test_index_properties(rows: list[tuple[float, float]], scale: float) -> None:
    frame = pd.DataFrame({"year": 2026, "district": "a", "q": [a for a, _ in rows]})
    weights = np.array([w for _, w in rows])
    plan = plan_of(sat("q", "L1P1"))
    row = city(satisfaction_indices(plan, frame, weights), "L1P1")
    scaled = city(satisfaction_indices(plan, frame, weights * scale), "L1P1")
    assert 0.0 <= row["value"] <= 100.0
    assert row["low"] <= row["value"] <= row["high"]
    assert scaled["value"] == pytest.approx(row["value"], abs=1e-9)
    # sqrt amplifies rounding when every answer is equal, hence 1e-5 on the 0–100 scale.
    assert scaled["high"] == pytest.approx(row["high"], abs=1e-5)
