"""Server-side validation of one survey submission against its questionnaire.

Runs on every public submission, so each questionnaire's checks are prepared once and cached.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cityloop.errors import InputError, Location, Problem
from cityloop.survey.questionnaire import Questionnaire
from cityloop.survey.questionnaire_schema import (
    CHOICE_KINDS,
    NOT_APPLICABLE,
    SCALE_ENDS,
    Kind,
    Question,
    ShowIf,
)

Answer = float | str | list[str] | None
# Control characters other than tab and line breaks: never typed by a person, often an attack.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
DISTRICT_MAX_LENGTH = 100
_SHOWN_KEY_LENGTH = 64


@dataclass(frozen=True)
class Submission:
    """One validated submission.

    ``answers`` holds every question that was shown and answered; ``None`` is the
    "not used / don't know" answer of a rating question. Hidden or unanswered optional
    questions are absent.
    """

    attributes: dict[str, str]
    answers: dict[str, Answer]


class _AnswerRefusedError(Exception):
    """One answer broke a rule; carries the catalogue key and its parameters."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class _Field:
    """The prepared check of one attribute or question."""

    id: str
    required: bool
    parse: Callable[[Any], Answer]
    show_if: ShowIf | None = None


@dataclass(frozen=True)
class _Checker:
    attributes: tuple[_Field, ...]
    questions: tuple[_Field, ...]
    multiple: frozenset[str]
    known: frozenset[str]


_checkers: weakref.WeakKeyDictionary[Questionnaire, dict[tuple[str, ...], _Checker]] = (
    weakref.WeakKeyDictionary()
)


def validate_submission(
    q: Questionnaire, payload: Mapping[str, Any], districts: Sequence[str] = ()
) -> Submission:
    """Check one submission and return its clean answers, or refuse it with every fault.

    Parameters
    ----------
    q
        The questionnaire answered.
    payload
        Attribute or question id → raw value: a string from a form, or a JSON number,
        string or list of strings (multiple choice). Empty strings and ``None`` count as
        unanswered; ``"na"`` is "not used / don't know" on rating questions that allow it.
    districts
        The survey's districts, the choices of attributes declared ``choices: districts``.
        When empty, any short text is accepted for such attributes.

    Raises
    ------
    InputError
        ``questionnaire.submission_invalid`` with one problem per fault, each located at
        its question id (``Location.column``).
    """
    checker = _checker(q, tuple(districts))
    problems: list[Problem] = []
    for key in payload:
        if key not in checker.known:
            shown = str(key)[:_SHOWN_KEY_LENGTH]
            problems.append(_problem(shown, "questionnaire.answer_unknown_question", {}))
    attributes: dict[str, str] = {}
    for f in checker.attributes:
        value = _read(f, payload.get(f.id), problems)
        if isinstance(value, str):
            attributes[f.id] = value
    answers: dict[str, Answer] = {}
    unsure: set[str] = set()  # questions whose answer was refused: dependants cannot be judged
    for f in checker.questions:
        raw = payload.get(f.id)
        if f.show_if is not None:
            if f.show_if.question in unsure:
                unsure.add(f.id)
                continue
            if not _shown(f.show_if, answers, attributes):
                if not _blank(raw):
                    problems.append(_problem(f.id, "questionnaire.answer_hidden", {}))
                continue
        count = len(problems)
        value = _read(f, raw, problems)
        if len(problems) > count:
            unsure.add(f.id)
        elif value is not None or not _blank(raw):
            answers[f.id] = value
    if problems:
        raise InputError("questionnaire.submission_invalid", problems)
    return Submission(attributes, answers)


def form_payload(
    q: Questionnaire, form: Mapping[str, list[str]], ignore: Sequence[str] = ("csrf_token",)
) -> dict[str, Any]:
    """Turn an HTML form's multi-dict into a payload for ``validate_submission``.

    A multiple choice question's repeated keys become a list; any other key keeps its one
    value (several values stay a list, which validation refuses). Keys in ``ignore`` are the
    form's own fields (CSRF token, one-time token) and are dropped.
    """
    multiple = _checker(q, ()).multiple
    payload: dict[str, Any] = {}
    for key, values in form.items():
        if key in ignore:
            continue
        if key in multiple:
            payload[key] = [v for v in values if v.strip()]
        else:
            payload[key] = values[0] if len(values) == 1 else list(values)
    return payload


# -- preparing the checks ---------------------------------------------------------------------


def _checker(q: Questionnaire, districts: tuple[str, ...]) -> _Checker:
    by_districts = _checkers.setdefault(q, {})
    checker = by_districts.get(districts)
    if checker is None:
        checker = _prepare(q, districts)
        by_districts[districts] = checker
    return checker


def _prepare(q: Questionnaire, districts: tuple[str, ...]) -> _Checker:
    attributes = []
    for a in q.attributes:
        if isinstance(a.choices, list):
            parse = _one_of(frozenset(c.code for c in a.choices))
        else:  # ``choices: districts``: the survey's districts, given when it is opened
            parse = _one_of(frozenset(districts)) if districts else _district_text
        attributes.append(_Field(a.id, a.required, parse))
    questions = tuple(_Field(x.id, x.required, _parser(x), x.show_if) for x in q.questions())
    return _Checker(
        attributes=tuple(attributes),
        questions=questions,
        multiple=frozenset(x.id for x in q.questions() if x.kind == Kind.MULTIPLE),
        known=frozenset(f.id for f in (*attributes, *questions)),
    )


