"""Tables made from a survey's stored responses frame: the ``Responses`` analysis reads, the
responses by code (re-importable) or by wording for exports, and the candidate applications.

Pure pandas over ``db.surveys.responses_frame`` output; nothing here reads or writes the store.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.datahub.survey_table import MULTIPLE_JOIN, asked_items
from cityloop.i18n import current_language, pick
from cityloop.survey.items import Responses
from cityloop.survey.needs import CandidateApplication
from cityloop.survey.questionnaire import Questionnaire
from cityloop.survey.questionnaire_schema import (
    CHOICE_KINDS,
    DISTRICTS,
    NOT_APPLICABLE,
    Kind,
    ShowIf,
)

RESPONSE_META = ("receipt", "submitted_at", "source")


def responses_of(q: Questionnaire, stored: pd.DataFrame, year: int) -> Responses:
    """``Responses`` from a stored-responses frame (``db.surveys.responses_frame``).

    Attributes become text columns and rated questions float columns (NaN where not asked or
    not answered); every choice question's picks go to the long ``choices`` table and every
    text question's answers to ``texts``.
    """
    plan = q.plan()
    n = len(stored)
    columns: dict[str, object] = {"year": np.full(n, year, dtype=np.int64)}
    for attribute in plan.attributes:
        columns[attribute] = (
            stored[attribute].astype(object).to_numpy()
            if attribute in stored
            else np.full(n, None, dtype=object)
        )
    for rated in plan.rated:
        columns[rated.question] = (
            pd.to_numeric(stored[rated.question], errors="coerce").to_numpy(dtype=np.float64)
            if rated.question in stored
            else np.full(n, np.nan)
        )
    frame = pd.DataFrame(columns)
    picks = [
        _long(stored, question.id, "choice")
        for question in q.questions()
        if question.kind in CHOICE_KINDS and question.id in stored
    ]
    texts = [
        _long(stored, question.id, "text")
        for question in q.questions()
        if question.kind == Kind.TEXT and question.id in stored
    ]
    return Responses(frame, _stack(picks, "choice"), _stack(texts, "text"))


def _long(stored: pd.DataFrame, question: str, name: str) -> pd.DataFrame:
    """One question's answers as (response, question, value) rows; lists are exploded."""
    values = stored[question].explode() if name == "choice" else stored[question]
    values = values[values.notna()]
    return pd.DataFrame(
        {"response": values.index.to_numpy(dtype=np.intp), "question": question, name: values}
    ).reset_index(drop=True)


def _stack(parts: list[pd.DataFrame], name: str) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({"response": np.zeros(0, np.intp), "question": [], name: []})
    return pd.concat(parts, ignore_index=True).astype({name: str})


def coded_responses(q: Questionnaire, stored: pd.DataFrame) -> pd.DataFrame:
    """Responses with question ids as headers and choice codes as cells (┋ between picks)."""
    ids = [item.id for item in asked_items(q)]
    frame = stored.reindex(columns=[*RESPONSE_META, *ids])
    # "Not used / don't know" is stored as null, like an unanswered question: a required
    # question that was shown and has no value can only have been answered "na".
    for x in q.questions():
        if x.allow_na and x.required:
            shown = _shown(frame, x.show_if) & frame[x.id].isna().to_numpy()
            frame[x.id] = frame[x.id].astype(object).where(~shown, NOT_APPLICABLE)
    for column in ids:
        frame[column] = frame[column].map(_joined, na_action="ignore")
    frame["submitted_at"] = frame["submitted_at"].astype(str)
    return frame


def labelled_responses(
    q: Questionnaire, stored: pd.DataFrame, districts: list[dict[str, str]], lang: str | None
) -> pd.DataFrame:
    """Responses with question wording as headers and choice wording as cells."""
    frame = coded_responses(q, stored)
    english = (lang or current_language()) == "en"
    district_names = {
        d["code"]: (d.get("name_en") if english else None) or d.get("name_zh") or d["code"]
        for d in districts
    }
    asked = asked_items(q)
    for item in asked:
        choices = item.choices or []
        labels = (
            district_names
            if choices == DISTRICTS
            else {c.code: pick(c.text.as_dict(), lang) for c in choices if not isinstance(c, str)}
        )
        if labels:
            frame[item.id] = frame[item.id].map(_labeller(labels), na_action="ignore")
    headers = {item.id: f"{item.id} {pick(item.text.as_dict(), lang)}" for item in asked}
    return frame.rename(columns=headers)


def candidates_frame(candidates: list[CandidateApplication], lang: str | None) -> pd.DataFrame:
    """Candidate applications as a table: rank, code, name, domain, level, term, demand."""
    english = (lang or current_language()) == "en"
    return pd.DataFrame(
        {
            "rank": [c.rank for c in candidates],
            "application": [c.code for c in candidates],
            "name": [c.name_en if english else c.name_zh for c in candidates],
            "domain": [c.domain for c in candidates],
            "level": [c.level.value for c in candidates],
            "term": [c.term.value for c in candidates],
            "demand": [c.demand for c in candidates],
            "subjects": [", ".join(s.value for s in c.subjects) for c in candidates],
        }
    )


def _shown(frame: pd.DataFrame, rule: ShowIf | None) -> npt.NDArray[np.bool_]:
    """Which responses were shown a question with this skip rule."""
    if rule is None:
        return np.ones(len(frame), dtype=bool)
    values = frame[rule.question]
    if rule.any_of is not None:
        wanted = set(rule.any_of)
        return (
            values.map(
                lambda v: bool(wanted.intersection(v if isinstance(v, list | np.ndarray) else [v])),
                na_action="ignore",
            )
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    low = -np.inf if rule.at_least is None else rule.at_least
    high = np.inf if rule.at_most is None else rule.at_most
    return (number >= low) & (number <= high)


def _labeller(labels: dict[str, str]) -> Callable[[object], str]:
    """Replace each code of a (┋-joined) cell with its wording."""

    def label(cell: object) -> str:
        codes = str(cell).split(MULTIPLE_JOIN)
        return MULTIPLE_JOIN.join(labels.get(code, code) for code in codes)

    return label


def _joined(cell: object) -> object:
    if isinstance(cell, list | tuple | np.ndarray):
        return MULTIPLE_JOIN.join(str(code) for code in cell)
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell
