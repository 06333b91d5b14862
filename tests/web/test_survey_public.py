"""The public survey page on both backends: the form in Chinese, one stored response per token
and per device, every class of bad answer refused with nothing stored, the rate limit, closed
and unknown surveys; and the whole journey in Chromium at a phone's viewport."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityloop.errors import InputError
from cityloop.services import survey_collect
from cityloop.services.survey_collect import SurveySettings
from cityloop.store.surveys import SurveyRow
from cityloop.survey.answers import validate_submission
from cityloop.survey.questionnaire import Questionnaire, shipped_questionnaire
from cityloop.web.ratelimit import RateLimiter
from cityloop.web.survey_submissions import collector
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, serve
from tests.web.site import Site, make_site

CITIZEN = "citizen-experience-gbt33356-2016"
DISTRICTS = [
    {"code": "d01", "name_zh": "东城区", "name_en": "Dongcheng"},
    {"code": "d02", "name_zh": "西城区", "name_en": "Xicheng"},
]
INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module", params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A site of this module's own, with the rate limit out of the way (one test puts it back)."""
    folder = tmp_path_factory.mktemp(f"survey-{request.param}")
    for url in new_database_url(str(request.param), folder):
        site = make_site(url, folder)
        site.app.state.survey_settings = SurveySettings(rate_per_minute=100_000)
        yield site
        built = getattr(site.app.state, "survey_collector", None)
        if built is not None:
            built[0].close()
        site.db.dispose()


def open_citizen_survey(site: Site) -> SurveyRow:
    return survey_collect.open_survey(
        site.db, site.city, CITIZEN, year=2026, actor="admin", districts=DISTRICTS
    )


def valid_answers(q: Questionnaire) -> dict[str, Any]:
    """A complete answer set: the first choice of each question ("yes" opens the follow-ups),
    4 on every 1–5 scale, 8 on 0–10; answers to questions left hidden are then dropped."""
    payload: dict[str, Any] = {"district": "d01"}
    for a in q.attributes:
        if a.choices != "districts":
            payload[a.id] = a.choices[0].code
    for x in q.questions():
        kind = x.kind.value
        if kind in ("single", "multiple"):
            code = next(c.code for c in x.choices or [] if not c.exclusive)
            payload[x.id] = code if kind == "single" else [code]
        elif kind == "likert5":
            payload[x.id] = 4
        elif kind == "likert11":
            payload[x.id] = 8
        elif kind == "numeric":
            payload[x.id] = x.min if x.min is not None else 1
        else:
            payload[x.id] = "希望公交更准点"
    try:
        validate_submission(q, payload, [d["code"] for d in DISTRICTS])
    except InputError as exc:
        for p in exc.problems:
            assert p.key == "questionnaire.answer_hidden", p.render("en")
            payload.pop(str(p.location.column))
    return payload