def _parser(question: Question) -> Callable[[Any], Answer]:
    kind = question.kind
    if kind in CHOICE_KINDS:
        codes = frozenset(c.code for c in question.choices or [])
        if kind == Kind.SINGLE:
            return _one_of(codes)
        exclusive = frozenset(c.code for c in question.choices or [] if c.exclusive)
        return _many_of(codes, exclusive, question.max_choices or len(codes))
    if kind == Kind.TEXT:
        return _text(question.text_limit)
    low, high = SCALE_ENDS.get(kind, (question.min, question.max))
    whole = kind != Kind.NUMERIC or question.integer
    return _number(low, high, whole=whole, allow_na=question.allow_na)


def _one_of(codes: frozenset[str]) -> Callable[[Any], Answer]:
    def parse(raw: Any) -> Answer:
        if isinstance(raw, list):
            raise _AnswerRefusedError("questionnaire.answer_one_expected")
        value = _string(raw)
        if value not in codes:
            raise _AnswerRefusedError(
                "questionnaire.answer_unknown_choice", choice=value[:_SHOWN_KEY_LENGTH]
            )
        return value

    return parse


def _many_of(
    codes: frozenset[str], exclusive: frozenset[str], most: int
) -> Callable[[Any], Answer]:
    def parse(raw: Any) -> Answer:
        items = raw if isinstance(raw, list) else [raw]
        picked = list(dict.fromkeys(_string(item) for item in items))
        unknown = [c for c in picked if c not in codes]
        if unknown:
            shown = ", ".join(unknown)[:_SHOWN_KEY_LENGTH]
            raise _AnswerRefusedError("questionnaire.answer_unknown_choice", choice=shown)
        if len(picked) > most:
            raise _AnswerRefusedError("questionnaire.answer_too_many", count=len(picked), most=most)
        alone = [c for c in picked if c in exclusive]
        if alone and len(picked) > 1:
            raise _AnswerRefusedError("questionnaire.answer_exclusive", choice=alone[0])
        return picked

    return parse


def _text(limit: int) -> Callable[[Any], Answer]:
    def parse(raw: Any) -> Answer:
        value = _string(raw)
        if len(value) > limit:
            raise _AnswerRefusedError(
                "questionnaire.answer_too_long", length=len(value), most=limit
            )
        return value

    return parse


def _district_text(raw: Any) -> Answer:
    value = _string(raw)
    if len(value) > DISTRICT_MAX_LENGTH:
        raise _AnswerRefusedError(
            "questionnaire.answer_too_long", length=len(value), most=DISTRICT_MAX_LENGTH
        )
    return value


def _number(
    low: float | None, high: float | None, *, whole: bool, allow_na: bool
) -> Callable[[Any], Answer]:
    def parse(raw: Any) -> Answer:
        if isinstance(raw, str):
            text = _clean(raw)
            if text == NOT_APPLICABLE:
                if allow_na:
                    return None
                raise _AnswerRefusedError("questionnaire.answer_na_not_allowed")
            try:
                value = float(text)
            except ValueError:
                raise _AnswerRefusedError("questionnaire.answer_not_number") from None
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            value = float(raw)
        else:
            raise _AnswerRefusedError("questionnaire.answer_not_number")
        if not math.isfinite(value):
            raise _AnswerRefusedError("questionnaire.answer_not_number")
        if whole and not value.is_integer():
            raise _AnswerRefusedError("questionnaire.answer_not_integer")
        if (low is not None and value < low) or (high is not None and value > high):
            shown_low = "−∞" if low is None else f"{low:g}"
            shown_high = "∞" if high is None else f"{high:g}"
            raise _AnswerRefusedError(
                "questionnaire.answer_out_of_range",
                value=f"{value:g}",
                low=shown_low,
                high=shown_high,
            )
        return value

    return parse


# -- reading one answer -----------------------------------------------------------------------


def _read(f: _Field, raw: Any, problems: list[Problem]) -> Answer:
    """The parsed answer, or None after adding a problem (or when blank and optional)."""
    if _blank(raw):
        if f.required:
            problems.append(_problem(f.id, "questionnaire.answer_missing", {}))
        return None
    try:
        return f.parse(raw)
    except _AnswerRefusedError as refused:
        problems.append(_problem(f.id, refused.key, refused.params))
        return None


def _blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list):
        return all(isinstance(item, str) and not item.strip() for item in raw)
    return False


def _string(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _AnswerRefusedError("questionnaire.answer_not_text")
    return _clean(raw)


def _clean(raw: str) -> str:
    if _CONTROL.search(raw):
        raise _AnswerRefusedError("questionnaire.answer_control_chars")
    return raw.strip()


def _shown(rule: ShowIf, answers: Mapping[str, Answer], attributes: Mapping[str, str]) -> bool:
    value = answers.get(rule.question, attributes.get(rule.question))
    if value is None:
        return False
    if rule.any_of is not None:
        picked = value if isinstance(value, list) else [value]
        return any(code in rule.any_of for code in picked)
    if not isinstance(value, float):
        return False
    return (rule.at_least is None or value >= rule.at_least) and (
        rule.at_most is None or value <= rule.at_most
    )


def _problem(column: str, key: str, params: Mapping[str, Any]) -> Problem:
    return Problem(key, dict(params), Location(column=column))
