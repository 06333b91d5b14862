"""The office's survey pages on both backends: who may see and do what, opening and closing a
survey through the form, importing answers all or nothing, publishing the score, the designer
refusing a bad draft and storing a good one, the dashboard and its charts in Chromium."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityloop.errors import InputError
from cityloop.services import survey_collect
from cityloop.services.survey_dashboard import survey_dashboard
from cityloop.services.survey_demo import CITIZEN, demo_city, load_demo_surveys
from cityloop.services.survey_results import analyse_survey
from cityloop.store.surveys import SurveyRow
from cityloop.survey.answers import validate_submission
from cityloop.survey.questionnaire import Questionnaire, shipped_questionnaire
from tests.store.databases import BACKENDS, new_database_url
from tests.web.conftest import SCREENSHOTS, browser_sign_in
from tests.web.site import Site, csrf_of, make_site

YEAR = 2026
DISTRICTS = [
    {"code": "d01", "name_zh": "东城区", "name_en": "Dongcheng"},
    {"code": "d02", "name_zh": "西城区", "name_en": "Xicheng"},
]


class Opened:
    """Two empty citizen surveys: one of a city in the analyst's province, one outside it."""

    def __init__(self, site: Site) -> None:
        self.inside = survey_collect.open_survey(
            site.db, site.city, CITIZEN, year=YEAR, actor="fixture", districts=DISTRICTS
        )
        # Outside the province, and not the demo's city (the demo fills only a city without
        # surveys).
        table = site.units.table
        cities = table.index[(table["level"] == "city") & (table["parent"] != site.province)]
        outside = next(str(c) for c in cities if str(c) != demo_city(site.db))
        self.outside = survey_collect.open_survey(
            site.db, outside, CITIZEN, year=YEAR, actor="fixture"
        )


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """This module's site: its tests write, so it is not the shared one."""
    folder = tmp_path_factory.mktemp(f"surveys-{request.param}")
    for url in new_database_url(str(request.param), folder):
        built = make_site(url, folder)
        yield built
        built.db.dispose()


@pytest.fixture(scope="module")
def opened(site: Site) -> Opened:
    return Opened(site)


@pytest.fixture(scope="module")
def demo(site: Site) -> SurveyRow:
    """The demo's SYNTHETIC citizen survey of this year (weighted, with last year's before it),
    beside its government and enterprise surveys."""
    written = load_demo_surveys(site.db, YEAR, actor="fixture").surveys
    return next(r for r in written if r.year == YEAR and r.questionnaire_id == CITIZEN)


def post_form(client: TestClient, url: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(
        url, data={**data, "csrf_token": csrf_of(client)}, follow_redirects=False, **kw
    )


# -- who may see what -----------------------------------------------------------------------------


def test_roles_without_view_surveys_are_refused(site: Site) -> None:
    for username in ("viewer", "officer"):
        with site.client(username) as client:
            assert client.get("/surveys").status_code == 403
            assert client.get("/api/surveys").status_code == 403
    with site.client() as anonymous:
        assert anonymous.get("/surveys", follow_redirects=False).status_code == 303
        assert anonymous.get("/api/surveys").status_code == 401


def test_analyst_sees_only_surveys_of_cities_in_their_province(site: Site, opened: Opened) -> None:
    with site.client("analyst") as client:
        listed = {s["id"] for s in client.get("/api/surveys").json()}
        page = client.get("/surveys").text
        assert opened.inside.id in listed and opened.outside.id not in listed
        assert f'data-survey="{opened.inside.id}"' in page
        assert f'data-survey="{opened.outside.id}"' not in page
        assert client.get(f"/surveys/{opened.outside.id}").status_code == 403
        assert client.get(f"/api/surveys/{opened.outside.id}/results").status_code == 403
        assert client.get(f"/surveys/{opened.inside.id}").status_code == 200
        assert client.get("/surveys/999999").status_code == 404
    with site.client("admin") as admin:
        assert {opened.inside.id, opened.outside.id} <= {
            s["id"] for s in admin.get("/api/surveys").json()
        }


def test_a_manager_views_but_may_not_manage(site: Site, opened: Opened) -> None:
    with site.client("manager") as client:
        page = client.get("/surveys")
        assert page.status_code == 200 and 'action="/surveys"' not in page.text
        assert client.get("/questionnaires").status_code == 403
        refused = post_form(client, f"/surveys/{opened.inside.id}/close", {})
        assert refused.status_code == 403


# -- opening, closing -----------------------------------------------------------------------------


def test_open_and_close_a_survey_through_the_form(site: Site) -> None:
    with site.client("analyst") as client:
        made = post_form(
            client, "/surveys", {"unit": site.city, "questionnaire": CITIZEN, "year": "2027"}
        )
        assert made.status_code == 303
        page = client.get("/surveys").text
        new = max(s.id for s in site.db.surveys.list(site.city))
        row = site.db.surveys.get(new)
        assert row is not None and row.year == 2027 and row.status.value == "open"
        assert f"/s/{row.slug}" in page  # the public link, to copy
        assert client.get(f"/s/{row.slug}").status_code == 200
        outside = post_form(
            client, "/surveys", {"unit": site.other_city, "questionnaire": CITIZEN, "year": "2027"}
        )
        assert outside.status_code == 403
        assert post_form(client, f"/surveys/{new}/close", {}).status_code == 303
        closed = site.db.surveys.get(new)
        assert closed is not None and closed.status.value == "closed"


def test_api_opens_and_closes(site: Site) -> None:
    with site.client("analyst") as client:
        made = client.post(
            "/api/surveys", json={"unit": site.city, "questionnaire_id": CITIZEN, "year": 2028}
        )
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        assert made.json()["public_path"].startswith("/s/")
        unknown = client.post(
            "/api/surveys", json={"unit": site.city, "questionnaire_id": "nope", "year": 2028}
        )
        assert unknown.status_code == 422
        assert client.post(f"/api/surveys/{sid}/close").json()["status"] == "closed"


# -- import, publish ------------------------------------------------------------------------------


def answer_rows(q: Questionnaire, districts: list[str], n: int) -> list[dict[str, str]]:
    """``n`` complete, valid answer rows (as an export would have them), varied by row."""
    rows = []
    for i in range(n):
        payload: dict[str, Any] = {"district": districts[i % len(districts)]}
        for a in q.attributes:
            if a.choices != "districts":
                payload[a.id] = a.choices[i % len(a.choices)].code
        for x in q.questions():
            kind = x.kind.value
            if kind in ("single", "multiple"):
                codes = [c.code for c in x.choices or [] if not c.exclusive]
                code = codes[i % len(codes)]
                payload[x.id] = code if kind == "single" else [code]
            elif kind == "likert5":
                payload[x.id] = 1 + i % 5
            elif kind == "likert11":
                payload[x.id] = i % 11
            elif kind == "numeric":
                payload[x.id] = x.min if x.min is not None else 1
        for _ in range(5):  # drop the answers the skip logic hides, until none is left
            try:
                validate_submission(q, payload, districts)
                break
            except InputError as exc:
                for p in exc.problems:
                    payload.pop(str(p.location.column), None)
        rows.append({k: "┋".join(v) if isinstance(v, list) else str(v) for k, v in payload.items()})
    return rows


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_import_is_all_or_nothing_and_publish_stores_the_score(site: Site, opened: Opened) -> None:
    row = opened.inside
    q = shipped_questionnaire(CITIZEN)
    districts = [d["code"] for d in row.districts]
    rows = answer_rows(q, districts, 12)
    rated = next(x.id for x in q.questions() if x.kind.value == "likert5" and x.id in rows[0])
    bad = [dict(r) for r in rows]
    bad[2][rated] = "9"  # outside 1–5
    bad[6]["district"] = "no-such-district"
    url = f"/surveys/{row.id}/import"
    with site.client("analyst") as client:
        before = site.db.surveys.response_count(row.id)
        refused = post_form(
            client, url, {}, files={"file": ("答卷.csv", csv_bytes(bad), "text/csv")}
        )
        assert refused.status_code == 422
        errors = re.findall(
            r'<tr class="upload-error"><td>([^<]*)</td><td class="num">(\d+)</td><td>([^<]*)</td>',
            refused.text,
        )
        assert {(e[1], e[2]) for e in errors} >= {("4", rated), ("8", "district")}
        assert all(e[0] == "答卷.csv" for e in errors), errors  # the user's name, not a temp path
        assert "cityloop-survey-" not in refused.text
        assert site.db.surveys.response_count(row.id) == before

        stored = post_form(
            client, url, {}, files={"file": ("answers.csv", csv_bytes(rows), "text/csv")}
        )
        assert stored.status_code == 303
        assert site.db.surveys.response_count(row.id) == before + 12
        board = client.get(f"/surveys/{row.id}").text
        assert 'data-testid="count-total">12<' in board
        assert 'data-testid="equal-weights"' in board  # no margins stored for this survey

        published = post_form(client, f"/surveys/{row.id}/publish", {})
        assert published.status_code == 303
        message = client.get(f"/surveys/{row.id}").text
    score = q.spec.score_indicator
    values = site.db.values_frame("gbt33356-2016", [YEAR])
    mine = values[(values["unit"] == site.city) & (values["indicator"] == score)]
    assert len(mine) == 1
    value = float(mine["value"].iloc[0])
    assert 0 <= value <= 100
    assert score is not None and score in message and f"{value:.2f}" in message


def test_wrong_file_type_is_refused(site: Site, opened: Opened) -> None:
    with site.client("analyst") as client:
        refused = post_form(
            client,
            f"/surveys/{opened.inside.id}/import",
            {},
            files={"file": ("a.txt", b"x", "text/plain")},
        )
        assert refused.status_code == 422 and "a.txt" in refused.text


# -- the designer ---------------------------------------------------------------------------------


def test_designer_refuses_a_bad_draft_and_stores_a_good_one(site: Site) -> None:
    with site.client("analyst") as client:
        shipped = client.get(f"/questionnaires/{CITIZEN}/edit")
        assert shipped.status_code == 200 and 'data-testid="template-note"' in shipped.text
        text = re.search(r'<textarea name="yaml_text"[^>]*>(.*?)</textarea>', shipped.text, re.S)
        assert text is not None
        draft = html.unescape(text.group(1))
        assert f"id: {CITIZEN}-copy" in draft
        broken = draft.replace("kind: likert5", "kind: likert7", 1)
        before = len(site.db.surveys.questionnaires())

        check = post_form(
            client,
            "/questionnaires/validate",
            {"yaml_text": broken},
            headers={"HX-Request": "true"},
        )
        assert check.status_code == 200 and 'data-testid="draft-invalid"' in check.text
        assert re.search(r"sections\[\d+\]\.questions\[\d+\]\.kind", check.text)
        api = client.post("/api/questionnaires/validate", json={"yaml_text": broken}).json()
        assert api["valid"] is False and api["problems"][0]["line"] > 0

        refused = post_form(client, "/questionnaires", {"yaml_text": broken})
        assert refused.status_code == 422 and 'data-testid="save-errors"' in refused.text
        assert len(site.db.surveys.questionnaires()) == before
        shipped_id = post_form(
            client, "/questionnaires", {"yaml_text": draft.replace(f"{CITIZEN}-copy", CITIZEN)}
        )
        assert shipped_id.status_code == 422
        assert len(site.db.surveys.questionnaires()) == before

        preview = post_form(
            client, "/questionnaires/validate", {"yaml_text": draft}, headers={"HX-Request": "true"}
        )
        assert (
            'data-testid="draft-valid"' in preview.text and 'data-testid="preview"' in preview.text
        )
        assert post_form(client, "/questionnaires", {"yaml_text": draft}).status_code == 303
        saved = site.db.surveys.questionnaire(f"{CITIZEN}-copy")
        assert saved is not None and saved.yaml_text == draft
        again = post_form(client, "/questionnaires", {"yaml_text": draft})
        assert again.status_code == 422  # the same version twice
        assert f"{CITIZEN}-copy" in client.get("/questionnaires").text


# -- the dashboard --------------------------------------------------------------------------------


def test_dashboard_and_results_api(site: Site, demo: SurveyRow) -> None:
    sid = demo.id
    with site.client("admin") as client:
        page = client.get(f"/surveys/{sid}")
        assert page.status_code == 200
        for part in (
            "survey-indices",
            "survey-ipa",
            "survey-districts",
            "survey-yoy",
            "needs-table",
            "candidates",
        ):
            assert part in page.text
        assert 'hx-trigger="every 15s"' in page.text
        results = client.get(f"/api/surveys/{sid}/results").json()
        assert results["responses"] == site.db.surveys.response_count(sid) > 0
        assert results["weighted"] and results["design_effect"] >= 1 and results["n_eff"] > 0
        assert results["yoy"] and results["ipa"] and results["needs"] and results["indices"]
        # The chart's cross-hairs are the ones the analysis placed the items by.
        ipa = analyse_survey(site.db, sid).analysis.ipa
        cuts = survey_dashboard(site.db, sid).ipa_cuts
        assert cuts["satisfaction"] == pytest.approx(ipa["satisfaction_cut"].iloc[0])
        assert cuts["importance"] == pytest.approx(ipa["importance_cut"].iloc[0])
        count = results["responses"]
        assert client.get(f"/surveys/{sid}/live?since={count}").status_code == 204
        live = client.get(f"/surveys/{sid}/live?since=0", headers={"HX-Request": "true"})
        assert live.status_code == 200 and 'id="live-since"' in live.text
        english = client.get(f"/surveys/{sid}?lang=en").text
        assert "Satisfaction index by domain" in english and "Needs ranking" in english
        workbook = client.get(f"/surveys/{sid}/export.xlsx")
        assert workbook.status_code == 200 and workbook.content[:2] == b"PK"


def test_dashboard_and_designer_in_chromium(
    site: Site, demo: SurveyRow, request: pytest.FixtureRequest
) -> None:
    """The charts draw and the designer checks as one types, in real Chromium; run once, on
    SQLite (what the browser sees does not depend on the backend)."""
    if not site.db.url.startswith("sqlite"):
        pytest.skip("the browser checks run once, on SQLite")
    server: str = request.getfixturevalue("server")
    page = browser_sign_in(request.getfixturevalue("browser"), server, "admin")
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(f"{server}/surveys/{demo.id}")
    for chart in ("survey-indices", "survey-districts", "survey-ipa", "survey-yoy"):
        page.wait_for_selector(f"#{chart}[data-rendered=true] svg")
    assert page.locator("#survey-indices svg path").count() > 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "survey-dashboard.png"), full_page=False)

    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{server}/questionnaires/{CITIZEN}/edit")
    page.wait_for_selector("[data-testid=draft-valid]")
    text = page.input_value("#yaml-text")
    page.fill("#yaml-text", text.replace("kind: likert5", "kind: likert7", 1))
    page.wait_for_selector("[data-testid=draft-invalid] .problem")
    page.fill("#yaml-text", text)
    page.wait_for_selector("[data-testid=preview]")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "questionnaire-designer.png"), full_page=False)
    page.close()
