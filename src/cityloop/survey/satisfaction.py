"""Satisfaction indices on 0–100 per domain, parent dimension, group and year, with their CIs.

Answers are rescaled per question, averaged per respondent, then weighted per group from
per-stratum sums (see :mod:`cityloop.survey.grouped`); year-over-year changes come last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError
from cityloop.survey.grouped import (
    ESTIMATE_COLUMNS,
    build_strata,
    grouped_means,
    many_stratum_sums,
    z_value,
)
from cityloop.survey.items import AnalysisPlan, RatedQuestion, Role
from cityloop.survey.weighting import _as_weights

FloatArray = npt.NDArray[np.float64]

INDEX_KINDS = ("domain", "parent")


def rescale(frame: pd.DataFrame, question: RatedQuestion) -> FloatArray:
    """One question's answers on 0–100: ``(x − low) / (high − low) × 100``; NaN stays NaN.

    Raises
    ------
    InputError
        The question has no column, or an answer lies outside ``[low, high]``.
    """
    if question.question not in frame.columns:
        raise InputError(
            "survey.question_missing",
            question=question.question,
            known=", ".join(map(str, frame.columns)),
        )
    column = frame[question.question]
    # A float64 column is used as it is (no copy); other dtypes are converted, NA → NaN.
    if column.dtype == np.float64:
        answers = column.to_numpy()
    else:
        answers = column.to_numpy(dtype=np.float64, na_value=np.nan)
    # fmin/fmax skip NaN, so one pass each finds an out-of-range answer without a mask.
    if answers.size and not np.isnan(answers).all():
        low, high = np.fmin.reduce(answers), np.fmax.reduce(answers)
        if low < question.low or high > question.high:
            bad = (answers < question.low) | (answers > question.high)
            first = int(np.flatnonzero(bad)[0])
            raise InputError(
                "survey.answer_out_of_range",
                question=question.question,
                position=first + 1,
                value=answers[first],
                low=question.low,
                high=question.high,
            )
    scores: FloatArray = answers - question.low
    scores *= 100.0 / (question.high - question.low)
    return scores


def _row_mean(columns: Sequence[FloatArray]) -> FloatArray:
    """Each respondent's mean over the columns they answered (NaN when none)."""
    if len(columns) == 1:
        return columns[0]
    # Column by column: no n × k temporary, which matters at 10 million respondents.
    total = np.zeros(columns[0].size)
    answered = np.zeros(columns[0].size, dtype=np.int16)
    for column in columns:
        present = ~np.isnan(column)
        np.add(total, column, out=total, where=present)
        answered += present
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = total / answered
    return mean


def respondent_scores(
    plan: AnalysisPlan, frame: pd.DataFrame, parents: Mapping[str, str] | None = None
) -> dict[tuple[str, str], FloatArray]:
    """Every per-respondent score the indices and IPA are estimated from, each on 0–100.

    Keys are ``(kind, key)``:

    - ``("item", item)`` — the item's satisfaction answer (mean if it has several questions);
    - ``("importance", item)`` — its stated importance, when asked;
    - ``("domain", code)`` — the respondent's mean over the satisfaction items of the domain
      they answered;
    - ``("parent", code)`` — mean of the respondent's domain scores under that parent
      (``parents`` maps domain code → parent code), so each domain counts once however many
      items it has;
    - ``("experience", score_indicator or "experience")`` — the overall citizen-experience
      score: the respondent's mean over every satisfaction item answered;
    - ``("overall", item)`` — the overall satisfaction question, when asked.

    A respondent who answered none of the questions of a score has NaN and is left out of that
    estimate (available-case analysis).
    """
    by_role: dict[tuple[str, str], list[FloatArray]] = {}
    domains: dict[str, list[FloatArray]] = {}
    for question in plan.rated:
        kind = {
            Role.SATISFACTION: "item",
            Role.IMPORTANCE: "importance",
            Role.OVERALL: "overall",
        }.get(question.role)
        if kind is None:
            continue
        scores = rescale(frame, question)
        by_role.setdefault((kind, question.item), []).append(scores)
        if question.role is Role.SATISFACTION:
            domains.setdefault(question.domain, []).append(scores)
    result = {name: _row_mean(columns) for name, columns in by_role.items()}
    items = [result[name] for name in by_role if name[0] == "item"]
    if not items:
        raise InputError("survey.no_satisfaction_items", questionnaire=plan.questionnaire)
    domain_scores = {code: _row_mean(columns) for code, columns in domains.items()}
    result.update({("domain", code): scores for code, scores in domain_scores.items()})
    children: dict[str, list[FloatArray]] = {}
    for code, scores in domain_scores.items():
        if parents is not None and code in parents:
            children.setdefault(parents[code], []).append(scores)
    result.update({("parent", code): _row_mean(columns) for code, columns in children.items()})
    result[("experience", plan.score_indicator or "experience")] = _row_mean(items)
    return result


