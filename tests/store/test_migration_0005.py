"""Migration 0005 (questionnaires, surveys, responses): a database at 0004 with rows in it
upgrades with every row kept, and the new tables work; a downgrade removes only them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect

from cityloop.collection import deadline_moment
from cityloop.frameworks import Framework
from cityloop.store import Database, Origin, OriginKind, migrate
from cityloop.store.surveys import NewResponse
from tests.store.samples import Demo
from tests.store.test_migrations import _digests

NEW_TABLES = {"questionnaires", "surveys", "survey_responses"}


def test_upgrade_from_0004_keeps_every_row_and_adds_the_tables(
    empty_db: Database, mini: Framework, mini_demo: Demo
) -> None:
    with empty_db.transaction() as conn:
        migrate.upgrade(conn, "0004")
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    empty_db.load_units(mini_demo.units, "alice")
    empty_db.upsert_values(mini_demo.values, mini, "alice", Origin(OriginKind.FILE, "a.xlsx"))
    empty_db.open_round("mini", 2026, deadline_moment(date(2026, 6, 30)), actor="alice")
    with empty_db.engine.connect() as conn:
        before = _digests(conn)
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
    assert before["collection_rounds"][0] == 1

    assert empty_db.upgrade("0005") == "0005"
    empty_db._schema_checked = True  # the store's code is newer than the schema on purpose
    with empty_db.engine.connect() as conn:
        after = _digests(conn)
    assert {name: after[name] for name in before} == before
    assert all(after[name][0] == 0 for name in NEW_TABLES)

    survey = empty_db.surveys.create(
        unit="110100", questionnaire_id="q", questionnaire_version="1", questionnaire_yaml="id: q",
        year=2026, districts=[], margins={}, actor="alice",
    )  # fmt: skip
    empty_db.surveys.add_responses(survey.id, [NewResponse("r1", {}, {"q1": 3.0})])
    assert empty_db.surveys.response_count(survey.id) == 1

    with empty_db.transaction(changes_schema=True) as conn:
        migrate.downgrade(conn, "0004")
    with empty_db.engine.connect() as conn:
        assert not NEW_TABLES & set(inspect(conn).get_table_names())
        kept = {name: _digests(conn)[name] for name in before if name != "audit_log"}
    assert kept == {name: value for name, value in before.items() if name != "audit_log"}
