"""Survey results on stored answers, on SQLite and PostgreSQL: analysis equals analysis of the
same answers in memory, YoY, publishing the score into the evaluation, exports, imports, needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cityloop.errors import InputError
from cityloop.i18n import t
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services import survey_results as sr
from cityloop.services.survey_collect import open_survey
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from cityloop.services.survey_tables import responses_of
from cityloop.store import Database, Settings
from cityloop.survey.analysis import analyse
from cityloop.survey.items import Subject
from tests.store.databases import BACKENDS, new_database_url

FRAMEWORK = "gbt33356-2016"
YEAR = 2025
SIZES = {CITIZEN: 300, GOVERNMENT: 60, ENTERPRISE: 80}


class Demo:
    """A database with the demo regions and values and the four demo surveys."""

    def __init__(self, db: Database, unit: str, ids: list[int]) -> None:
        self.db, self.unit = db, unit
        self.citizen_before, self.citizen, self.government, self.enterprise = ids


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp(f"surveys-{request.param}")
    for url in new_database_url(request.param, folder):
        db = Database.open(Settings(database_url=url, data_dir=folder))
        db.upgrade()
        store_service.load_demo(db, [FRAMEWORK], n_cities=40, user="fixture")
        made = load_demo_surveys(db, YEAR, actor="fixture", sizes=SIZES)
        yield Demo(db, made.unit, [s.id for s in made.surveys])
        db.dispose()


def test_stored_analysis_equals_analysis_in_memory(demo: Demo) -> None:
    db = demo.db
    row = sr.get_survey(db, demo.citizen_before)
    q = sr.survey_questionnaire(row)
    stored = db.surveys.responses_frame(row.id)
    # The same answers, straight from Python objects rather than through the database's JSON.
    direct = pd.DataFrame(
        [{k: v for k, v in r.items() if v is not None} for r in stored.drop(
            columns=["receipt", "submitted_at", "source"]).to_dict("records")]
    )  # fmt: skip
    plan = q.plan()
    expected = analyse(
        plan, responses_of(q, direct, row.year), row.margins, parents=sr._parents(db, q)
    )
    got = sr.analyse_survey(db, row.id)
    assert got.analysis is not None and got.weighted and got.responses == SIZES[CITIZEN]
    pd.testing.assert_frame_equal(got.analysis.estimates, expected.estimates)
    pd.testing.assert_frame_equal(got.analysis.needs, expected.needs)
    assert got.analysis.experience_score == expected.experience_score
    assert got.analysis.yoy.empty and got.previous is None
    assert got.completion.set_index("question").loc["imp_transport", "share"] == 1.0
    assert sr.analyse_survey(db, row.id) is got  # cached while no response arrives


def test_year_over_year_and_equal_weights(demo: Demo) -> None:
    now = sr.analyse_survey(demo.db, demo.citizen)
    assert now.previous is not None and now.previous.id == demo.citizen_before
    assert now.analysis is not None
    yoy = now.analysis.yoy
    city = yoy[(yoy["kind"] == "experience") & (yoy["group_by"] == "*")]
    assert list(city["previous_year"]) == [YEAR - 1]
    # The demo plants every domain 2 points higher in the later year.
    domains = yoy[(yoy["kind"] == "domain") & (yoy["group_by"] == "*")]
    assert domains["change"].mean() == pytest.approx(2.0, abs=1.5)
    government = sr.analyse_survey(demo.db, demo.government)
    assert not government.weighted and government.weighting_note == "surveyweb.svc.equal_weights"
    assert government.analysis is not None
    np.testing.assert_allclose(government.analysis.weights, 1.0)


def test_candidate_applications_combine_three_subjects(demo: Demo) -> None:
    found = sr.candidate_applications_for(demo.db, demo.unit, YEAR)
    assert set(found.surveys) == {Subject.PUBLIC, Subject.GOVERNMENT, Subject.ENTERPRISE}
    stated = {s for c in found.candidates for s in c.subjects}
    assert stated == {Subject.PUBLIC, Subject.GOVERNMENT, Subject.ENTERPRISE}
    assert [c.rank for c in found.candidates] == list(range(1, len(found.candidates) + 1))
    demand = [c.demand for c in found.candidates]
    assert demand == sorted(demand, reverse=True)
    assert sr.candidate_applications_for(demo.db, demo.unit, YEAR - 5).candidates == []


def test_export_xlsx_and_csv(demo: Demo, tmp_path: Path) -> None:
    results = sr.analyse_survey(demo.db, demo.citizen)
    assert results.analysis is not None
    path = sr.export_survey(demo.db, demo.citizen, tmp_path / "citizen.xlsx", "zh-CN")
    book = openpyxl.load_workbook(path, read_only=True)
    names = [t(f"surveyweb.svc.sheet_{k}", "zh-CN") for k in (
        "responses", "indices", "experience", "yoy", "ipa", "needs", "applications")]  # fmt: skip
    assert book.sheetnames == names
    indices = pd.read_excel(path, sheet_name=names[1])
    position = list(results.analysis.indices.columns).index("value")  # headers are localised
    np.testing.assert_allclose(indices.iloc[:, position], results.analysis.indices["value"])
    responses = pd.read_excel(path, sheet_name=names[0])
    assert len(responses) == SIZES[CITIZEN]
    assert any(v == "男" or v == "女" for v in responses.iloc[:, 5])  # gender by its wording
    with pytest.raises(InputError, match=r"\.pdf"):
        sr.export_survey(demo.db, demo.citizen, tmp_path / "x.pdf")


def test_import_all_or_nothing_idempotent_and_neutralised(demo: Demo, tmp_path: Path) -> None:
    db = demo.db
    target = open_survey(
        db, demo.unit, CITIZEN, year=YEAR + 1, actor="t",
    ).id  # fmt: skip
    csv = sr.export_survey(db, demo.citizen, tmp_path / "answers.csv")
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False).head(20)
    frame.loc[0, "needs_text"] = '=HYPERLINK("http://x")'
    good = tmp_path / "good.csv"
    frame.to_csv(good, index=False, encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    frame.assign(overall_satisfaction=["11", *frame["overall_satisfaction"][1:]]).to_csv(
        bad, index=False
    )
    with pytest.raises(InputError) as caught:
        sr.import_answers(db, target, bad, "t")
    assert [(p.location.row, p.location.column) for p in caught.value.problems] == [
        (2, "overall_satisfaction")
    ]
    assert db.surveys.response_count(target) == 0
    report = sr.import_answers(db, target, good, "t")
    assert report.stored == 20 and db.surveys.response_count(target) == 20
    assert set(report.ignored_columns) == {"submitted_at", "source"}
    with pytest.raises(InputError) as again:
        sr.import_answers(db, target, good, "t")
    assert len(again.value.problems) == 20
    assert again.value.problems[0].params["receipt"] == frame.loc[0, "receipt"]
    assert db.surveys.response_count(target) == 20
    stored = db.surveys.responses_frame(target)
    assert stored.loc[0, "needs_text"] == '=HYPERLINK("http://x")'  # kept as text
    out = sr.export_survey(db, target, tmp_path / "back.csv")
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")


def test_margins_checked_then_used(demo: Demo) -> None:
    db = demo.db
    row = sr.get_survey(db, demo.enterprise)
    bad = pd.DataFrame({"variable": ["size"], "category": ["huge"], "population": [1]})
    with pytest.raises(InputError):
        sr.set_margins(db, row.id, bad, "t")
    assert sr.get_survey(db, row.id).margins == {}
    sizes = sr.survey_questionnaire(row).spec.attributes[1]
    assert sizes.id == "size"
    codes = [c.code for c in sizes.choices if not isinstance(c, str)]
    margins = pd.DataFrame(
        {
            "variable": "size",
            "category": codes,
            "population": [100.0 * (k + 1) for k in range(len(codes))],
        }
    )
    saved = sr.set_margins(db, row.id, margins, "t")
    assert saved.margins == {"size": dict(zip(codes, margins["population"], strict=True))}
    weighted = sr.analyse_survey(db, row.id)
    assert weighted.weighted and weighted.analysis is not None
    assert weighted.analysis.design_effect > 1.0


def test_publish_score_feeds_the_next_evaluation(demo: Demo) -> None:
    db = demo.db
    before_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="t", years=[YEAR])
    published = sr.publish_score(db, demo.citizen, "t")
    results = sr.analyse_survey(db, demo.citizen)
    assert results.analysis is not None
    assert published.value == round(results.analysis.experience_score.value, 2)
    assert (published.indicator, published.year, published.unit) == ("L8P1-X", YEAR, demo.unit)
    values = db.values_frame(FRAMEWORK, [YEAR])
    mine = values[(values["unit"] == demo.unit) & (values["indicator"] == "L8P1-X")]
    assert list(mine["value"]) == [published.value]
    after_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="t", years=[YEAR])

    def l8(run_id: int) -> float:
        scores = db.run_scores(run_id, units=[demo.unit])
        return float(
            scores.loc[(scores["node"] == "L8") & (scores["year"] == YEAR), "score"].iloc[0]
        )

    assert l8(after_id) != l8(before_id)
    with pytest.raises(InputError):
        sr.publish_score(db, 999_999, "t")
