"""Tests of the needs dictionary, text classification, needs ranking and the term rule.

Faults in the YAML files must name file, entry and field; shares are checked by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.survey.items import AnalysisPlan, NeedChoice, NeedLevel, Responses, Subject, Term
from cityloop.survey.needs import candidate_applications, classify_texts, rank_needs
from cityloop.survey.needs_dictionary import (
    load_catalogue,
    load_dictionary,
    parse_catalogue,
    parse_dictionary,
)
from cityloop.survey.weighting import weighted_share

SHARED_CODES = {
    "one_network_services", "mobile_gov_app", "proactive_services", "realtime_transit",
    "smart_parking", "mobility_as_a_service", "social_security_online", "online_appointment",
    "health_records", "telemedicine", "online_education", "smart_campus", "job_matching",
    "utility_payments", "smart_community", "elderly_care_platform", "assistance_targeting",
    "grid_management", "city_operations_center", "video_surveillance_sharing",
    "emergency_command", "environment_monitoring", "energy_management", "broadband_5g",
    "spatial_platform", "data_sharing_exchange", "open_data_portal", "data_market",
    "security_operations", "enterprise_services_platform", "industrial_internet",
}  # fmt: skip


def test_packaged_catalogue_has_the_shared_codes_in_framework_domains() -> None:
    catalogue = load_catalogue()
    assert set(catalogue) == SHARED_CODES
    framework_codes = set(load_framework("gbt33356-2016").codes)
    assert {app.domain for app in catalogue.values()} <= framework_codes
    assert catalogue["telemedicine"].level is NeedLevel.PERSONALISED
    assert catalogue["telemedicine"].term is Term.LONG
    assert catalogue["realtime_transit"].name_zh == "公交实时到站"
    dictionary = load_dictionary()
    assert {e.application for e in dictionary.entries} <= set(catalogue)


def problems_of(call: object) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InputError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.key == "survey.dictionary_invalid"
    return [(p.location.row, p.location.column, p.key) for p in caught.value.problems]


def test_dictionary_errors_name_file_entry_and_field() -> None:
    catalogue = load_catalogue()
    data = {
        "entries": [
            {"application": "smart_parking", "keywords": {"zh": ["停车"]}},
            {"application": "no_such_app", "keywords": {"zh": ["x"]}},
            {"application": "smart_parking", "keywords": {"zh": ["车位"]}},
            {"keywords": {"zh": ["x"]}},
            {"application": "telemedicine", "keywords": {"zh": []}, "colour": "red"},
            {"application": "broadband_5g", "keywords": {"fr": ["x"]}},
        ]
    }
    found = problems_of(lambda: parse_dictionary(data, catalogue, "mine.yaml"))
    assert found == [
        (2, "application", "survey.dict_application_unknown"),
        (3, "application", "survey.dict_duplicate"),
        (4, "application", "survey.dict_field_missing"),
        (5, "colour", "survey.dict_field_unknown"),
        (5, "keywords", "survey.dict_no_keywords"),
        (6, "keywords", "survey.dict_words_invalid"),
        (6, "keywords", "survey.dict_no_keywords"),
    ]
    with pytest.raises(InputError) as caught:
        parse_dictionary(data, catalogue, "mine.yaml")
    assert "mine.yaml" in str(caught.value)


def test_catalogue_errors() -> None:
    data = {
        "applications": [
            {"code": "Bad Code", "name": {"zh": "x", "en": "x"}, "domain": "L1P1",
             "level": "basic", "term": "near"},
            {"code": "ok", "name": {"zh": "x"}, "domain": "L1P1", "level": "basic",
             "term": "near"},
            {"code": "ok2", "name": {"zh": "x", "en": "y"}, "domain": "L1P1",
             "level": "urgent", "term": "near"},
        ]
    }  # fmt: skip
    assert problems_of(lambda: parse_catalogue(data, "apps.yaml")) == [
        (1, "code", "survey.dict_code_invalid"),
        (2, "name", "survey.dict_name_invalid"),
        (3, "level", "survey.dict_choice_invalid"),
    ]
    assert problems_of(lambda: parse_catalogue([], "apps.yaml")) == [
        (None, "applications", "survey.dict_section_missing")
    ]


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("entries: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match=r"d\.yaml"):
        load_dictionary(bad)


def test_classification_hits_misses_and_exclusions() -> None:
    texts = [
        "小区停车难，车位太少",  # smart_parking (停车难)
        "社保网上办理还要跑好几趟",  # social security; 社保 excludes one_network_services
        "希望按时发放养老金",  # social security (养老金), not elderly care (excluded)
        "Need better JOBS and a bus arrival app",  # whole words, any case
        "I am jobless",  # "job"/"jobs" are not whole words here
        "今天天气不错",  # nothing
        "小区停车难，车位太少",  # the same text again: classified again
    ]
    found = classify_texts(texts, load_dictionary())
    by_text = found.groupby("text")["application"].apply(set).to_dict()
    assert by_text[0] == {"smart_parking"}
    assert by_text[1] == {"social_security_online"}
    assert by_text[2] == {"social_security_online"}
    assert by_text[3] == {"job_matching", "realtime_transit"}
    assert 4 not in by_text and 5 not in by_text
    assert by_text[6] == {"smart_parking"}
    keyword = found[(found["text"] == 0)]["keyword"].iloc[0]
    assert keyword == "停车难"


def test_rank_needs_counts_each_respondent_once() -> None:
    plan = AnalysisPlan(
        "t", Subject.PUBLIC, "fw", None, (), (),
        (NeedChoice("n", "park", "L1P2", NeedLevel.DEVELOPMENTAL, "smart_parking"),
         NeedChoice("n", "bus", "L1P2", NeedLevel.BASIC, "realtime_transit")),
        ("free",),
    )  # fmt: skip
    frame = pd.DataFrame({"year": [2026] * 4})
    choices = pd.DataFrame(
        {"response": [0, 1, 1], "question": "n", "choice": ["park", "park", "bus"]}
    )
    # Respondent 0 also writes about parking (counted once); respondent 3 only writes.
    texts = pd.DataFrame(
        {"response": [0, 3, 2], "question": ["free", "free", "other"],
         "text": ["停车难", "车位不够", "停车难"]}
    )  # fmt: skip
    weights = np.array([1.0, 2.0, 1.0, 4.0])
    needs = rank_needs(plan, Responses(frame, choices, texts), weights).set_index("application")
    expected = weighted_share([1, 1, 0, 1], weights)
    assert needs.loc["smart_parking", "share"] == pytest.approx(7 / 8)
    assert needs.loc["smart_parking", "low"] == pytest.approx(expected.low)
    assert needs.loc["smart_parking", "respondents"] == 3
    assert needs.loc["smart_parking", "from_text"] == 2
    assert needs.loc["realtime_transit", "share"] == pytest.approx(2 / 8)
    assert needs.loc["smart_parking", "level"] == "developmental"
    assert list(needs.index) == ["smart_parking", "realtime_transit"]


def needs_frame(shares: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "application": list(shares),
            "share": [s for s, _ in shares.values()],
            "low": [low for _, low in shares.values()],
            "high": [s + 0.05 for s, _ in shares.values()],
            "respondents": 100,
            "n_eff": 400.0,
        }
    )


def test_term_rule_pulls_shared_strong_needs_one_term_earlier() -> None:
    catalogue = load_catalogue()
    by_subject = {
        Subject.PUBLIC: needs_frame(
            {
                "telemedicine": (0.5, 0.45),
                "smart_parking": (0.4, 0.35),
                "online_appointment": (0.6, 0.55),
            }
        ),
        Subject.GOVERNMENT: needs_frame(
            {"telemedicine": (0.3, 0.26), "online_appointment": (0.3, 0.3)}
        ),
        Subject.ENTERPRISE: needs_frame({"smart_parking": (0.3, 0.1)}),
    }
    found = {c.code: c for c in candidate_applications(by_subject, catalogue)}
    assert found["telemedicine"].term is Term.MIDDLE  # long, two strong subjects → middle
    assert found["telemedicine"].default_term is Term.LONG
    assert found["smart_parking"].term is Term.MIDDLE  # only one strong subject: unchanged
    assert found["online_appointment"].term is Term.NEAR  # already near
    assert found["online_appointment"].demand == pytest.approx(30.0)
    assert found["telemedicine"].subjects == (Subject.PUBLIC, Subject.GOVERNMENT)
    ranked = candidate_applications(by_subject, catalogue)
    assert [c.code for c in ranked] == ["online_appointment", "telemedicine", "smart_parking"]
    assert [c.rank for c in ranked] == [1, 2, 3]
