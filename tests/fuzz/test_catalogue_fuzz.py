"""Fuzzing the resource catalogue's files (``services.catalogue.import_catalogue``: Excel, DCAT
JSON-LD and Turtle; ``upload_rows``: a table resource's CSV/XLSX rows): import or a clear
refusal, database unchanged; formula text goes back out of the Excel export defused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from cityloop.services import catalogue as service
from tests.fuzz.conftest import FUZZ, Guard
from tests.fuzz.inputs import FORMULA_INJECTIONS, awkward_text, damaged, edited_workbook
from tests.fuzz.world import ADMIN, World

SUFFIXES = (".xlsx", ".jsonld", ".json", ".ttl")


@pytest.fixture(scope="module")
def exports(world: World) -> dict[str, bytes]:
    """The unit's catalogue as each format exports it (a valid file to damage)."""
    units = world.db.units()
    assert units is not None
    return {
        suffix: service.export_catalogue(world.db, ADMIN, units, suffix, unit=world.unit)
        for suffix in (".xlsx", ".jsonld", ".ttl")
    }


def import_file(world: World, folder: Path, data: bytes, name: str) -> object:
    path = folder / f"upload{Path(name).suffix}"
    path.write_bytes(data)
    units = world.db.units()
    assert units is not None
    return service.import_catalogue(world.db, ADMIN, units, world.unit, path, name)


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_are_refused_clearly(
    guard: Guard, world: World, tmp_path: Path, data: bytes, suffix: str
) -> None:
    name = f"目录{suffix}"
    guard.attempt(lambda: import_file(world, tmp_path, data, name), file=name)


@FUZZ
@given(st.data())
def test_a_damaged_export_imports_or_is_refused(
    guard: Guard, world: World, tmp_path: Path, exports: dict[str, bytes], data: st.DataObject
) -> None:
    suffix = data.draw(st.sampled_from(sorted(exports)))
    strategies = [damaged(exports[suffix])]
    if suffix == ".xlsx":
        strategies.append(edited_workbook(exports[suffix]))
    broken = data.draw(st.one_of(strategies))
    name = f"目录{suffix}"
    guard.attempt(lambda: import_file(world, tmp_path, broken, name), file=name)


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deeply_nested_json_ld_is_refused(
    full_guard: Guard, world: World, tmp_path: Path, depth: int
) -> None:
    nested = ("[" * depth + "]" * depth).encode()
    assert (
        full_guard.attempt(
            lambda: import_file(world, tmp_path, nested, "深.jsonld"), file="深.jsonld"
        )
        is None
    )


@FUZZ
@given(st.data())
def test_table_rows_import_or_are_refused(
    guard: Guard, world: World, tmp_path: Path, data: st.DataObject
) -> None:
    stored = world.db.catalogue.get(world.table_resource)
    assert stored is not None
    names = [f.name for f in stored.entry.fields]
    header = data.draw(
        st.lists(st.sampled_from([*names, "多余"]), min_size=1, max_size=len(names) + 2)
    )
    rows = data.draw(
        st.lists(st.lists(awkward_text, min_size=len(header), max_size=len(header)), max_size=6)
    )
    text = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in [header, *rows])
    suffix = data.draw(st.sampled_from([".csv", ".xlsx", ".txt"]))
    payload = text.encode(data.draw(st.sampled_from(["utf-8", "gbk", "utf-8-sig"])), "replace")
    path = tmp_path / f"rows{suffix}"
    path.write_bytes(payload)
    units = world.db.units()
    assert units is not None
    name = f"行{suffix}"
    guard.attempt(
        lambda: service.upload_rows(world.db, ADMIN, units, world.table_resource, path, name),
        file=name,
    )


def test_formula_text_round_trips_as_text_and_exports_defused(
    full_guard: Guard, world: World, tmp_path: Path, exports: dict[str, bytes]
) -> None:
    book = load_workbook(io.BytesIO(exports[".xlsx"]))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    title = next(i for i, h in enumerate(header, 1) if h and "名称" in str(h))
    rows = range(2, 2 + len(FORMULA_INJECTIONS))
    for row, injection in zip(rows, FORMULA_INJECTIONS, strict=True):
        cell = sheet.cell(row=row, column=title)
        cell.value, cell.data_type = injection, "s"  # a text cell, as a user's spreadsheet has
    out = io.BytesIO()
    book.save(out)
    if (
        full_guard.attempt(lambda: import_file(world, tmp_path, out.getvalue(), "注入.xlsx"))
        is None
    ):
        return  # refused: nothing stored, nothing to export
    units = world.db.units()
    assert units is not None
    exported = service.export_catalogue(world.db, ADMIN, units, ".xlsx", unit=world.unit)
    back = load_workbook(io.BytesIO(exported)).worksheets[0]
    formulas = [c.coordinate for r in back.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == [], "an exported cell would run as a formula"
    texts = {str(c.value) for r in back.iter_rows() for c in r}
    assert all(i.strip() in texts or "'" + i.strip() in texts for i in FORMULA_INJECTIONS)