def token_of(client: TestClient, slug: str) -> str:
    page = client.get(f"/s/{slug}")
    assert page.status_code == 200
    found = re.search(r'name="token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def form_of(token: str, answers: dict[str, Any]) -> dict[str, list[str]]:
    """The form fields a browser would post: repeated keys for multiple choices."""
    fields = {"token": [token]}
    for key, value in answers.items():
        fields[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return fields


def test_the_page_is_a_chinese_mobile_form_with_a_device_cookie(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    with fresh.client() as anonymous:
        page = anonymous.get(f"/s/{survey.slug}")
        assert page.status_code == 200
        assert "新型智慧城市市民体验调查问卷" in page.text and "提交问卷" in page.text
        assert "东城区" in page.text and "data-show-if" in page.text
        assert "cityloop_device" in page.headers["set-cookie"]
        assert "httponly" in page.headers["set-cookie"].lower()
        english = anonymous.get(f"/s/{survey.slug}?lang=en")
        assert "Submit" in english.text and "Dongcheng" in english.text


def test_a_form_submission_stores_one_response_once_per_token_and_device(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    answers = valid_answers(shipped_questionnaire(CITIZEN))
    with fresh.client() as phone:
        token = token_of(phone, survey.slug)
        done = phone.post(f"/s/{survey.slug}", data=form_of(token, answers))
        assert done.status_code == 201
        receipt = re.search(r'data-testid="receipt">([^<]+)<', done.text)
        assert receipt is not None
        assert fresh.db.surveys.receipts(survey.id) == {receipt.group(1)}
        again = phone.post(f"/s/{survey.slug}", data=form_of(token, answers))
        assert again.status_code == 409 and "已经提交过" in again.text
        other_token = token_of(phone, survey.slug)  # same phone, a new form
        second = phone.post(f"/s/{survey.slug}", data=form_of(other_token, answers))
        assert second.status_code == 409 and "您已经参加过本次调查" in second.text
    assert fresh.db.surveys.response_count(survey.id) == 1
    frame = fresh.db.surveys.responses_frame(survey.id)
    assert frame.loc[0, "source"] == "web" and frame.loc[0, "district"] == "d01"


def test_the_json_api_answers_201_409_422(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    answers = valid_answers(shipped_questionnaire(CITIZEN))
    with fresh.client() as kiosk:
        token = token_of(kiosk, survey.slug)
        kiosk.cookies.clear()  # a kiosk sends no device cookie
        created = kiosk.post(f"/s/{survey.slug}", json={"token": token, "answers": answers})
        assert created.status_code == 201
        assert created.json()["receipt"] in fresh.db.surveys.receipts(survey.id)
        # Answered ahead of the app's routing, still with the headers every response carries.
        assert "frame-ancestors 'none'" in created.headers["content-security-policy"]
        assert created.headers["x-content-type-options"] == "nosniff"
        assert (
            kiosk.post(f"/s/{survey.slug}", json={"token": token, "answers": answers}).status_code
            == 409
        )
        forged = kiosk.post(f"/s/{survey.slug}", json={"token": token + "x", "answers": answers})
        assert forged.status_code == 422 and "失效" in forged.json()["detail"]
        english = kiosk.post(
            f"/s/{survey.slug}?lang=en", json={"token": token + "x", "answers": answers}
        )
        assert english.status_code == 422 and "失效" not in english.json()["detail"]
        assert (
            kiosk.post(
                f"/s/{survey.slug}", content=b"[1,2", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )
    assert fresh.db.surveys.response_count(survey.id) == 1


BAD_ANSWERS = {
    "out_of_range": ("imp_gov_services", 7),
    "missing_required": ("age_band", None),
    "wrong_type": ("imp_gov_services", "很满意"),
    "oversized_text": ("district", "区" * 5000),
    "unknown_choice": ("gender", "robot"),
    "list_for_single": ("gender", ["male", "female"]),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_each_bad_answer_is_refused_naming_its_question_and_nothing_is_stored(
    fresh: Site, case: str
) -> None:
    survey = open_citizen_survey(fresh)
    answers = valid_answers(shipped_questionnaire(CITIZEN))
    question, value = BAD_ANSWERS[case]
    if value is None:
        answers.pop(question)
    else:
        answers[question] = value
    with fresh.client() as phone:
        token = token_of(phone, survey.slug)
        refused = phone.post(f"/s/{survey.slug}", json={"token": token, "answers": answers})
        assert refused.status_code == 422
        problems = refused.json()["problems"]
        assert [p["question"] for p in problems] == [question]
        assert problems[0]["message"]
    assert fresh.db.surveys.response_count(survey.id) == 0


def test_an_answer_to_a_hidden_question_and_too_long_text_are_refused(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    q = shipped_questionnaire(CITIZEN)
    answers = valid_answers(q)
    answers["used_gov_services"] = "no"  # hides sat_gov_services, which keeps its answer
    text_question = next(x for x in q.questions() if x.kind.value == "text")
    answers[text_question.id] = "长" * (text_question.text_limit + 1)
    with fresh.client() as phone:
        token = token_of(phone, survey.slug)
        refused = phone.post(f"/s/{survey.slug}", json={"token": token, "answers": answers})
    assert refused.status_code == 422
    assert {p["question"] for p in refused.json()["problems"]} >= {
        "sat_gov_services",
        text_question.id,
    }
    assert fresh.db.surveys.response_count(survey.id) == 0


def test_a_bad_form_comes_back_with_the_answers_kept_and_script_text_escaped(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    q = shipped_questionnaire(CITIZEN)
    answers = valid_answers(q)
    text_question = next(x for x in q.questions() if x.kind.value == "text")
    answers[text_question.id] = INJECTION
    answers.pop("gender")
    with fresh.client() as phone:
        token = token_of(phone, survey.slug)
        page = phone.post(f"/s/{survey.slug}", data=form_of(token, answers))
        assert page.status_code == 422
        assert 'id="err-gender"' in page.text and "survey-errors" in page.text
        assert INJECTION not in page.text and "&lt;script&gt;alert(" in page.text
        assert 'value="d01" selected' in page.text  # the answers are kept
        assert fresh.db.surveys.response_count(survey.id) == 0
        answers["gender"] = "female"
        kept = re.search(r'name="token" value="([^"]+)"', page.text)
        assert kept is not None
        done = phone.post(f"/s/{survey.slug}", data=form_of(kept.group(1), answers))
        assert done.status_code == 201
    frame = fresh.db.surveys.responses_frame(survey.id)
    assert frame.loc[0, text_question.id] == INJECTION  # stored as the text it was


def test_the_rate_limit_answers_429(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    with fresh.client() as flood:
        token = token_of(flood, survey.slug)
        c, limiter = collector(fresh.app.state)
        fresh.app.state.survey_collector = (c, RateLimiter(2))
        try:
            codes = [
                flood.post(f"/s/{survey.slug}", json={"token": token, "answers": {}}).status_code
                for _ in range(4)
            ]
        finally:
            fresh.app.state.survey_collector = (c, limiter)
    assert codes == [422, 422, 429, 429]


def test_closed_unknown_and_oversized_are_refused(fresh: Site) -> None:
    survey = open_citizen_survey(fresh)
    answers = valid_answers(shipped_questionnaire(CITIZEN))
    with fresh.client() as phone:
        token = token_of(phone, survey.slug)
        big = phone.post(
            f"/s/{survey.slug}", json={"token": token, "answers": answers, "pad": "x" * 70_000}
        )
        assert big.status_code == 413
        survey_collect.close_survey(fresh.db, survey.id, actor="admin")
        c, _ = collector(fresh.app.state)
        c.settings = c.settings.model_copy(update={"fresh_seconds": 0.0})
        try:
            closed = phone.get(f"/s/{survey.slug}")
            assert closed.status_code == 410 and "结束" in closed.text
            posted = phone.post(f"/s/{survey.slug}", json={"token": token, "answers": answers})
            assert posted.status_code == 410
        finally:
            c.settings = c.settings.model_copy(update={"fresh_seconds": 1.0})
        assert phone.get("/s/no-such-survey").status_code == 404
    assert fresh.db.surveys.response_count(survey.id) == 0


def answer_on_screen(box: Any) -> None:
    """Tap an answer into one question on screen, as a person would, unless it has one."""
    if box.locator("input:checked").count() or box.locator("select").count():
        return
    if box.locator("label.sq-point").count():
        box.locator("label.sq-point").nth(3).click()
    elif box.locator("label.sq-choice").count():
        box.locator("label.sq-choice").first.click()
    elif box.locator("textarea").count() and not box.locator("textarea").input_value():
        box.locator("textarea").fill("希望地铁末班车晚一点")


def test_a_phone_fills_in_submits_and_cannot_submit_twice(fresh: Site, browser: Any) -> None:
    if fresh.db.engine.dialect.name != "sqlite":
        pytest.skip("the browser journey runs once, on SQLite")
    survey = open_citizen_survey(fresh)
    for server in serve(fresh.app):
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        page.goto(f"{server}/s/{survey.slug}")
        assert page.locator("h1").inner_text() == "新型智慧城市市民体验调查问卷"
        follow_up = page.locator("#q-sat_gov_services")
        page.select_option("select[name=district]", "d02")
        for name in ("age_band", "gender", "occupation", "residence_years"):
            page.locator(f"input[name={name}]").first.check()
        page.locator("input[name=used_gov_services][value=no]").check()
        assert follow_up.is_hidden()  # skip logic
        for _ in range(3):  # answering a question may show its follow-ups: go round again
            for box_id in page.locator("fieldset.sq:visible").evaluate_all(
                "els => els.map(e => e.id)"
            ):
                answer_on_screen(page.locator(f"#{box_id}"))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(SCREENSHOTS) / "survey-public.png"), full_page=False)
        page.click("button.survey-submit")
        page.wait_for_load_state()
        assert page.locator(".sq.has-error").evaluate_all("els => els.map(e => e.id)") == []
        receipt = page.locator("[data-testid=receipt]").inner_text()
        assert receipt in fresh.db.surveys.receipts(survey.id)
        page.go_back()  # the same form again, answers and token as they were
        page.click("button.survey-submit")
        assert "已经" in page.locator("[data-testid=survey-message]").inner_text()
        context.close()
    assert fresh.db.surveys.response_count(survey.id) == 1
