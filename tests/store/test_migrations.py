"""Migrations: the models match them, and a database made by 0001 upgrades with every row kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, insert, inspect
from sqlalchemy.exc import IntegrityError

from cityloop.accounts.roles import Role
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from cityloop.store.backup import reflect, table_chunks
from cityloop.store.frameworks import content_hash, framework_yaml
from cityloop.store.models import Base, User
from tests.store.samples import Demo

WHEN = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def test_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_are_a_chain_from_0001_to_head() -> None:
    assert migrate.known_revisions() == [
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
        "0006",
        "0007",
        "0008",
        "0009",
        "0010",
        "0011",
    ]
    assert migrate.head_revision() == "0011"


def test_upgrade_from_0001_keeps_every_row(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0001")
        _fill_0001(conn, mini)
        before = _digests(conn)
    assert set(before) == {
        "regions", "region_groups", "group_memberships", "frameworks", "framework_versions",
        "departments", "indicator_values", "value_history", "evaluation_runs", "run_scores",
    }  # fmt: skip
    assert all(rows > 0 for rows, _ in before.values())

    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
        assert {"users", "audit_log"} <= set(inspect(conn).get_table_names())
    assert {name: after[name] for name in before} == before  # same rows, same bytes
    assert after["users"][0] == after["audit_log"][0] == 0

    # The upgraded database works through the store: the old rows are read and written on.
    assert empty_db.framework("mini").id == "mini"
    frame = empty_db.values_frame("mini")
    assert frame[["unit", "year", "indicator", "value"]].to_dict("records") == [
        {"unit": "110100", "year": 2024, "indicator": "I1", "value": 81.5},
        {"unit": "110100", "year": 2025, "indicator": "I1", "value": 84.25},
    ]
    empty_db.load_units(mini_demo.units, "tester")
    counts = empty_db.upsert_values(mini_demo.values, mini, "tester", Origin(OriginKind.FILE))
    assert counts.inserted == len(mini_demo.values.frame) - 2
    assert counts.updated == 2  # the two 0001 cells take the demo's values


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds(db: Database) -> None:
    with db.transaction() as conn:
        migrate.downgrade(conn, "base")
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    assert db.revision() is None
    assert db.upgrade() == migrate.head_revision()


def test_roles_in_the_database_are_the_roles_of_accounts(db: Database) -> None:
    user = {
        "password_hash": "x",
        "display_name": "",
        "failed_logins": 0,
        "active": True,
        "created_at": WHEN,
    }
    with db.session() as s:
        for role in Role:
            s.execute(insert(User), {**user, "username": role.value, "role": role.value})
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(insert(User.__table__), {**user, "username": "x", "role": "superuser"})


def _fill_0001(conn: Connection, fw: Framework) -> None:
    """Rows in every table of revision 0001, written as that revision's schema stands.

    Keys come from the database's own sequences, as the application's writes get them.
    """
    meta = MetaData()
    meta.reflect(conn)
    value = "framework_id region_code year indicator value source note"
    stamp = ("alice", WHEN, "file", "a.xlsx")
    stamped = "entered_by entered_at origin_kind origin_ref"
    tables = {
        "regions": _rows(
            "code name_zh name_en level parent_code population size_class",
            ("110000", "北京市", "Beijing", "province", None, None, None),
            ("110100", "北京示例市01", "", "city", "110000", 2185.5, "超大城市"),
        ),
        "region_groups": _rows("kind name", ("cluster", "京津冀")),
        "group_memberships": _rows("group_id region_code position", (1, "110100", 0)),
        "frameworks": _rows("id title_zh title_en standard", (fw.id, "小指标体系", "Mini", "")),
        "framework_versions": _rows(
            "framework_id version content_hash yaml_text registered_by registered_at",
            (fw.id, fw.version, content_hash(fw), framework_yaml(fw), "alice", WHEN),
        ),
        "departments": _rows("code name_zh name_en", ("data_bureau", "大数据局", "Data bureau")),
        "indicator_values": _rows(
            f"{value} {stamped}",
            (fw.id, "110100", 2024, "I1", 81.5, "年报", "", *stamp),
            (fw.id, "110100", 2025, "I1", 84.25, "年报", "初值", *stamp),
        ),
        "value_history": _rows(
            f"{value} previous_value {stamped}",
            (fw.id, "110100", 2024, "I1", 81.5, "年报", "", None, *stamp),
            (fw.id, "110100", 2025, "I1", 84.25, "年报", "初值", 80.0, *stamp),
        ),
        "evaluation_runs": _rows(
            "framework_version_id config data_hash provenance warnings status created_by "
            "created_at",
            (
                1,
                {"weights": {"method": "entropy"}, "min_coverage": 0.6},
                "ab" * 32,
                {"units": 1, "years": [2024, 2025]},
                ["少数指标缺失"],
                "completed",
                "bob",
                WHEN,
            ),
        ),
        "run_scores": _rows(
            "run_id unit year node level score change rank ranked stage",
            (1, "110100", 2025, "TOTAL", 0, 71.234, None, 1, 1, "smart"),
            (1, "110100", 2025, "I1", 2, None, 1.5, None, None, ""),
        ),
    }
    for name, rows in tables.items():
        conn.execute(insert(meta.tables[name]), rows)


def _rows(columns: str, *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    names = columns.split()
    return [dict(zip(names, row, strict=True)) for row in values]


def _digests(conn: Connection) -> dict[str, tuple[int, str]]:
    out = {}
    for table in reflect(conn):
        digest, rows = hashlib.sha256(), 0
        for count, chunk in table_chunks(conn, table):
            digest.update(chunk)
            rows += count
        out[table.name] = (rows, digest.hexdigest())
    return out


def test_0003_takes_the_last_failure_from_the_audit_log(empty_db: Database) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0002")
        meta = MetaData()
        meta.reflect(conn)
        user = {
            "password_hash": "x",
            "display_name": "",
            "role": "viewer",
            "active": True,
            "created_at": WHEN,
            "locked_until": None,
        }
        conn.execute(
            insert(meta.tables["users"]),
            [
                {**user, "username": "amy", "failed_logins": 2},
                {**user, "username": "bob", "failed_logins": 0},
            ],
        )
        audit = {"actor": "web", "entity": "users", "before": None, "after": None}
        conn.execute(
            insert(meta.tables["audit_log"]),
            [
                {**audit, "at": WHEN, "action": "login_failed", "entity_id": "amy"},
                {
                    **audit,
                    "at": WHEN.replace(minute=31),
                    "action": "login_failed",
                    "entity_id": "amy",
                },
                {**audit, "at": WHEN.replace(minute=32), "action": "login", "entity_id": "amy"},
                {**audit, "at": WHEN, "action": "login_failed", "entity_id": "bob"},
            ],
        )
    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.session() as s:
        rows = {u.username: u.last_failed_login for u in s.query(User)}
    assert rows == {"amy": WHEN.replace(minute=31), "bob": None}