def estimate_scores(
    scores: Mapping[tuple[str, str], FloatArray],
    frame: pd.DataFrame,
    weights: npt.ArrayLike,
    *,
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Weighted mean with CI, n and effective n of each score, per year × (city, groups).

    Scores that are the same array (a one-item domain and its item) are summed once.
    """
    w = _as_weights(weights)
    strata = build_strata(frame, w, by)
    # Scores that are one array (a one-item domain and its item) are summed once.
    distinct = {id(values): values for values in scores.values()}
    summed = dict(zip(distinct, many_stratum_sums(list(distinct.values()), strata), strict=True))
    sums = {name: summed[id(values)] for name, values in scores.items()}
    estimates = grouped_means(sums, strata, confidence=confidence)
    return estimates.sort_values(ESTIMATE_COLUMNS, kind="stable", ignore_index=True)


def satisfaction_indices(
    plan: AnalysisPlan,
    frame: pd.DataFrame,
    weights: npt.ArrayLike,
    *,
    by: Sequence[str] = (),
    parents: Mapping[str, str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Satisfaction index (0–100) per domain and parent dimension, year, city and group.

    The index of a group is the weighted mean of its respondents' domain (or parent) scores,
    see :func:`respondent_scores`; its interval is a normal interval from the linearised
    variance of that weighted mean (Wolter 2007, ch. 6) and ``n_eff`` is Kish's effective
    sample size of the group's answering respondents.

    Parameters
    ----------
    plan
        What the questionnaire asks: its satisfaction questions with domain and scale.
    frame
        ``Responses.frame``: ``year``, attributes, one column per rated question.
    weights
        One positive weight per respondent (e.g. raked).
    by
        Attributes to break the indices down by (e.g. ``("district",)``).
    parents
        Domain code → parent dimension code, to roll domains up (e.g. ``L1P1 → L1``).
    confidence
        Nominal coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``domain``/``parent``), ``key`` (the code), ``year``, ``group_by``,
        ``group`` (``"*"`` for the whole city), ``value, se, low, high, n, n_eff``.
    """
    scores = respondent_scores(plan, frame, parents)
    wanted = {name: values for name, values in scores.items() if name[0] in INDEX_KINDS}
    return estimate_scores(wanted, frame, weights, by=by, confidence=confidence)


def experience_score(
    plan: AnalysisPlan,
    frame: pd.DataFrame,
    weights: npt.ArrayLike,
    *,
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The overall citizen-experience score (0–100) per year and group, with its CI.

    Each respondent's score is the mean of the satisfaction items they answered; the score of
    a group is the weighted mean of those respondent scores. It is the value of the
    questionnaire's ``score_indicator`` for the evaluation engine.
    """
    scores = respondent_scores(plan, frame)
    wanted = {name: values for name, values in scores.items() if name[0] == "experience"}
    return estimate_scores(wanted, frame, weights, by=by, confidence=confidence)


def year_over_year(estimates: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Change of each estimate from the previous year it was measured in, with its CI.

    The two years are independent samples, so the standard error of the change is
    ``√(se₁² + se₂²)`` and the interval is ``Δ ± z·se``.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, key, group_by, group, year, previous_year, value, previous, change,
        se, low, high``; one row per estimate that has an earlier year.
    """
    z = z_value(confidence)
    keys = ["kind", "key", "group_by", "group"]
    ordered = estimates.sort_values([*keys, "year"], kind="stable", ignore_index=True)
    earlier = ordered.groupby(keys, sort=False, dropna=False)[["year", "value", "se"]].shift(1)
    has_earlier = earlier["year"].notna()
    now, before = ordered[has_earlier], earlier[has_earlier]
    se = np.sqrt(np.square(now["se"]) + np.square(before["se"]))
    change = now["value"] - before["value"]
    return pd.DataFrame(
        {
            **{key: now[key] for key in keys},
            "year": now["year"],
            "previous_year": before["year"].astype(now["year"].dtype),
            "value": now["value"],
            "previous": before["value"],
            "change": change,
            "se": se,
            "low": change - z * se,
            "high": change + z * se,
        }
    ).reset_index(drop=True)
