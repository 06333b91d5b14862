"""The catalogue in the store, on both backends: entries, their audit rows, all-or-nothing
imports, publishing and the rows of table resources."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from cityloop.datahub.catalogue import ResourceStatus
from cityloop.errors import InputError
from cityloop.store import Database
from cityloop.store.models import AuditEntry, Department, Region
from tests.datahub.test_catalogue import GOOD

UNIT = "330100"


@pytest.fixture
def cat_db(db: Database) -> Database:
    with db.session() as s:
        s.add(Region(code=UNIT, name_zh="示例市", name_en="Sample City", level="city"))
    return db


def audit(db: Database) -> list[tuple[str, str, dict | None, dict | None]]:
    with db.reader() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.entity == "data_resources")
                         .order_by(AuditEntry.id))  # fmt: skip
        return [(r.action, r.entity_id, r.before, r.after) for r in rows]


def test_add_update_publish_are_audited(cat_db: Database) -> None:
    stored = cat_db.catalogue.add(UNIT, GOOD, actor="alice")
    assert stored.status == ResourceStatus.DRAFT and stored.entry == GOOD
    with cat_db.reader() as s:  # the department kind came from departments.yaml
        assert s.get(Department, "transport") is not None
    changed = replace(GOOD, name_zh="公交站点（新）")
    assert cat_db.catalogue.update(stored.id, changed, actor="bob").entry == changed
    assert cat_db.catalogue.publish(stored.id, actor="bob").status == ResourceStatus.PUBLISHED
    assert cat_db.catalogue.get(stored.id).entry == changed  # type: ignore[union-attr]
    assert cat_db.catalogue.by_code(UNIT, GOOD.code).id == stored.id  # type: ignore[union-attr]
    trail = audit(cat_db)
    assert [a for a, *_ in trail] == ["create", "update", "published"]
    assert trail[1][2]["name_zh"] == "公交站点" and trail[1][3]["name_zh"] == "公交站点（新）"
    assert trail[2][2:] == ({"status": "draft"}, {"status": "published"})
    with pytest.raises(InputError, match="302001-000001"):  # a code is unique per unit
        cat_db.catalogue.add(UNIT, GOOD, actor="alice")


def test_an_import_is_all_or_nothing(cat_db: Database) -> None:
    first = cat_db.catalogue.add(UNIT, GOOD, actor="alice")
    renamed = replace(GOOD, name_zh="改名")
    new = replace(GOOD, code="302001-000002")
    unknown = replace(GOOD, code="302001-000003", department="propaganda")
    with pytest.raises(InputError):
        cat_db.catalogue.import_entries(UNIT, [renamed, new, unknown], actor="alice")
    assert [r.entry for r in cat_db.catalogue.entries()] == [GOOD]  # nothing changed
    with pytest.raises(InputError, match="302001-000001"):  # one code twice in one import
        cat_db.catalogue.import_entries(UNIT, [renamed, new, GOOD], actor="alice")
    counts = cat_db.catalogue.import_entries(UNIT, [renamed, new], actor="alice")
    assert (counts.added, counts.updated) == (1, 1)
    listed = cat_db.catalogue.entries([UNIT])
    assert [r.code for r in listed] == ["302001-000001", "302001-000002"]
    assert listed[0].id == first.id and cat_db.catalogue.entries(["110000"]) == []


def test_rows_are_replaced_whole(cat_db: Database) -> None:
    stored = cat_db.catalogue.add(UNIT, GOOD, actor="alice")
    cat_db.catalogue.replace_rows(stored.id, [{"stop_id": "a", "n": 1}] * 3, actor="alice")
    assert cat_db.catalogue.replace_rows(stored.id, [{"stop_id": "b", "n": 2}], actor="al") == 1
    frame = cat_db.catalogue.rows_frame(stored.id)
    assert frame.to_dict("records") == [{"stop_id": "b", "n": 2}]
    assert cat_db.catalogue.row_counts([stored.id]) == {stored.id: 1}
    assert cat_db.catalogue.get(stored.id).data_updated_at is not None  # type: ignore[union-attr]
    assert audit(cat_db)[-1][2:] == ({"rows": 3}, {"rows": 1})
