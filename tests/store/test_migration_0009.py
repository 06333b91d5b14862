"""Migration 0009 (outcome assessment): a database at 0008 with rows upgrades with every row
kept, and a downgrade to 0008 removes only the three outcome tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import inspect

from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from cityloop.store.models import TrackedProjectRecord, TrackingStatus
from cityloop.store.outcomes import FeedbackRange, MeasuredEffect
from tests.store.samples import Demo
from tests.store.test_migrations import _digests

NEW_TABLES = {"outcome_reports", "outcome_effects", "effect_feedback"}


def test_upgrade_keeps_every_row_and_downgrade_removes_only_the_outcome_tables(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0008")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    unit = str(mini_demo.units.table.index[0])
    with empty_db.session() as session:  # a row of 0008's table (today's store reads more)
        session.add(TrackedProjectRecord(
            unit_code=unit, code="p1", name_zh="项目", name_en="", domain="egov",
            phase="启动实施", start_date=date(2027, 1, 1), plan_types=[], indicators=[], needs=[],
            budget=[{"year": 2027, "planned_cost": 100.0}], percent_complete=0.0,
            last_update=date(2027, 1, 1), status=TrackingStatus.ACTIVE, created_by="alice",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
        ))  # fmt: skip
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert not NEW_TABLES & set(inspect(conn).get_table_names())

    assert empty_db.upgrade() == migrate.head_revision()
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert {name: after[name][0] for name in NEW_TABLES} == dict.fromkeys(NEW_TABLES, 0)

    settings = {"framework_id": "mini", "as_of": date(2029, 1, 1), "confidence": 0.9, "seed": 1}
    saved = empty_db.outcomes.save(
        unit, settings, {"projects": [], "skipped": []},
        [MeasuredEffect("p1", "I1", 1.5, 0.5, "delivered")], actor="alice",
    )  # fmt: skip
    empty_db.outcomes.write_feedback(
        unit, [FeedbackRange("p1", "mini", "I1", (1.0, 2.0, 3.0), (1.2, 1.8, 2.5), 1)],
        actor="alice",
    )  # fmt: skip
    assert [e.estimate for e in empty_db.outcomes.latest_effects("mini")] == [1.5]
    assert empty_db.outcomes.report(saved.id) == saved
    assert empty_db.outcomes.units_tracking(["p1", "p2"]) == {"p1": {unit}, "p2": set()}

    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0008")
    with empty_db.engine.connect() as conn:
        assert migrate.current_revision(conn) == "0008"
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        kept = _digests(conn)
    # The audit log gained the report's and the feedback's rows; every other table is as it was.
    assert {n: kept[n] for n in before if n != "audit_log"} == {
        n: before[n] for n in before if n != "audit_log"
    }
