"""Fixed hostile files against every importer on SQLite and PostgreSQL: each is refused with a
clear message and the checksum of every table is the same afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cityloop.datahub.ngsild import PayloadForm
from cityloop.services import catalogue, collection, plan_catalogue, survey_design, survey_results
from cityloop.services.sensor_ingest import ingest
from cityloop.services.supervision_excel import progress_template, upload_progress
from tests.fuzz.conftest import Guard
from tests.fuzz.world import ADMIN, NOW, World, build_world
from tests.store.databases import BACKENDS, new_database_url

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module", params=BACKENDS)
def any_world(
    request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The session's SQLite world, or a PostgreSQL one built for this module."""
    if request.param == "sqlite":
        yield world
        return
    for url in new_database_url(str(request.param), tmp_path_factory.mktemp("fuzz-pg")):
        built = build_world(url)
        yield built
        built.db.dispose()


def refusals(w: World, folder: Path) -> dict[str, tuple[str | None, Callable[[], object]]]:
    """Each importer with a file it must refuse: (file name the message names, call)."""
    units = w.db.units()
    assert units is not None
    scope = collection.scope_of(w.db, ADMIN, w.round, NOW)
    bad_values = f"unit,year,indicator,value\n{w.unit},2026,L1P1-A1,50\n{w.unit},2026,L1P1-A2,x\n"
    plan = plan_catalogue.export_workbook(w.db, w.unit)
    progress = progress_template(w.db, w.unit, actor=ADMIN, today=NOW.date())
    answers = folder / "答卷.csv"
    answers.write_bytes("receipt,receipt\n1,2\n".encode("gbk"))
    jsonld = folder / "upload.jsonld"
    jsonld.write_bytes(DEEP)
    return {
        "values": ("值.csv", lambda: collection.save_upload(
            w.db, ADMIN, scope, bad_values.encode(), "值.csv")),
        "catalogue": ("目录.jsonld", lambda: catalogue.import_catalogue(
            w.db, ADMIN, units, w.unit, jsonld, "目录.jsonld")),
        "ngsild": (None, lambda: ingest(w.db, DEEP, None, unit=w.unit,
                                        resource_id=w.sensor_resource, actor="f",
                                        form=PayloadForm.ANY)),
        "questionnaire": (None, lambda: survey_design.save_draft(w.db, "id: [", actor="f")),
        "answers": ("答卷.csv", lambda: survey_results.import_answers(
            w.db, w.survey, answers, "f")),
        "plan-catalogue": ("项目库.xlsx", lambda: plan_catalogue.import_workbook(
            w.db, w.unit, plan[: len(plan) // 2], "项目库.xlsx", actor="f")),
        "progress": ("进度.xlsx", lambda: upload_progress(
            w.db, w.unit, progress[:-100], "进度.xlsx", actor=ADMIN)),
    }  # fmt: skip


@pytest.mark.parametrize(
    "importer",
    ["values", "catalogue", "ngsild", "questionnaire", "answers", "plan-catalogue", "progress"],
)
def test_a_hostile_file_is_refused_and_changes_nothing(
    any_world: World, tmp_path: Path, importer: str
) -> None:
    file, call = refusals(any_world, tmp_path)[importer]
    assert Guard(any_world.db, full=True).attempt(call, file=file) is None
