"""Fuzzing the planning and supervision workbooks: the project catalogue
(``services.plan_catalogue.import_workbook``) and the progress workbook
(``services.supervision_excel.upload_progress``): applied whole, or refused clearly with the
database unchanged; both refuse an oversized file before opening it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.services import plan_catalogue
from cityloop.services.supervision_excel import MAX_UPLOAD_BYTES, progress_template, upload_progress
from tests.fuzz.conftest import FUZZ, Guard
from tests.fuzz.inputs import damaged, edited_workbook
from tests.fuzz.world import ADMIN, World

TODAY = date(2027, 6, 30)


@pytest.fixture(scope="module")
def plan_workbook(world: World) -> bytes:
    return plan_catalogue.export_workbook(world.db, world.unit)


@pytest.fixture(scope="module")
def progress_workbook(world: World) -> bytes:
    return progress_template(world.db, world.unit, actor=ADMIN, today=TODAY)


@FUZZ
@given(st.data())
def test_a_damaged_project_catalogue_imports_or_is_refused(
    guard: Guard, world: World, plan_workbook: bytes, data: st.DataObject
) -> None:
    content = data.draw(
        st.one_of(damaged(plan_workbook), edited_workbook(plan_workbook), st.binary(max_size=300))
    )
    guard.attempt(
        lambda: plan_catalogue.import_workbook(world.db, world.unit, content, "项目库.xlsx",
                                               actor="fuzz"),
        file="项目库.xlsx",
    )  # fmt: skip


@FUZZ
@given(st.data())
def test_a_damaged_progress_workbook_is_applied_or_refused(
    guard: Guard, world: World, progress_workbook: bytes, data: st.DataObject
) -> None:
    content = data.draw(
        st.one_of(
            damaged(progress_workbook), edited_workbook(progress_workbook), st.binary(max_size=300)
        )
    )
    name = data.draw(st.sampled_from(["进度.xlsx", "进度.csv", "进度"]))
    guard.attempt(
        lambda: upload_progress(world.db, world.unit, content, name, actor=ADMIN), file=name
    )


@pytest.mark.parametrize("which", ["plan", "progress"])
def test_oversized_workbooks_are_refused_by_size(
    full_guard: Guard, world: World, which: str
) -> None:
    huge = b"PK\x03\x04" + b"\0" * max(MAX_UPLOAD_BYTES, plan_catalogue.MAX_UPLOAD_BYTES)

    def send() -> object:
        if which == "plan":
            return plan_catalogue.import_workbook(world.db, world.unit, huge, "大.xlsx", actor="f")
        return upload_progress(world.db, world.unit, huge, "大.xlsx", actor=ADMIN)

    assert full_guard.attempt(send, file="大.xlsx") is None
