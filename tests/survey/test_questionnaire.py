"""Tests of the questionnaire model: the shipped files, every schema rule and the analysis plan.

Bad files are written by hand (a small valid file with one thing broken) and must be refused
with the path of the broken part in the message.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.i18n import use_language
from cityloop.survey.items import NeedLevel, Role, Subject
from cityloop.survey.questionnaire import (
    check_against,
    dump_questionnaire,
    load_questionnaire,
    parse_questionnaire,
    shipped_questionnaire,
    shipped_questionnaire_ids,
)

CITIZEN = "citizen-experience-gbt33356-2016"
SHIPPED = (CITIZEN, "enterprise-gbt33356-2016", "government-gbt33356-2016")
# The candidate application codes shared with the needs analysis (applications.yaml).
APPLICATION_CODES = {
    "one_network_services": ("L1P1", "basic"),
    "mobile_gov_app": ("L1P1", "developmental"),
    "proactive_services": ("L1P1", "personalised"),
    "realtime_transit": ("L1P2", "basic"),
    "smart_parking": ("L1P2", "developmental"),
    "mobility_as_a_service": ("L1P2", "personalised"),
    "social_security_online": ("L1P3", "basic"),
    "online_appointment": ("L1P4", "basic"),
    "health_records": ("L1P4", "developmental"),
    "telemedicine": ("L1P4", "personalised"),
    "online_education": ("L1P5", "basic"),
    "smart_campus": ("L1P5", "developmental"),
    "job_matching": ("L1P6", "basic"),
    "utility_payments": ("L1P7", "basic"),
    "smart_community": ("L1P7", "developmental"),
    "elderly_care_platform": ("L1P7", "developmental"),
    "assistance_targeting": ("L1P8", "basic"),
    "grid_management": ("L2P1", "basic"),
    "city_operations_center": ("L2P1", "developmental"),
    "video_surveillance_sharing": ("L2P2", "basic"),
    "emergency_command": ("L2P2", "developmental"),
    "environment_monitoring": ("L3P1", "basic"),
    "energy_management": ("L3P2", "developmental"),
    "broadband_5g": ("L4P1", "basic"),
    "spatial_platform": ("L4P2", "developmental"),
    "data_sharing_exchange": ("L5P1", "basic"),
    "open_data_portal": ("L5P1", "developmental"),
    "data_market": ("L5P2", "personalised"),
    "security_operations": ("L6P1", "basic"),
    "enterprise_services_platform": ("L7P1", "developmental"),
    "industrial_internet": ("L7P1", "personalised"),
}

VALID: dict[str, Any] = {
    "id": "mini",
    "version": "1",
    "subject": "public",
    "framework": "gbt33356-2016",
    "title": {"zh": "小问卷", "en": "Mini"},
    "attributes": [
        {"id": "district", "text": {"zh": "区"}, "choices": "districts"},
        {
            "id": "gender",
            "text": {"zh": "性别"},
            "choices": [{"code": "m", "text": {"zh": "男"}}, {"code": "f", "text": {"zh": "女"}}],
        },
    ],
    "sections": [
        {
            "id": "s1",
            "title": {"zh": "第一节"},
            "questions": [
                {
                    "id": "used",
                    "kind": "single",
                    "text": {"zh": "用过吗"},
                    "choices": [
                        {"code": "yes", "text": {"zh": "是"}},
                        {"code": "no", "text": {"zh": "否"}},
                    ],
                },
                {
                    "id": "sat",
                    "kind": "likert5",
                    "role": "satisfaction",
                    "item": "gov",
                    "domain": "L1P1",
                    "allow_na": True,
                    "text": {"zh": "满意吗"},
                    "show_if": {"question": "used", "any_of": ["yes"]},
                },
                {"id": "age", "kind": "numeric", "min": 0, "max": 120, "text": {"zh": "几岁"}},
            ],
        },
        {
            "id": "s2",
            "title": {"zh": "第二节"},
            "questions": [
                {
                    "id": "needs",
                    "kind": "multiple",
                    "role": "need",
                    "max_choices": 2,
                    "text": {"zh": "需要什么"},
                    "choices": [
                        {
                            "code": "parking",
                            "text": {"zh": "停车"},
                            "need": {
                                "domain": "L1P2",
                                "level": "developmental",
                                "application": "smart_parking",
                            },
                        },
                        {"code": "other", "text": {"zh": "别的"}},
                        {"code": "none", "text": {"zh": "没有"}, "exclusive": True},
                    ],
                },
                {
                    "id": "older",
                    "kind": "text",
                    "required": False,
                    "text": {"zh": "长者意见"},
                    "show_if": {"question": "age", "at_least": 60},
                },
            ],
        },
    ],
}


def parse(data: dict[str, Any]) -> Any:
    return parse_questionnaire(yaml.safe_dump(data, allow_unicode=True), "mini.yaml")


@pytest.fixture(scope="module")
def framework() -> Any:
    return load_framework("gbt33356-2016")


def test_the_three_shipped_questionnaires_are_listed() -> None:
    assert shipped_questionnaire_ids() == sorted(SHIPPED)


@pytest.mark.parametrize("questionnaire_id", SHIPPED)
def test_shipped_questionnaire_parses_checks_and_round_trips(
    questionnaire_id: str, framework: Any
) -> None:
    q = shipped_questionnaire(questionnaire_id)
    check_against(q, framework)
    again = parse_questionnaire(dump_questionnaire(q), "dumped.yaml")
    assert again == q
    assert again.plan() == q.plan()
    assert all(q.spec.title.en and question.text.en for question in q.questions())


@pytest.mark.parametrize("questionnaire_id", SHIPPED)
def test_need_choices_use_the_shared_application_codes(questionnaire_id: str) -> None:
    plan = shipped_questionnaire(questionnaire_id).plan()
    assert plan.needs and plan.need_texts
    for need in plan.needs:
        assert APPLICATION_CODES[need.application] == (need.domain, need.level.value)
    levels = {need.level for need in plan.needs}
    assert levels == set(NeedLevel)


def test_citizen_questionnaire_covers_the_domains_citizens_feel() -> None:
    q = shipped_questionnaire(CITIZEN)
    plan = q.plan()
    assert plan.subject == Subject.PUBLIC and plan.score_indicator == "L8P1-X"
    assert plan.attributes == ("district", "age_band", "gender", "occupation", "residence_years")
    domains = {"L1P1", "L1P2", "L1P3", "L1P4", "L1P5", "L1P6", "L1P7", "L2P1", "L2P2", "L3P1"}
    for role in (Role.SATISFACTION, Role.IMPORTANCE):
        rated = {r.domain for r in plan.rated if r.role == role}
        assert rated == domains | {"L4P1"}
    items = {r.item for r in plan.rated if r.role == Role.SATISFACTION}
    assert items == {r.item for r in plan.rated if r.role == Role.IMPORTANCE}
    overall = [r for r in plan.rated if r.role == Role.OVERALL]
    assert [(o.low, o.high, o.indicator) for o in overall] == [(0.0, 10.0, "L8P1-X")]
    assert {(r.low, r.high) for r in plan.rated if r.role != Role.OVERALL} == {(1.0, 5.0)}
    assert 30 <= len(q.questions()) <= 40
    needs = q.question("needs")
    assert needs.max_choices == 3 and any(c.exclusive for c in needs.choices or [])
    assert q.spec.notes is not None and "官方问卷" in q.spec.notes.zh
    assert "not the standard's official questionnaire" in q.spec.notes.en


def test_government_and_enterprise_attributes() -> None:
    government = shipped_questionnaire("government-gbt33356-2016")
    assert government.plan().attributes == ("department", "level")
    assert "L5P1" in {n.domain for n in government.plan().needs}
    enterprise = shipped_questionnaire("enterprise-gbt33356-2016")
    assert enterprise.plan().attributes == ("industry", "size", "district")
    assert enterprise.plan().subject == Subject.ENTERPRISE


def test_plan_and_question_lookup_of_a_small_file() -> None:
    q = parse(VALID)
    assert [x.id for x in q.questions()] == ["used", "sat", "age", "needs", "older"]
    assert q.question("age").max == 120
    plan = q.plan()
    assert [(r.question, r.item, r.low, r.high) for r in plan.rated] == [("sat", "gov", 1, 5)]
    assert [(n.question, n.choice, n.application) for n in plan.needs] == [
        ("needs", "parking", "smart_parking")
    ]
    assert plan.need_texts == () and plan.attributes == ("district", "gender")
    with pytest.raises(KeyError):
        q.question("missing")


def test_load_from_disk_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(VALID, allow_unicode=True), encoding="utf-8")
    assert load_questionnaire(path) == parse(VALID)
    with pytest.raises(InputError, match=r"nowhere\.yaml"):
        load_questionnaire(tmp_path / "nowhere.yaml")
    with pytest.raises(InputError, match="no-such"):
        shipped_questionnaire("no-such")


Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _q(s: int, q: int, *rest: Any) -> tuple[Any, ...]:
    return ("sections", s, "questions", q, *rest)


BAD_FILES: list[tuple[str, Mutation, str, str]] = [
    ("unknown kind", _set(_q(0, 2, "kind"), "slider"), "sections[0].questions[2].kind", "slider"),
    ("duplicate id", _set(_q(1, 1, "id"), "age"), "sections[1].questions[1].id", "age"),
    ("attribute id reused", _set(_q(0, 0, "id"), "gender"), "sections[0].questions[0].id", ""),
    ("rated without item", _set(_q(0, 1, "item"), None), "sections[0].questions[1].item", ""),
    ("rated without domain", _set(_q(0, 1, "domain"), None), "questions[1].domain", ""),
    ("unknown need level", _set(_q(1, 0, "choices", 0, "need", "level"), "huge"), "need.level", ""),
    ("choices missing", _set(_q(0, 0, "choices"), None), "sections[0].questions[0].choices", ""),
    ("min above max", _set(_q(0, 2, "min"), 200), "sections[0].questions[2].min", "200"),
    ("forward show_if", _set(_q(0, 1, "show_if", "question"), "needs"), "show_if.question", ""),
    ("unknown show_if", _set(_q(0, 1, "show_if", "question"), "nope"), "show_if.question", ""),
    ("show_if bad code", _set(_q(0, 1, "show_if", "any_of"), ["maybe"]), "show_if.any_of", ""),
    ("show_if two rules", _set(_q(0, 1, "show_if", "at_least"), 1), "questions[1].show_if", ""),
    ("show_if at_least on choice", _set(_q(1, 1, "show_if", "question"), "used"), "show_if", ""),
    (
        "choices on likert",
        _set(_q(0, 1, "choices"), [{"code": "a", "text": {"zh": "a"}}]),
        "questions[1].choices",
        "likert5",
    ),
    ("allow_na on numeric", _set(_q(0, 2, "allow_na"), True), "questions[2].allow_na", ""),
    ("max_choices too many", _set(_q(1, 0, "max_choices"), 9), "questions[0].max_choices", "9"),
    ("text over cap", _set(_q(1, 1, "max_length"), 5000), "questions[1].max_length", "2000"),
    ("duplicate choice", _set(_q(0, 0, "choices", 1, "code"), "yes"), "choices[1].code", ""),
    ("exclusive on single", _set(_q(0, 0, "choices", 0, "exclusive"), True), "exclusive", ""),
    ("need on non-need", _set(_q(1, 0, "role"), "other"), "questions[0].choices", ""),
    ("need without needs", _set(_q(1, 0, "choices", 0, "need"), None), "[0].choices", ""),
    ("rated on numeric", _set(_q(0, 2, "role"), "importance"), "questions[2].kind", ""),
    ("unknown field", _set(_q(0, 2, "maximum"), 3), "questions[2].maximum", ""),
    ("bad id", _set(_q(0, 2, "id"), "Age!"), "questions[2].id", ""),
    ("no sections", _set(("sections",), []), "sections", ""),
    ("unknown subject", _set(("subject",), "aliens"), "subject", ""),
    ("reserved code", _set(_q(0, 0, "choices", 1, "code"), "na"), "choices[1].code", ""),
]


@pytest.mark.parametrize(
    ("case", "mutate", "path", "detail"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_each_broken_rule_is_refused_with_its_path(
    case: str, mutate: Mutation, path: str, detail: str
) -> None:
    data = copy.deepcopy(VALID)
    mutate(data)
    with pytest.raises(InputError) as caught:
        parse(data)
    message = caught.value.render("en")
    assert "mini.yaml" in message and path in message and detail in message, case
    assert all(p.location.row is not None for p in caught.value.problems)


def test_several_faults_are_reported_at_once() -> None:
    data = copy.deepcopy(VALID)
    _set(_q(0, 2, "min"), 500)(data)
    _set(_q(1, 1, "id"), "used")(data)
    _set(_q(0, 1, "domain"), None)(data)
    with pytest.raises(InputError) as caught:
        parse(data)
    columns = [p.location.column for p in caught.value.problems]
    assert columns == [
        "sections[0].questions[1].domain",
        "sections[0].questions[2].min",
        "sections[1].questions[1].id",
    ]


def test_yaml_syntax_and_non_mapping_are_refused_with_the_line() -> None:
    with pytest.raises(InputError) as caught:
        parse_questionnaire("id: x\nsections: [\n  - a: b\n", "broken.yaml")
    assert caught.value.problems[0].location.row is not None
    assert "broken.yaml" in caught.value.render("en")
    with pytest.raises(InputError, match=r"mapping|映射"):
        parse_questionnaire("- just\n- a list\n", "list.yaml")


def test_check_against_names_the_question_with_an_unknown_code(framework: Any) -> None:
    data = copy.deepcopy(VALID)
    _set(_q(0, 1, "domain"), "L9P9")(data)
    _set(_q(0, 1, "indicator"), "L1P1-Z9")(data)
    _set(_q(1, 0, "choices", 0, "need", "domain"), "Q1")(data)
    data["score_indicator"] = "NOPE"
    q = parse(data)
    with pytest.raises(InputError) as caught:
        check_against(q, framework)
    found = {(p.location.column, p.params["code"]) for p in caught.value.problems}
    assert found == {
        ("score_indicator", "NOPE"),
        ("sat", "L9P9"),
        ("sat", "L1P1-Z9"),
        ("needs.parking", "Q1"),
    }
    with use_language("en"):
        assert "L9P9" in str(caught.value)


def test_check_against_refuses_another_framework() -> None:
    other = load_framework("gbt33356-2022")
    with pytest.raises(InputError) as caught:
        check_against(parse(VALID), other)
    assert any(p.key == "questionnaire.wrong_framework" for p in caught.value.problems)


def test_dump_is_editable_yaml_that_keeps_edits() -> None:
    q = parse(VALID)
    text = dump_questionnaire(q)
    assert "满意吗" in text and "show_if" in text
    edited = parse_questionnaire(text.replace("满意吗", "您满意吗"), "edited.yaml")
    assert edited != q and edited.question("sat").text.zh == "您满意吗"
