"""Tests of the synthetic survey generator: reproducible, labelled synthetic, truths as planted.

The planted population values are what the coverage test in tests/survey relies on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityloop.demo import survey
from cityloop.demo.survey import DEMO_DISTRICTS, default_truth, demo_plan, synthetic_responses


def test_same_seed_same_responses_other_seed_other_responses() -> None:
    plan = demo_plan()
    first = synthetic_responses(plan, 2_000, districts=DEMO_DISTRICTS, seed=5, year=2026)
    again = synthetic_responses(plan, 2_000, districts=DEMO_DISTRICTS, seed=5, year=2026)
    other = synthetic_responses(plan, 2_000, districts=DEMO_DISTRICTS, seed=6, year=2026)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    pd.testing.assert_frame_equal(first.choices, again.choices)
    pd.testing.assert_frame_equal(first.texts, again.texts)
    assert not first.frame.equals(other.frame)


def test_answers_follow_the_plan_and_the_planted_oversampling() -> None:
    plan = demo_plan()
    truth = default_truth(plan, DEMO_DISTRICTS)
    drawn = synthetic_responses(plan, 40_000, districts=DEMO_DISTRICTS, seed=1, year=2026)
    frame = drawn.frame
    for question in plan.rated:
        answered = frame[question.question].dropna()
        assert answered.between(question.low, question.high).all()
        assert (answered == answered.round()).all()
    # The oversampled band is 0.3·3 / (0.3·3 + 0.7) of the sample, not 0.3.
    expected = 0.9 / 1.6
    assert abs((frame["age"] == truth.oversampled).mean() - expected) < 0.01
    # Texts come from the synthetic pool, for about text_rate of respondents.
    assert abs(len(drawn.texts) / len(frame) - truth.text_rate) < 0.005
    assert set(drawn.texts["text"]) <= {text for text, _ in survey.NEED_TEXTS}
    # Unweighted mean within one cell equals the planted value (no clipping anywhere).
    cell = (frame["district"] == DEMO_DISTRICTS[0]) & (frame["age"] == "35-59")
    score = (frame.loc[cell, "sat_L1P1"] - 1) * 25
    planted = truth.domain_means["L1P1"] + truth.district_effects[DEMO_DISTRICTS[0]]
    assert abs(np.nanmean(score) - planted) < 4 * np.nanstd(score) / np.sqrt(cell.sum())


def test_module_says_its_data_is_synthetic() -> None:
    assert survey.__doc__ is not None and "SYNTHETIC" in survey.__doc__
    assert "SYNTHETIC" in (survey.synthetic_responses.__doc__ or "")
