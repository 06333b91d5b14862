"""Fuzzing the survey files: questionnaire drafts (``services.survey_design.save_draft``, YAML)
and answers exported by other survey tools (``services.survey_results.import_answers``, CSV and
XLSX): stored whole, or refused clearly with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.services import survey_design, survey_results
from cityloop.services.survey_design import MAX_DRAFT_CHARS
from tests.fuzz.conftest import FUZZ, Guard
from tests.fuzz.inputs import awkward_text, damaged, mutated_text, workbook_bytes
from tests.fuzz.world import World

SHIPPED = Path(survey_design.__file__).parent.parent / "survey" / "questionnaires"
SHIPPED_ID = "government-gbt33356-2016"


@pytest.fixture(scope="module")
def draft() -> str:
    """A shipped questionnaire under a new id: a draft the designer would save."""
    text = (SHIPPED / f"{SHIPPED_ID}.yaml").read_text("utf-8")
    return text.replace(f"id: {SHIPPED_ID}", "id: fuzz-questionnaire", 1)


@FUZZ
@given(st.data())
def test_a_mutated_questionnaire_is_saved_or_refused(
    guard: Guard, world: World, draft: str, data: st.DataObject
) -> None:
    text = data.draw(st.one_of(mutated_text(draft), st.text(max_size=300)))
    version = data.draw(st.integers(min_value=2, max_value=10**6))
    text = text.replace('version: "1.0"', f'version: "{version}"', 1)
    guard.attempt(lambda: survey_design.save_draft(world.db, text, actor="fuzz"))


def test_an_oversized_draft_is_refused_before_parsing(full_guard: Guard, world: World) -> None:
    huge = "a: [" * (MAX_DRAFT_CHARS // 4 + 1)
    refused = full_guard.attempt(lambda: survey_design.save_draft(world.db, huge, actor="fuzz"))
    assert refused is None


@pytest.fixture(scope="module")
def answers_header(world: World, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The columns of the survey's CSV export: what ``import_answers`` reads back."""
    path = tmp_path_factory.mktemp("answers") / "export.csv"
    survey_results.export_survey(world.db, world.survey, path)
    return path.read_text("utf-8-sig").splitlines()[0].split(",")


@FUZZ
@given(st.data())
def test_answers_files_import_or_are_refused(
    guard: Guard, world: World, answers_header: list[str], tmp_path: Path, data: st.DataObject
) -> None:
    header = data.draw(
        st.lists(st.sampled_from([*answers_header, "多余列"]), min_size=1, max_size=12)
    )
    rows = data.draw(
        st.lists(st.lists(awkward_text, min_size=len(header), max_size=len(header)), max_size=5)
    )
    suffix = data.draw(st.sampled_from([".csv", ".xlsx"]))
    if suffix == ".xlsx":
        content = workbook_bytes({"答卷": [header, *rows]})
    else:
        quoted = ['"' + c.replace('"', '""') + '"' for r in [header, *rows] for c in r]
        width = len(header)
        lines = [",".join(quoted[i : i + width]) for i in range(0, len(quoted), width)]
        content = ("\n".join(lines) + "\n").encode("gb18030")
    content = data.draw(st.one_of(st.just(content), damaged(content)))
    path = tmp_path / f"答卷{suffix}"
    path.write_bytes(content)
    guard.attempt(
        lambda: survey_results.import_answers(world.db, world.survey, path, "fuzz"),
        file=path.name,
    )
