"""The diagnosis service on the demo (62 SYNTHETIC cities, a stored run, the demo surveys), on
SQLite and PostgreSQL: what it names comes from the stored run and the stored needs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from cityloop.errors import CityLoopError
from cityloop.i18n import use_language
from cityloop.services import plan_diagnosis as service
from cityloop.services import runs
from cityloop.services import store as store_service
from cityloop.services.dashboard_cache import NoRunError
from cityloop.services.survey_demo import CITIZEN, ENTERPRISE, GOVERNMENT, load_demo_surveys
from cityloop.services.survey_results import candidate_applications_for
from cityloop.store import Database, Settings
from tests.store.databases import BACKENDS, new_database_url

FRAMEWORK = "gbt33356-2016"
YEAR = 2025
SIZES = {CITIZEN: 120, GOVERNMENT: 40, ENTERPRISE: 60}


class Demo:
    def __init__(self, db: Database, run_id: int, surveyed: str) -> None:
        self.db, self.run_id, self.surveyed = db, run_id, surveyed


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp(f"diagnosis-{request.param}")
    for url in new_database_url(request.param, folder):
        db = Database.open(Settings(database_url=url, data_dir=folder))
        db.upgrade()
        store_service.load_demo(db, [FRAMEWORK], n_cities=62, user="fixture")
        run_id, _ = runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
        made = load_demo_surveys(db, YEAR, actor="fixture", sizes=SIZES)
        yield Demo(db, run_id, made.unit)
        db.dispose()


def test_a_surveyed_city_is_diagnosed_from_its_run_and_its_needs(demo: Demo) -> None:
    report = service.diagnose(demo.db, demo.surveyed)
    assert (report.run_id, report.year, report.framework) == (demo.run_id, YEAR, FRAMEWORK)
    assert sorted(report.surveyed) == ["enterprise", "government", "public"] and report.has_needs
    stored = demo.db.run_scores(demo.run_id, units=[demo.surveyed], max_level=2)
    stored = stored[stored["year"] == YEAR].set_index("node")
    # Every dimension and second-level score shown is the stored one, with the stored rank.
    for node in report.dimensions + report.indicators:
        assert node.score == pytest.approx(stored.at[node.code, "score"], abs=1e-4)
        assert (
            node.rank == stored.at[node.code, "rank"] and node.of == stored.at[node.code, "ranked"]
        )
    assert report.stage == stored.at["TOTAL", "stage"]
    weak = [d for d in report.dimensions if d.weak]
    assert weak, "the demo's surveyed city has a weak dimension"
    own_mean = np.mean([d.score for d in report.dimensions])
    for d in weak:  # weak by its peers or by its own mean, as the rule says
        assert d.percentile < 1 / 3 or own_mean - d.score > 10
    # The needs named in the reasons are the survey's candidate applications.
    asked = {c.code for c in candidate_applications_for(demo.db, demo.surveyed, YEAR).candidates}
    named = [r for r in report.reasons if r.key == "plandiag.reason.need"]
    assert named and {r.params["application"] for r in named} <= asked
    assert all(r.text and "{" not in r.text for r in report.reasons)
    listed = [a for apps in report.applications.values() for a in apps if a.source == "survey"]
    assert {a.code for a in listed} == asked
    assert sum(t.share for t in report.types) == pytest.approx(1.0)
    assert report.min_share[report.primary] == 0.40
    assert report.primary_name in report.headline


def test_a_city_without_a_survey_is_diagnosed_from_the_evaluation(demo: Demo) -> None:
    totals = demo.db.run_scores(demo.run_id, max_level=0)
    last = totals[(totals["year"] == YEAR) & (totals["unit"] != demo.surveyed)]
    weakest = str(last.sort_values("score")["unit"].iloc[0])
    with use_language("en"):
        report = service.diagnose(demo.db, weakest, framework_id=FRAMEWORK, year=YEAR)
    assert not report.has_needs and report.surveyed == []
    assert "needs" not in report.part_weights
    assert any(r.key == "plandiag.reason.no_survey" for r in report.reasons)
    assert report.headline.startswith("Recommended emphasis")
    assert all(a.source == "evaluation" for apps in report.applications.values() for a in apps)
    assert len([d for d in report.dimensions if d.weak]) >= 4  # the weakest city of the run


def test_wrong_year_unit_and_run_are_refused(demo: Demo) -> None:
    with pytest.raises(CityLoopError, match="1999"):
        service.diagnose(demo.db, demo.surveyed, year=1999)
    with pytest.raises(CityLoopError, match="110000"):  # a province: not evaluated
        service.diagnose(demo.db, "110000")
    with pytest.raises(NoRunError):
        service.diagnose(demo.db, demo.surveyed, run_id=demo.run_id + 100)
    with pytest.raises(NoRunError):
        service.diagnose(demo.db, demo.surveyed, framework_id="iso37122-2019")
    earlier = service.diagnose(demo.db, demo.surveyed, year=YEAR - 1, run_id=demo.run_id)
    assert earlier.year == YEAR - 1 and earlier.surveyed == ["public"]  # 2024: citizens only
