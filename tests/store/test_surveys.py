"""Surveys in the store on both backends: questionnaires, surveys, bulk responses refused whole
on any duplicate, the response frame, and the group-commit writer under concurrency."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from cityloop.errors import InputError
from cityloop.store import Database
from cityloop.store.models import AuditEntry, SurveyStatus
from cityloop.store.survey_writer import Outcome, SurveyWriter
from cityloop.store.surveys import NewResponse, SurveyRow
from tests.store.samples import Demo

CITY = "110100"


def open_survey(db: Database, demo: Demo) -> SurveyRow:
    db.load_units(demo.units, "alice")
    survey = db.surveys.create(
        unit=CITY,
        questionnaire_id="citizen",
        questionnaire_version="1",
        questionnaire_yaml="id: citizen\n",
        year=2026,
        districts=[{"code": "110101", "name": "东城区"}],
        margins={"age": {"18-29": 0.3, "30+": 0.7}},
        actor="alice",
    )
    return db.surveys.open(survey.id, actor="alice")


def response(receipt: str, device: str | None = None, **answers: object) -> NewResponse:
    return NewResponse(
        receipt=receipt,
        device_hash=device,
        attributes={"district": "110101"},
        answers=answers or {"q1": 4.0, "q2": ["a", "b"], "q3": "<script>x</script>"},
    )


def test_surveys_are_created_opened_closed_and_audited(db: Database, mini_demo: Demo) -> None:
    survey = open_survey(db, mini_demo)
    assert survey.status == SurveyStatus.OPEN
    assert len(survey.slug) >= 16
    assert db.surveys.by_slug(survey.slug) == db.surveys.get(survey.id) == survey
    assert db.surveys.list(CITY) == [survey]
    assert db.surveys.close(survey.id, actor="bob").status == SurveyStatus.CLOSED
    with pytest.raises(InputError):
        db.surveys.open(survey.id, actor="bob")  # closed for good
    db.surveys.save_questionnaire("mine", "2", "id: mine\n", actor="carol")
    assert db.surveys.questionnaire("mine").yaml_text == "id: mine\n"  # type: ignore[union-attr]
    with db.reader() as s:
        actions = list(s.execute(select(AuditEntry.action, AuditEntry.entity)))
    assert [a for a in actions if a[1] in ("surveys", "questionnaires")] == [
        ("create", "surveys"),
        ("open", "surveys"),
        ("closed", "surveys"),
        ("save", "questionnaires"),
    ]


def test_bulk_responses_go_in_whole_or_not_at_all(db: Database, mini_demo: Demo) -> None:
    survey = open_survey(db, mini_demo)
    assert db.surveys.add_responses(survey.id, [response("r1", "d1"), response("r2")]) == 2
    with pytest.raises(InputError) as refused:
        db.surveys.add_responses(
            survey.id, [response("r3"), response("r1"), response("r4", "d1"), response("r3")]
        )
    text = refused.value.render("en")
    assert "r1" in text and "d1" in text and "r3" in text
    assert db.surveys.response_count(survey.id) == 2
    assert db.surveys.receipts(survey.id) == {"r1", "r2"}


def test_the_response_frame_expands_the_json(db: Database, mini_demo: Demo) -> None:
    survey = open_survey(db, mini_demo)
    db.surveys.add_responses(
        survey.id, [response("r1"), response("r2", q1=2.0, q4=None, q5="十分满意")]
    )
    frame = db.surveys.responses_frame(survey.id)
    assert list(frame.columns) == [
        "receipt", "submitted_at", "source", "district", "q1", "q2", "q3", "q4", "q5",
    ]  # fmt: skip
    assert frame["q1"].tolist() == [4.0, 2.0]
    assert list(frame["q2"].iloc[0]) == ["a", "b"] and pd.isna(frame["q2"].iloc[1])
    assert frame["q3"].iloc[0] == "<script>x</script>"
    assert pd.isna(frame["q4"]).all()
    assert frame["q5"].iloc[1] == "十分满意"
    assert db.surveys.responses_frame(survey.id + 99).empty


def test_the_writer_stores_concurrent_submissions_and_refuses_duplicates_one_by_one(
    db: Database, mini_demo: Demo
) -> None:
    survey = open_survey(db, mini_demo)
    writer = SurveyWriter(db.engine, window_s=0.01, max_batch=16)

    async def client(k: int) -> list[Outcome]:
        # 8 clients interleaved on one event loop, as requests are in a web worker.
        waiting = []
        for i in range(25):
            waiting.append(writer.submit(survey.id, response(f"r{k}-{i}", f"d{k}-{i}")))
            await asyncio.sleep(0)
        return list(await asyncio.gather(*waiting))

    async def clients() -> list[list[Outcome]]:
        return list(await asyncio.gather(*(client(k) for k in range(8))))

    assert {o for outcomes in asyncio.run(clients()) for o in outcomes} == {Outcome.STORED}
    assert writer.batches < 200  # grouped

    async def one_batch() -> list[Outcome]:
        return list(
            await asyncio.gather(
                writer.submit(survey.id, response("r0-0")),  # receipt stored before
                writer.submit(survey.id, response("new-1", "d0-1")),  # device stored before
                writer.submit(survey.id, response("new-2", "dx")),
                writer.submit(survey.id, response("new-2", "dy")),  # same receipt in the batch
                writer.submit(survey.id, response("new-3", "dx")),  # same device in the batch
                writer.submit(survey.id + 1, response("new-4")),  # no such survey
            )
        )

    assert asyncio.run(one_batch()) == [
        Outcome.DUPLICATE_RECEIPT,
        Outcome.DUPLICATE_DEVICE,
        Outcome.STORED,
        Outcome.DUPLICATE_RECEIPT,
        Outcome.DUPLICATE_DEVICE,
        Outcome.NOT_OPEN,
    ]
    db.surveys.close(survey.id, actor="alice")

    async def late() -> Outcome:
        return await writer.submit(survey.id, response("late"))

    assert asyncio.run(late()) == Outcome.NOT_OPEN
    assert db.surveys.response_count(survey.id) == 201


def test_the_writer_answers_after_the_commit_and_skips_cancelled_requests(
    db: Database, mini_demo: Demo
) -> None:
    survey = open_survey(db, mini_demo)
    writer = SurveyWriter(db.engine, window_s=0.5, max_batch=3)

    async def run() -> tuple[bool, list[Outcome]]:
        left = writer.submit(survey.id, response("gone"))
        left.cancel()  # the client went away: the response is still written, nobody told
        first = writer.submit(survey.id, response("a"))
        before = first.done()
        rest = writer.submit(survey.id, response("b"))  # the third fills the batch at once
        return before, list(await asyncio.gather(first, rest))

    answered_early, outcomes = asyncio.run(run())
    assert not answered_early and outcomes == [Outcome.STORED, Outcome.STORED]
    assert db.surveys.response_count(survey.id) == 3 and writer.batches == 1


def test_a_failing_batch_acknowledges_nobody(db: Database, mini_demo: Demo) -> None:
    survey = open_survey(db, mini_demo)
    writer = SurveyWriter(db.engine, window_s=0.5, max_batch=16)

    async def run() -> list[object]:
        good = [writer.submit(survey.id, response(f"ok{i}")) for i in range(5)]
        bad = writer.submit(survey.id, response("bad", q1=object()))  # not JSON: insert fails
        return list(await asyncio.gather(*good, bad, return_exceptions=True))

    results = asyncio.run(run())
    assert all(isinstance(r, (TypeError, StatementError)) for r in results), results
    assert db.surveys.response_count(survey.id) == 0
