"""Regions and clusters: a units table goes in, comes back the same, and updates in place."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from cityloop.datahub.units import build_units
from cityloop.store import Database
from cityloop.store.models import AuditEntry
from tests.store.samples import Demo

UNITS = pd.DataFrame(
    {
        "code": ["330000", "330100", "330102", "330200"],
        "name_zh": ["浙江省", "杭州示例市", "上城示例区", "宁波示例市"],
        "name_en": ["Zhejiang", "", "", "Ningbo"],
        "level": ["province", "city", "district", "city"],
        "parent": [None, "330000", "330100", "330000"],
        "population": [None, 1237.6, 134.2, None],
        "size_class": [None, "超大城市", None, "特大城市"],
        "groups": [None, "长三角;杭州都市圈", None, "长三角"],
    }
)


def test_units_come_back_as_they_went_in(db: Database, mini_demo: Demo) -> None:
    counts = db.load_units(mini_demo.units, "alice")
    assert (counts.inserted, counts.updated, counts.unchanged) == (len(mini_demo.units.codes), 0, 0)
    stored = db.units()
    assert stored is not None
    pd.testing.assert_frame_equal(
        stored.table.sort_index(), mini_demo.units.table.sort_index(), check_dtype=False
    )
    key = ["unit", "kind", "group"]
    expected = mini_demo.units.memberships.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        stored.memberships.sort_values(key).reset_index(drop=True), expected
    )
    again = db.load_units(mini_demo.units, "alice")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(mini_demo.units.codes))


def test_a_changed_unit_is_updated_and_its_old_state_logged(db: Database) -> None:
    db.load_units(build_units(UNITS), "alice")
    changed = UNITS.copy()
    changed.loc[3, ["name_zh", "groups", "population"]] = ["宁波市", "", 961.8]
    counts = db.load_units(build_units(changed), "bob")
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 3)
    stored = db.units()
    assert stored is not None
    assert stored.table.loc["330200", "name_zh"] == "宁波市"
    assert stored.table.loc["330200", "population"] == 961.8
    clusters = stored.memberships[stored.memberships["kind"] == "cluster"]
    assert sorted(clusters["group"]) == ["杭州都市圈", "长三角"]  # 330200 left 长三角
    with db.reader() as s:
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert audit.actor == "bob"
    assert audit.before == {
        "changed": {
            "330200": {
                "name_zh": "宁波示例市", "name_en": "Ningbo", "level": "city",
                "parent_code": "330000", "population": None, "size_class": "特大城市",
            }
        }
    }  # fmt: skip
