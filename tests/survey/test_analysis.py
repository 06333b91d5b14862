"""Tests of the one-call survey analysis and a CI-coverage simulation on synthetic data.

The synthetic population has known indices and shares; over many samples the 95 % intervals
must cover them about 95 % of the time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cityloop.demo.survey import DEMO_DISTRICTS, default_truth, demo_plan, synthetic_responses
from cityloop.errors import InputError
from cityloop.survey.analysis import analyse
from cityloop.survey.grouped import ALL
from cityloop.survey.items import Responses
from cityloop.survey.needs import rank_needs
from cityloop.survey.needs_dictionary import load_dictionary

PARENTS = {"L1P1": "L1", "L1P2": "L1", "L2P1": "L2", "L2P2": "L2"}


def test_analyse_recovers_the_planted_population() -> None:
    plan = demo_plan()
    truth = default_truth(plan, DEMO_DISTRICTS)
    responses = synthetic_responses(plan, 20_000, districts=DEMO_DISTRICTS, seed=11, year=2026)
    result = analyse(plan, responses, truth.margins(), parents=PARENTS)
    assert result.raking[2026].converged
    assert result.design_effect > 1.05  # the oversampled age band is weighted down
    city = result.indices[
        (result.indices["group_by"] == ALL) & (result.indices["kind"] == "domain")
    ]
    for row in city.itertuples():
        assert abs(row.value - truth.domain_truth(str(row.key))) < 4 * (row.high - row.low) / 3.92
    assert set(result.indices["kind"]) == {"domain", "parent"}
    assert set(result.indices["group_by"]) == {ALL, "district"}
    assert 30 < result.experience_score.value < 75
    assert result.experience_score.low < result.experience_score.value
    assert len(result.ipa) == 11 and result.ipa["priority"].tolist() == list(range(1, 12))
    assert result.needs["share"].is_monotonic_decreasing
    assert (result.needs["from_text"] > 0).any()
    # Unweighted, the oversampled (more satisfied) band pulls the index up; raking corrects it.
    unweighted = responses.frame["sat_L1P1"].sub(1).mul(25).mean()
    weighted = city[city["key"] == "L1P1"]["value"].iloc[0]
    assert abs(weighted - truth.domain_truth("L1P1")) < abs(unweighted - truth.domain_truth("L1P1"))


def test_year_over_year_against_a_previous_analysis() -> None:
    plan = demo_plan(need_texts=False)
    truth = default_truth(plan, DEMO_DISTRICTS)
    before = synthetic_responses(plan, 3_000, districts=DEMO_DISTRICTS, seed=1, year=2025)
    now = synthetic_responses(plan, 3_000, districts=DEMO_DISTRICTS, seed=2, year=2026)
    first = analyse(plan, before, truth.margins())
    second = analyse(plan, now, truth.margins(), previous=first)
    yoy = second.yoy[(second.yoy["group_by"] == ALL) & (second.yoy["key"] == "L1P1")].iloc[0]
    assert yoy["previous_year"] == 2025 and yoy["year"] == 2026
    old = first.indices.query("group_by == '*' and key == 'L1P1'").iloc[0]
    new = second.indices.query("group_by == '*' and key == 'L1P1'").iloc[0]
    assert yoy["change"] == pytest.approx(new["value"] - old["value"])
    assert yoy["se"] == pytest.approx(math.hypot(new["se"], old["se"]))
    assert set(second.yoy["kind"]) == {"domain", "experience"}


def test_ci_coverage_of_index_and_share() -> None:
    """400 samples of 600 respondents; each sample is one 'year', raked on its own."""
    plan = demo_plan(need_texts=False)
    truth = default_truth(plan, DEMO_DISTRICTS)
    samples, size = 400, 600
    drawn = synthetic_responses(
        plan, samples * size, districts=DEMO_DISTRICTS, seed=20261201, year=0
    )
    frame = drawn.frame.assign(year=np.repeat(np.arange(samples), size))
    result = analyse(plan, Responses(frame, drawn.choices, drawn.texts), truth.margins())
    city = result.indices[
        (result.indices["group_by"] == ALL) & (result.indices["kind"] == "domain")
    ]
    truths = city["key"].map(truth.domain_truth)
    covered = (city["low"] <= truths) & (truths <= city["high"])
    assert len(covered) == samples * 11
    # Tolerance: 3 binomial standard errors for 400 independent samples (the 11 domains of one
    # sample are correlated, so 400 is the conservative count).
    tolerance = 3 * math.sqrt(0.95 * 0.05 / samples)
    assert abs(covered.mean() - 0.95) < tolerance, covered.groupby(city["key"]).mean()
    # Share of one need choice, in 200 of the samples (one rank_needs call on each).
    application = plan.needs[0].application
    share_truth = truth.need_truth(application)
    sample_of = drawn.choices["response"] // size
    dictionary = load_dictionary()
    hits = []
    for sample, picked in drawn.choices[sample_of < 200].groupby(sample_of[sample_of < 200]):
        rows = slice(sample * size, (sample + 1) * size)
        part = Responses(
            frame.iloc[rows].reset_index(drop=True),
            picked.assign(response=picked["response"] - sample * size),
            drawn.texts,
        )
        needs = rank_needs(plan, part, result.weights[rows], dictionary=dictionary)
        needs = needs.set_index("application")
        low, high = needs.loc[application, ["low", "high"]]
        hits.append(low <= share_truth <= high)
    share_tolerance = 3 * math.sqrt(0.95 * 0.05 / len(hits))
    assert abs(np.mean(hits) - 0.95) < share_tolerance


def test_analyse_refuses_empty_responses() -> None:
    plan = demo_plan()
    empty = Responses(pd.DataFrame({"year": []}), pd.DataFrame(), pd.DataFrame())
    with pytest.raises(InputError) as caught:
        analyse(plan, empty, default_truth(plan, DEMO_DISTRICTS).margins())
    assert caught.value.key == "survey.no_respondents"


def test_a_year_without_satisfaction_answers_is_refused() -> None:
    plan = demo_plan(need_texts=False)
    truth = default_truth(plan, DEMO_DISTRICTS)
    drawn = synthetic_responses(plan, 500, districts=DEMO_DISTRICTS, seed=3, year=2026)
    frame = drawn.frame.copy()
    frame[[q.question for q in plan.rated if q.role.value == "satisfaction"]] = np.nan
    with pytest.raises(InputError) as caught:
        analyse(plan, Responses(frame, drawn.choices, drawn.texts), truth.margins())
    assert caught.value.key == "survey.no_satisfaction_answers"
