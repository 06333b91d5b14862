"""The collection service on both backends: opening from a shipped or stored questionnaire with
the city's districts, signed one-time tokens, validation before anything is queued, the device
hash, and the per-address rate limit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from cityloop.errors import InputError
from cityloop.services import survey_collect
from cityloop.services.survey_collect import Collector, SurveySettings, SurveyUnavailableError
from cityloop.store import Database
from cityloop.store.models import SurveyResponse, SurveyStatus
from cityloop.store.survey_writer import Outcome
from cityloop.survey.questionnaire import dump_questionnaire, shipped_questionnaire
from cityloop.web.ratelimit import RateLimiter
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["backend", "db", "db_url", "empty_db", "mini", "mini_demo"]

CITIZEN = "citizen-experience-gbt33356-2016"
SECRET = "s" * 48
CITY = "110100"


def payload(**changes: object) -> dict[str, object]:
    """A valid answer set that says "no" to every follow-up question."""
    q = shipped_questionnaire(CITIZEN)
    answers: dict[str, object] = {"district": "110101"}
    for a in q.attributes:
        if a.choices != "districts":
            answers[a.id] = a.choices[0].code
    for x in q.questions():
        if x.show_if is not None:
            continue
        kind = x.kind.value
        if kind == "single":
            codes = [c.code for c in x.choices or []]
            answers[x.id] = "no" if "no" in codes else codes[0]
        elif kind == "multiple":
            answers[x.id] = [next(c.code for c in x.choices or [] if not c.exclusive)]
        elif kind in ("likert5", "likert11"):
            answers[x.id] = 3
        elif kind == "numeric":
            answers[x.id] = x.min or 1
    answers.update(changes)
    return answers


def test_a_survey_opens_with_the_shipped_questionnaire_and_the_citys_districts(
    db: Database, mini_demo: Demo
) -> None:
    db.load_units(mini_demo.units, "alice")
    survey = survey_collect.open_survey(db, CITY, CITIZEN, year=2026, actor="alice")
    assert survey.status == SurveyStatus.OPEN
    assert survey.questionnaire_yaml == dump_questionnaire(shipped_questionnaire(CITIZEN))
    expected = mini_demo.units.table
    districts = expected.index[expected["parent"] == CITY].astype(str).tolist()
    assert [d["code"] for d in survey.districts] == districts and districts
    with pytest.raises(InputError):
        survey_collect.open_survey(db, CITY, "no-such-questionnaire", year=2026, actor="alice")


def test_a_stored_questionnaire_version_wins_and_the_survey_keeps_its_text(
    db: Database, mini_demo: Demo
) -> None:
    db.load_units(mini_demo.units, "alice")
    shipped = shipped_questionnaire(CITIZEN)
    text = dump_questionnaire(shipped.__class__(shipped.spec.model_copy(update={"version": "2.0"})))
    db.surveys.save_questionnaire(CITIZEN, "2.0", text, actor="alice")
    survey = survey_collect.open_survey(db, CITY, CITIZEN, year=2026, actor="alice", districts=[])
    assert survey.questionnaire_version == "2.0" and survey.questionnaire_yaml == text


def test_tokens_validation_and_the_writer(db: Database, mini_demo: Demo) -> None:
    db.load_units(mini_demo.units, "alice")
    row = survey_collect.open_survey(db, CITY, CITIZEN, year=2026, actor="alice")
    collector = Collector(db, SECRET, SurveySettings(fresh_seconds=0.0))
    try:
        survey = collector.survey(row.slug)
        token = collector.issue_token(survey)
        assert collector.issue_token(survey) != token  # a fresh receipt each time
        with pytest.raises(InputError) as bad:
            asyncio.run(collector.submit(survey, token, payload(gender="robot")))
        assert [p.location.column for p in bad.value.problems] == ["gender"]
        with pytest.raises(InputError):  # another site's secret
            asyncio.run(Collector(db, "t" * 48).submit(survey, token, payload()))
        receipt, outcome = asyncio.run(
            collector.submit(survey, token, payload(), device_id="phone-1")
        )
        assert outcome == Outcome.STORED
        assert asyncio.run(collector.submit(survey, token, payload()))[1] == (
            Outcome.DUPLICATE_RECEIPT
        )
        again = collector.issue_token(survey)
        assert asyncio.run(collector.submit(survey, again, payload(), device_id="phone-1"))[1] == (
            Outcome.DUPLICATE_DEVICE
        )
        frame = db.surveys.responses_frame(row.id)
        assert frame["receipt"].tolist() == [receipt]
        with db.reader() as s:
            stored = s.scalar(select(SurveyResponse.device_hash))
        assert stored == collector.device_hash("phone-1") and "phone-1" not in str(stored)
        survey_collect.close_survey(db, row.id, actor="alice")
        with pytest.raises(SurveyUnavailableError) as gone:
            collector.survey(row.slug)
        assert gone.value.gone
        with pytest.raises(SurveyUnavailableError) as unknown:
            collector.survey("nope")
        assert not unknown.value.gone
    finally:
        collector.close()


def test_the_rate_limit_refills_over_time() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.allow("1.2.3.4", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("5.6.7.8", now=0.0)  # addresses are counted apart
    assert not limiter.allow("1.2.3.4", now=10.0)
    assert limiter.allow("1.2.3.4", now=20.0)  # one token back after 20 s at 3 a minute
