"""The project catalogue's store and service on both backends: overrides are stored as the
fields that differ, validated against the merged catalogue, audited, reset, and imported from
a workbook all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.errors import InputError
from cityloop.planning.project_catalogue import load_catalogue
from cityloop.services import plan_catalogue as service
from cityloop.store import Database
from cityloop.store.models import AuditEntry
from tests.store.databases import backend, db, db_url, empty_db
from tests.store.samples import Demo, mini, mini_demo

__all__ = ["backend", "db", "db_url", "empty_db", "mini", "mini_demo"]  # the storage fixtures

OWN = {
    "name": {"zh": "本地自建平台", "en": "Own platform"},
    "description": {"zh": "示例", "en": "Example"},
    "domain": "egov",
    "cost": [100, 50],
    "staff": [2, 1],
    "plan_types": ["livelihood"],
    "prerequisites": ["one_network_gov"],
    "foundation": 3,
    "importance": 4,
}


@pytest.fixture
def unit(db: Database, mini_demo: Demo) -> str:
    db.load_units(mini_demo.units, "alice")
    return str(mini_demo.units.table.index[1])


def audit_ids(db: Database) -> list[str]:
    with db.reader() as s:
        return list(s.scalars(select(AuditEntry.entity_id).where(
            AuditEntry.entity == "plan_projects").order_by(AuditEntry.id)))  # fmt: skip


def test_an_override_keeps_only_what_differs_and_is_audited(db: Database, unit: str) -> None:
    shipped = load_catalogue().projects["city_brain"]
    fields = {"cost": [2000, 2000], "staff": [10, 10], "importance": shipped.importance}
    project = service.set_override(db, unit, "city_brain", fields, actor="alice")
    assert project.cost == (2000.0, 2000.0) and project.cycle == 2
    assert db.plan_projects.overrides(unit) == {"city_brain": {"cost": [2000.0, 2000.0],
                                                              "staff": [10.0, 10.0]}}  # fmt: skip
    merged = service.unit_catalogue(db, unit)
    assert merged.projects["city_brain"].name_zh == shipped.name_zh
    assert service.unit_catalogue(db, "no-such-unit").projects["city_brain"] == shipped
    # A later edit goes on top of the earlier one; replace starts from the shipped project.
    service.set_override(db, unit, "city_brain", {"importance": 2}, actor="bob")
    assert set(db.plan_projects.overrides(unit)["city_brain"]) == {"cost", "staff", "importance"}
    service.set_override(db, unit, "city_brain", {"importance": 2}, actor="bob", replace=True)
    assert db.plan_projects.overrides(unit) == {"city_brain": {"importance": 2.0}}
    assert audit_ids(db) == [f"{unit}/city_brain"] * 3
    assert service.reset_override(db, unit, "city_brain", actor="bob") is True
    assert service.reset_override(db, unit, "city_brain", actor="bob") is False
    assert db.plan_projects.overrides(unit) == {}
    assert len(audit_ids(db)) == 4


def test_a_refused_change_saves_nothing(db: Database, unit: str) -> None:
    service.set_override(db, unit, "own_platform", OWN, actor="alice")
    assert service.unit_view(db, unit).status["own_platform"] == "own"
    # A cycle through the own project, an unknown indicator, a half-given own project.
    with pytest.raises(InputError) as cycle:
        service.set_override(db, unit, "one_network_gov",
                             {"prerequisites": ["own_platform"]}, actor="alice")  # fmt: skip
    assert "one_network_gov" in cycle.value.render("en") and "cycle" in cycle.value.render("en")
    with pytest.raises(InputError, match="NOPE"):
        service.set_override(db, unit, "city_brain", {"effects": [
            {"indicator": "NOPE", "low": 1, "likely": 2, "high": 3}]}, actor="alice")  # fmt: skip
    with pytest.raises(InputError):
        service.set_override(db, unit, "half_own", {"cost": [1]}, actor="alice")
    # Removing an own project that another one needs is refused too.
    service.set_override(db, unit, "own_after", {**OWN, "prerequisites": ["own_platform"]},
                         actor="alice")  # fmt: skip
    with pytest.raises(InputError, match="own_platform"):
        service.reset_override(db, unit, "own_platform", actor="alice")
    assert set(db.plan_projects.overrides(unit)) == {"own_platform", "own_after"}
    assert len(audit_ids(db)) == 2


def test_the_workbook_round_trip_replaces_the_overrides(db: Database, unit: str) -> None:
    service.set_override(db, unit, "own_platform", OWN, actor="alice")
    service.set_override(db, unit, "xueliang", {"foundation": 5}, actor="alice")
    data = service.export_workbook(db, unit, "en")
    assert service.import_workbook(db, unit, data, "p.xlsx", actor="bob") == 2
    assert db.plan_projects.overrides(unit)["xueliang"] == {"foundation": 5.0}
    shipped = service.export_workbook(db, None, "zh-CN")
    assert service.import_workbook(db, unit, shipped, "shipped.xlsx", actor="bob") == 0
    assert db.plan_projects.overrides(unit) == {}
    with pytest.raises(InputError, match=r"bad\.xlsx"):
        service.import_workbook(db, unit, b"not a workbook", "bad.xlsx", actor="bob")
