"""The ``Database`` gateway: one transaction per session, schema checks, connection errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cityloop.errors import CityLoopError
from cityloop.services.store import open_database, upgrade
from cityloop.store import Database, Settings, migrate
from cityloop.store.models import Department


def test_a_database_without_tables_asks_for_an_upgrade(empty_db: Database) -> None:
    assert empty_db.revision() is None
    with pytest.raises(CityLoopError) as err:
        empty_db.units()
    assert err.value.key == "store.not_upgraded"
    assert "cityloop db upgrade" in err.value.render("en")


def test_upgrade_is_idempotent(empty_db: Database) -> None:
    assert upgrade(empty_db) == (None, migrate.head_revision())
    assert upgrade(empty_db) == (migrate.head_revision(), migrate.head_revision())
    assert empty_db.units() is None
    assert set(empty_db.row_counts().values()) == {0}


def test_a_revision_from_a_newer_cityloop_is_refused(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(CityLoopError) as err:
        db.upgrade()
    assert err.value.key == "store.unknown_revision"
    assert db.revision() == "0099"


def test_session_commits_once_or_not_at_all(db: Database) -> None:
    with db.session() as s:
        s.add(Department(code="a", name_zh="甲", name_en="A"))

    def add_then_fail() -> None:
        with db.session() as s:
            s.add(Department(code="b", name_zh="乙", name_en="B"))
            s.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with db.reader() as s:
        assert list(s.scalars(select(Department.code))) == ["a"]


def test_an_unreachable_server_is_a_clear_error() -> None:
    settings = Settings(database_url="postgresql+psycopg://u:pw@127.0.0.1:1/none")
    with pytest.raises(CityLoopError) as err:
        open_database(settings)
    assert err.value.key == "store.cannot_connect"
    assert "pw" not in err.value.render("en")
