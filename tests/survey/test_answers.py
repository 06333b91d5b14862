"""Tests of server-side submission validation: hand-written cases and hypothesis properties.

Random valid submissions drawn from the shipped questionnaires must pass; corrupting one answer
must fail, naming exactly that question.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.survey.answers import form_payload, validate_submission
from cityloop.survey.questionnaire import Questionnaire, shipped_questionnaire
from cityloop.survey.questionnaire_schema import Kind, Question
from tests.survey.test_questionnaire import VALID, parse

CITIZEN = shipped_questionnaire("citizen-experience-gbt33356-2016")
ALL = [
    CITIZEN,
    shipped_questionnaire("government-gbt33356-2016"),
    shipped_questionnaire("enterprise-gbt33356-2016"),
]
DISTRICTS = ("东城区", "西城区", "朝阳区")


def full_answers() -> dict[str, Any]:
    """A complete, valid citizen submission in form-string style."""
    payload: dict[str, Any] = {
        "district": "朝阳区",
        "age_band": "35-44",
        "gender": "female",
        "occupation": "enterprise",
        "residence_years": "10+",
    }
    for q in CITIZEN.questions():
        if q.kind == Kind.SINGLE:
            payload[q.id] = "yes"
        elif q.kind == Kind.LIKERT5:
            payload[q.id] = "4"
        elif q.kind == Kind.LIKERT11:
            payload[q.id] = "9"
        elif q.kind == Kind.TEXT:
            payload[q.id] = "  希望多建停车场  "
    payload["gov_channels"] = ["mobile_app", "hall"]
    payload["needs"] = ["smart_parking", "telemedicine", "realtime_transit"]
    return payload


def problems_of(q: Questionnaire, payload: dict[str, Any]) -> dict[str, str]:
    """Question id → catalogue key of each refused answer."""
    with pytest.raises(InputError) as caught:
        validate_submission(q, payload, DISTRICTS)
    assert caught.value.key == "questionnaire.submission_invalid"
    return {str(p.location.column): p.key for p in caught.value.problems}


def test_a_full_valid_submission_is_accepted_and_cleaned() -> None:
    submission = validate_submission(CITIZEN, full_answers(), DISTRICTS)
    assert submission.attributes["district"] == "朝阳区"
    assert submission.answers["sat_transport"] == 4.0
    assert submission.answers["overall_satisfaction"] == 9.0
    assert submission.answers["needs"] == ["smart_parking", "telemedicine", "realtime_transit"]
    assert submission.answers["needs_text"] == "希望多建停车场"
    assert len(submission.answers) == len(CITIZEN.questions())


def test_not_applicable_optional_and_json_values() -> None:
    payload = full_answers()
    payload.update(sat_transport="na", overall_satisfaction=7, needs_text="", needs=["none"])
    submission = validate_submission(CITIZEN, payload, DISTRICTS)
    assert submission.answers["sat_transport"] is None
    assert submission.answers["overall_satisfaction"] == 7.0
    assert submission.answers["needs"] == ["none"]
    assert "needs_text" not in submission.answers


def test_skip_logic_hides_questions_and_refuses_answers_to_them() -> None:
    payload = full_answers()
    payload["used_medical"] = "no"
    assert problems_of(CITIZEN, payload) == {"sat_medical": "questionnaire.answer_hidden"}
    del payload["sat_medical"]
    submission = validate_submission(CITIZEN, payload, DISTRICTS)
    assert "sat_medical" not in submission.answers


def test_numeric_skip_logic() -> None:
    q = parse(VALID)
    young = {"district": "东城区", "gender": "f", "used": "no", "age": "30", "needs": "parking"}
    assert validate_submission(q, young, DISTRICTS).answers["needs"] == ["parking"]
    assert problems_of(q, young | {"older": "意见"}) == {"older": "questionnaire.answer_hidden"}
    old = young | {"age": "75", "older": "  多设座椅 "}
    assert validate_submission(q, old, DISTRICTS).answers["older"] == "多设座椅"
    assert "older" not in validate_submission(q, young | {"age": "75"}, DISTRICTS).answers
    choice = young | {"used": "yes", "sat": "5"}
    assert validate_submission(q, choice, DISTRICTS).answers["sat"] == 5.0


SCRIPT = "<script>alert('x')</script>"


def test_script_looking_text_is_stored_as_text() -> None:
    payload = full_answers() | {"needs_text": SCRIPT}
    assert validate_submission(CITIZEN, payload, DISTRICTS).answers["needs_text"] == SCRIPT


BAD_ANSWERS: list[tuple[str, Any, str]] = [
    ("sat_transport", "6", "questionnaire.answer_out_of_range"),
    ("sat_transport", "0", "questionnaire.answer_out_of_range"),
    ("sat_transport", "3.5", "questionnaire.answer_not_integer"),
    ("sat_transport", "很好", "questionnaire.answer_not_number"),
    ("sat_transport", True, "questionnaire.answer_not_number"),
    ("sat_transport", "nan", "questionnaire.answer_not_number"),
    ("imp_transport", "na", "questionnaire.answer_na_not_allowed"),
    ("overall_satisfaction", 11, "questionnaire.answer_out_of_range"),
    ("overall_satisfaction", ["5"], "questionnaire.answer_not_number"),
    ("used_transit", "maybe", "questionnaire.answer_unknown_choice"),
    ("used_transit", ["yes", "no"], "questionnaire.answer_one_expected"),
    ("used_transit", 1, "questionnaire.answer_not_text"),
    ("needs", ["smart_parking", "bogus"], "questionnaire.answer_unknown_choice"),
    (
        "needs",
        ["smart_parking", "telemedicine", "realtime_transit", "broadband_5g"],
        "questionnaire.answer_too_many",
    ),
    ("needs", ["none", "smart_parking"], "questionnaire.answer_exclusive"),
    ("needs_text", "长" * 501, "questionnaire.answer_too_long"),
    ("needs_text", "ok\x00", "questionnaire.answer_control_chars"),
    ("needs_text", "bell\x07", "questionnaire.answer_control_chars"),
    ("gender", "", "questionnaire.answer_missing"),
    ("district", "火星区", "questionnaire.answer_unknown_choice"),
    ("age_band", "  ", "questionnaire.answer_missing"),
    ("sat_city_services", None, "questionnaire.answer_missing"),
    ("no_such_question", "1", "questionnaire.answer_unknown_question"),
]


@pytest.mark.parametrize(("question", "value", "key"), BAD_ANSWERS)
def test_each_bad_answer_is_refused_naming_the_question(
    question: str, value: Any, key: str
) -> None:
    payload = full_answers() | {question: value}
    assert problems_of(CITIZEN, payload) == {question: key}


def test_every_problem_is_reported_at_once_and_rendered() -> None:
    payload = full_answers() | {"sat_transport": "9", "needs": ["x"], "extra": "1"}
    del payload["gender"]
    with pytest.raises(InputError) as caught:
        validate_submission(CITIZEN, payload, DISTRICTS)
    assert [p.location.column for p in caught.value.problems] == [
        "extra",
        "gender",
        "sat_transport",
        "needs",
    ]
    english = caught.value.render("en")
    assert "4 problem(s)" in english and "1 to 5" in english


def test_refused_controlling_answer_does_not_blame_its_dependants() -> None:
    payload = full_answers() | {"used_gov_services": "perhaps"}
    assert problems_of(CITIZEN, payload) == {
        "used_gov_services": "questionnaire.answer_unknown_choice"
    }


def test_districts_not_given_accept_short_text() -> None:
    payload = full_answers() | {"district": "某区"}
    assert validate_submission(CITIZEN, payload).attributes["district"] == "某区"
    with pytest.raises(InputError):
        validate_submission(CITIZEN, payload | {"district": "区" * 101})


def test_form_payload_turns_repeated_keys_into_lists() -> None:
    form = {k: (v if isinstance(v, list) else [v]) for k, v in full_answers().items()}
    form["csrf_token"] = ["abc"]
    form["needs"] = ["smart_parking", ""]
    payload = form_payload(CITIZEN, form)
    assert "csrf_token" not in payload
    assert payload["needs"] == ["smart_parking"] and payload["gender"] == "female"
    assert validate_submission(CITIZEN, payload, DISTRICTS).answers["needs"] == ["smart_parking"]
    form["gender"] = ["male", "female"]
    assert problems_of(CITIZEN, form_payload(CITIZEN, form)) == {
        "gender": "questionnaire.answer_one_expected"
    }


# -- properties -------------------------------------------------------------------------------


def _valid_value(draw: st.DrawFn, q: Question) -> Any:
    if q.kind in (Kind.LIKERT5, Kind.LIKERT11):
        low, high = (1, 5) if q.kind == Kind.LIKERT5 else (0, 10)
        value = draw(st.integers(low, high))
        pick = draw(st.sampled_from([value, str(value), f" {value} ", float(value)]))
        return draw(st.sampled_from(["na", pick])) if q.allow_na else pick
    if q.kind == Kind.NUMERIC:
        low = q.min if q.min is not None else -1e6
        high = q.max if q.max is not None else 1e6
        if q.integer:
            return str(draw(st.integers(int(low), int(high))))
        return draw(st.floats(low, high, allow_nan=False))
    codes = [c.code for c in q.choices or []]
    if q.kind == Kind.SINGLE:
        return draw(st.sampled_from(codes))
    if q.kind == Kind.MULTIPLE:
        exclusive = [c.code for c in q.choices or [] if c.exclusive]
        ordinary = [c for c in codes if c not in exclusive]
        if exclusive and draw(st.booleans()):
            return [draw(st.sampled_from(exclusive))]
        most = min(q.max_choices or len(ordinary), len(ordinary))
        return draw(st.lists(st.sampled_from(ordinary), min_size=1, max_size=most, unique=True))
    return draw(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), max_size=40))


def _visible(q: Question, payload: dict[str, Any]) -> bool:
    rule = q.show_if
    if rule is None:
        return True
    value = payload.get(rule.question)
    if value is None or value == "na":
        return False
    if rule.any_of is not None:
        picked = value if isinstance(value, list) else [value]
        return bool(set(picked) & set(rule.any_of))
    number = float(value)
    return (rule.at_least is None or number >= rule.at_least) and (
        rule.at_most is None or number <= rule.at_most
    )


@st.composite
def submissions(draw: st.DrawFn) -> tuple[Questionnaire, dict[str, Any]]:
    q = draw(st.sampled_from(ALL))
    payload: dict[str, Any] = {}
    for attribute in q.attributes:
        if isinstance(attribute.choices, list):
            payload[attribute.id] = draw(st.sampled_from([c.code for c in attribute.choices]))
        else:
            payload[attribute.id] = draw(st.sampled_from(DISTRICTS))
    for question in q.questions():
        if not _visible(question, payload):
            continue
        if question.required or draw(st.booleans()):
            value = _valid_value(draw, question)
            if value != "" and value != []:
                payload[question.id] = value
    return q, payload


def _corrupt(draw: st.DrawFn, q: Questionnaire, field: str) -> Any:
    attribute = next((a for a in q.attributes if a.id == field), None)
    if attribute is not None:
        return draw(st.sampled_from(["not_a_code", "", 3]))
    question = q.question(field)
    if question.kind in (Kind.LIKERT5, Kind.LIKERT11):
        return draw(st.sampled_from(["11", "-1", "abc", "2.5", {"x": 1}]))
    if question.kind == Kind.NUMERIC:
        above = (question.max or 0) + 1
        return draw(st.sampled_from([str(above), "一百", "1\x00"]))
    if question.kind == Kind.SINGLE:
        return draw(st.sampled_from(["not_a_code", ["a", "b"], 7]))
    if question.kind == Kind.MULTIPLE:
        codes = [c.code for c in question.choices or []]
        return draw(st.sampled_from([["not_a_code"], [*codes, "not_a_code"], [5]]))
    return draw(st.sampled_from(["x" * (question.text_limit + 1), "bad\x1b[0m", 42]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(submissions())
def test_random_valid_submissions_pass(drawn: tuple[Questionnaire, dict[str, Any]]) -> None:
    q, payload = drawn
    submission = validate_submission(q, payload, DISTRICTS)
    assert set(submission.attributes) == {a.id for a in q.attributes}
    assert set(submission.answers) <= set(payload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(submissions(), st.data())
def test_corrupting_one_answer_fails_naming_that_question(
    drawn: tuple[Questionnaire, dict[str, Any]], data: st.DataObject
) -> None:
    q, payload = drawn
    field = data.draw(st.sampled_from(sorted(payload)))
    payload = payload | {field: _corrupt(data.draw, q, field)}
    with pytest.raises(InputError) as caught:
        validate_submission(q, payload, DISTRICTS)
    assert {p.location.column for p in caught.value.problems} == {field}
