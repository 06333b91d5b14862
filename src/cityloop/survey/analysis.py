"""One call from raw responses to every survey result: raking, indices, YoY, IPA and needs.

Each year is raked to the population margins on its own; all estimates then come from one set
of per-stratum sums, so 10 million responses take a few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError
from cityloop.survey.grouped import ALL
from cityloop.survey.ipa import Cut, derived_importance, ipa_table
from cityloop.survey.items import AnalysisPlan, Responses
from cityloop.survey.needs import rank_needs
from cityloop.survey.needs_dictionary import NeedsDictionary
from cityloop.survey.satisfaction import (
    INDEX_KINDS,
    estimate_scores,
    respondent_scores,
    year_over_year,
)
from cityloop.survey.weighting import (
    Estimate,
    RakingResult,
    design_effect,
    effective_sample_size,
    rake,
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SurveyAnalysis:
    """Everything the survey says, for one questionnaire.

    ``weights`` are the raked weights (each year sums to its respondents); ``raking`` is each
    year's raking result. ``estimates`` holds every weighted mean (kinds ``item``,
    ``importance``, ``overall``, ``domain``, ``parent``, ``experience``) per year and group;
    ``indices`` is its domain and parent rows, ``experience`` its experience-score rows and
    ``experience_score`` the latest year's city-wide score. ``yoy`` compares each year with the
    one before (including a ``previous`` analysis); ``ipa`` and ``needs`` are for the latest
    year.
    """

    plan: AnalysisPlan
    year: int
    weights: FloatArray
    raking: Mapping[int, RakingResult]
    design_effect: float
    n_eff: float
    estimates: pd.DataFrame
    indices: pd.DataFrame
    experience: pd.DataFrame
    experience_score: Estimate
    yoy: pd.DataFrame
    ipa: pd.DataFrame
    needs: pd.DataFrame


def _rake_each_year(
    frame: pd.DataFrame,
    margins: Mapping[str, Mapping[Any, float]],
    trim: tuple[float, float] | None,
) -> tuple[FloatArray, dict[int, RakingResult]]:
    years = frame["year"].to_numpy()
    weights = np.empty(len(frame))
    results: dict[int, RakingResult] = {}
    for year in np.unique(years):  # a handful of survey years
        rows = np.flatnonzero(years == year)
        part = frame.iloc[rows] if rows.size < len(frame) else frame
        result = rake(part[list(margins)], margins, trim=trim)
        weights[rows] = result.weights
        results[int(year)] = result
    return weights, results


def analyse(
    plan: AnalysisPlan,
    responses: Responses,
    margins: Mapping[str, Mapping[Any, float]],
    *,
    previous: SurveyAnalysis | None = None,
    parents: Mapping[str, str] | None = None,
    trim: tuple[float, float] | None = (0.3, 3.0),
    by: Sequence[str] | None = None,
    cut: Cut = "mean",
    dictionary: NeedsDictionary | None = None,
    confidence: float = 0.95,
) -> SurveyAnalysis:
    """Rake, then estimate every index, the experience score, YoY, IPA and needs.

    Parameters
    ----------
    plan
        The questionnaire's analysis plan.
    responses
        The answers (one or more years).
    margins
        Population distribution of each weighting variable (e.g. district, age band, gender);
        each year is raked to them separately, with ``trim`` bounds.
    previous
        An earlier analysis whose estimates are compared year over year with these.
    parents
        Domain → parent dimension, to roll domain indices up (e.g. ``L1P1 → L1``).
    trim
        Weight bounds relative to the mean weight, or None for no trimming.
    by
        Attributes to break indices down by; default ``district`` if the frame has it.
    cut
        IPA cross-hairs: grand means or scale midpoints.
    dictionary
        Keyword dictionary for free-text needs (default: the packaged one).
    confidence
        Nominal coverage of every interval.
    """
    frame = responses.frame
    if frame.empty:
        raise InputError("survey.no_respondents")
    if by is None:
        by = ("district",) if "district" in frame.columns else ()
    weights, raking = _rake_each_year(frame, margins, trim)
    year = int(frame["year"].max())
    # Needs and indices share nothing but the weights; NumPy and Arrow release the GIL in
    # their loops, so the needs run on the second core while the indices are estimated.
    with ThreadPoolExecutor(max_workers=1) as pool:
        needs = pool.submit(
            rank_needs, plan, responses, weights,
            dictionary=dictionary, year=year, confidence=confidence,
        )  # fmt: skip
        analysis = _indices(plan, frame, weights, raking, previous, parents, by, cut, confidence)
        return replace(analysis, needs=needs.result())


def _indices(
    plan: AnalysisPlan,
    frame: pd.DataFrame,
    weights: FloatArray,
    raking: dict[int, RakingResult],
    previous: SurveyAnalysis | None,
    parents: Mapping[str, str] | None,
    by: Sequence[str],
    cut: Cut,
    confidence: float,
) -> SurveyAnalysis:
    """Everything of :func:`analyse` but the needs (left empty for the caller to fill)."""
    scores = respondent_scores(plan, frame, parents)
    estimates = estimate_scores(scores, frame, weights, by=by, confidence=confidence)
    year = int(frame["year"].max())
    in_year = frame["year"].to_numpy() == year
    indices = estimates[estimates["kind"].isin(INDEX_KINDS)].reset_index(drop=True)
    experience = estimates[estimates["kind"] == "experience"].reset_index(drop=True)
    history = estimates
    if previous is not None:
        older = previous.estimates[previous.estimates["year"] < frame["year"].min()]
        history = pd.concat([older, estimates], ignore_index=True)
    comparable = history[history["kind"].isin((*INDEX_KINDS, "experience"))]
    city = experience[(experience["year"] == year) & (experience["group_by"] == ALL)]
    if city.empty:
        raise InputError("survey.no_satisfaction_answers", year=year)
    latest = city.iloc[0]
    derived = derived_importance(scores, weights, in_year)
    return SurveyAnalysis(
        plan=plan,
        year=year,
        weights=weights,
        raking=raking,
        design_effect=design_effect(weights[in_year]),
        n_eff=effective_sample_size(weights[in_year]),
        estimates=estimates,
        indices=indices,
        experience=experience,
        experience_score=Estimate(
            float(latest["value"]),
            float(latest["low"]),
            float(latest["high"]),
            int(latest["n"]),
            float(latest["n_eff"]),
        ),
        yoy=year_over_year(comparable, confidence=confidence),
        ipa=ipa_table(plan, estimates, derived, year=year, cut=cut),
        needs=pd.DataFrame(),
    )
