"""Migration 0006 (the data hub): a database at 0005 with rows upgrades with every row kept;
values may then be ``derived``, the history stays append-only, and a downgrade is refused
while derived values are in the history."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from cityloop.datahub.indicator_table import IndicatorTable, validate_values
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from tests.store.samples import Demo
from tests.store.test_migrations import _digests

NEW_TABLES = {
    "data_resources", "resource_rows", "sharing_requests", "api_keys", "access_log",
    "resource_checks", "sensor_entities", "observations",
}  # fmt: skip
DERIVED = Origin(OriginKind.DERIVED, '{"formula": "mean(daily(AirQualityObserved.pm25))"}')


def changed(mini: Framework, demo: Demo) -> IndicatorTable:
    """The demo's values, percentage I1 nudged: an upsert of them writes history rows."""
    frame = demo.frame[demo.frame["indicator"] == "I1"].copy()  # a percentage
    frame["value"] = (frame["value"] + 0.5).clip(upper=99.9)
    return validate_values(frame, mini, demo.units)


@pytest.fixture
def at_0005(empty_db: Database, mini: Framework, mini_demo: Demo) -> Database:
    """A database at 0005 with regions, values and their history in it."""
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0005")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    return empty_db


def test_upgrade_keeps_every_row_and_values_may_then_be_derived(
    at_0005: Database, mini: Framework, mini_demo: Demo
) -> None:
    with at_0005.engine.connect() as conn:
        before = _digests(conn)
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
    with pytest.raises(DBAPIError), at_0005.transaction() as conn:  # 0005 knows no "derived"
        conn.execute(text("UPDATE indicator_values SET origin_kind = 'derived'"))

    assert at_0005.upgrade() == migrate.head_revision()
    with at_0005.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert all(after[name][0] == 0 for name in NEW_TABLES)

    at_0005.upsert_values(changed(mini, mini_demo), mini, "dora", DERIVED)
    with at_0005.engine.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT origin_kind FROM value_history")).scalars()
        assert set(kinds) == {"file", "derived"}
    # The CHECK is still there for anything else, and the rebuilt history is still append-only.
    with pytest.raises(DBAPIError), at_0005.transaction() as conn:
        conn.execute(text("UPDATE indicator_values SET origin_kind = 'guess'"))
    for statement in ("UPDATE value_history SET value = value", "DELETE FROM value_history"):
        with pytest.raises(DBAPIError, match="append-only"), at_0005.transaction() as conn:
            conn.execute(text(statement))


def test_downgrade_is_refused_while_derived_values_are_in_the_history(
    at_0005: Database, mini: Framework, mini_demo: Demo
) -> None:
    at_0005.upgrade()
    at_0005.upsert_values(changed(mini, mini_demo), mini, "dora", DERIVED)
    with pytest.raises(RuntimeError, match="derived"), at_0005.transaction() as conn:
        migrate.downgrade(conn, "0005")
    assert at_0005.revision() == migrate.head_revision()
    assert set(inspect(at_0005.engine).get_table_names()) >= NEW_TABLES


def test_downgrade_without_derived_values_removes_only_the_hub(at_0005: Database) -> None:
    with at_0005.engine.connect() as conn:
        before = _digests(conn)
    at_0005.upgrade()
    with at_0005.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0005")
    with at_0005.engine.connect() as conn:
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        kept = _digests(conn)
    assert {k: v for k, v in kept.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
    with pytest.raises(DBAPIError), at_0005.transaction() as conn:
        conn.execute(text("UPDATE indicator_values SET origin_kind = 'derived'"))
    with pytest.raises(DBAPIError, match="append-only"), at_0005.transaction() as conn:
        conn.execute(text("DELETE FROM value_history"))
