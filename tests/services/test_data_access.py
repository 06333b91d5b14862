"""Reading a resource's data through keys and sessions, on both backends: open data for anyone;
a key reaches its one resource only and stops the moment it is revoked; the owning department
reads its own; every attempt, refused ones included, is in the access log. Also the sharing
service's flow (ask, decide, refuse) and what it offers whom."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cityloop.accounts import AccessDenied, Principal, Role
from cityloop.datahub.sharing_rules import SharingRuleError
from cityloop.errors import InputError
from cityloop.services import sharing
from cityloop.services.data_access import (
    AccessRefusedError,
    Caller,
    DataPage,
    read_resource_data,
)
from cityloop.store import Database
from tests.store.sharing_rows import ASKER, OWNER, Seeded, fresh_unit, seed_sharing, sharing_db

__all__ = ["sharing_db"]  # one database per backend for the module
PURPOSE = "用于交通拥堵治理分析研究"
ADMIN = Principal("admin", Role.ADMINISTRATOR)


@dataclass(frozen=True)
class World:
    """A test's own unit in the module's database, its two officers and the log's last id."""

    db: Database
    seeded: Seeded
    officer: Principal  # ASKER's
    owner: Principal  # OWNER's
    log_mark: int


@pytest.fixture
def world(sharing_db: Database) -> World:
    unit = fresh_unit()
    seeded = seed_sharing(sharing_db, unit)
    rows, _ = sharing_db.sharing.access_log(limit=1)
    return World(
        sharing_db, seeded, Principal("officer", Role.DATA_OFFICER, unit, ASKER),
        Principal("owner", Role.DATA_OFFICER, unit, OWNER), rows[0].id if rows else 0,
    )  # fmt: skip


def log_statuses(w: World) -> list[tuple[int | None, int | None, int]]:
    """(resource, key, status) of the access-log entries the test made, oldest first."""
    rows, _ = w.db.sharing.access_log(limit=1000)
    return [(r.resource_id, r.key_id, r.status) for r in reversed(rows) if r.id > w.log_mark]


def refused(read: Callable[[], DataPage]) -> int:
    with pytest.raises(AccessRefusedError) as caught:
        read()
    return caught.value.status


def test_keys_reach_one_resource_and_stop_at_once_when_revoked(world: World) -> None:
    db, seeded, officer, owner_officer = world.db, world.seeded, world.officer, world.owner
    outcome = sharing.request_sharing(db, officer, seeded.conditional, PURPOSE)
    assert outcome.key is None  # conditional: waits for the owner
    approved = sharing.decide(db, owner_officer, outcome.request.id, approve=True, reason="")
    assert approved.key is not None
    key = Caller(key=approved.key.plain, client="test")

    def read(resource_id: Any, **params: Any) -> DataPage:
        return read_resource_data(db, key, resource_id, params)

    assert read(seeded.conditional).total == 25
    # A key for X cannot read Y: another conditional resource, nor the sensor series.
    assert refused(lambda: read(seeded.sensor)) == 403
    assert refused(lambda: read(seeded.unconditional)) == 403
    # Nor can nobody, nor a user of another department.
    assert refused(lambda: read_resource_data(db, Caller(), seeded.conditional, {})) == 403
    other = Caller(principal=officer)
    assert refused(lambda: read_resource_data(db, other, seeded.conditional, {})) == 403
    # Open data is open to anyone, whatever key comes along.
    assert read(seeded.open).total == 25
    sharing.revoke(db, owner_officer, approved.key.key_id)
    assert refused(lambda: read(seeded.conditional)) == 403  # the very next request
    log = log_statuses(world)
    kid = approved.key.key_id
    assert log == [
        (seeded.conditional, kid, 200), (seeded.sensor, kid, 403),
        (seeded.unconditional, kid, 403), (seeded.conditional, None, 403),
        (seeded.conditional, None, 403), (seeded.open, None, 200),
        (seeded.conditional, kid, 403),
    ]  # fmt: skip


def test_the_owning_department_and_administrators_read_without_a_key(world: World) -> None:
    db, seeded, officer, owner_officer = world.db, world.seeded, world.officer, world.owner
    owner = Caller(principal=owner_officer)
    assert read_resource_data(db, owner, seeded.conditional, {}).total == 25
    assert read_resource_data(db, Caller(principal=ADMIN), seeded.sensor, {}).total == 24
    # A draft is nobody else's business: unknown (404) to a key holder or another department.
    assert (
        refused(lambda: read_resource_data(db, Caller(principal=officer), seeded.draft, {})) == 404
    )
    assert read_resource_data(db, owner, seeded.draft, {}).total == 25
    assert refused(lambda: read_resource_data(db, Caller(), "no-such-id", {})) == 404
    assert [s for _, _, s in log_statuses(world)] == [200, 200, 404, 200, 404]


def test_table_queries_filter_search_sort_and_page(world: World) -> None:
    db, seeded, owner_officer = world.db, world.seeded, world.owner
    owner = Caller(principal=owner_officer)

    def read(**params: Any) -> DataPage:
        return read_resource_data(db, owner, seeded.conditional, params)

    page = read(filters={"count": [30, "50"]}, sort="count desc")
    assert page.total == 2 and [r["district"] for r in page.records] == ["区5", "区3"]
    assert read(filters='{"district": "区7"}').records == [
        {"_id": 7, "district": "区7", "count": 70}
    ]
    assert read(q="区2").total == 7  # 区2, 区20…区25
    assert read(q={"district": "区1"}).total == 11  # 区1 and 区10…区19
    page = read(sort="count desc", limit=3, offset=2, fields="district")
    assert page.records == [{"district": "区23"}, {"district": "区22"}, {"district": "区21"}]
    assert page.fields == [("district", "text")] and page.total == 25
    with pytest.raises(InputError) as bad:
        read(filters={"colour": "red"}, sort="count sideways", limit=-1)
    assert {p.location.column for p in bad.value.problems} == {"filters", "sort", "limit"}
    assert log_statuses(world)[-1] == (seeded.conditional, None, 409)


def test_sensor_series_read_as_rows_filtered_in_sql(world: World) -> None:
    db, seeded = world.db, world.seeded
    admin = Caller(principal=ADMIN)
    page = read_resource_data(
        db, admin, seeded.sensor,
        {"filters": {"attribute": "pm25", "observed_at": "2026-03-01T02:00:00Z"},
         "sort": "value desc"},
    )  # fmt: skip
    assert page.total == 2
    assert [(r["entity_id"].rsplit("-", 1)[1], r["value"]) for r in page.records] == [
        ("2", 12.0), ("1", 2.0),
    ]  # fmt: skip
    assert page.records[0]["observed_at"] == "2026-03-01T02:00:00Z"
    assert read_resource_data(db, admin, seeded.sensor, {"q": "NO2", "limit": 5}).total == 12
    with pytest.raises(InputError):
        read_resource_data(db, admin, seeded.sensor, {"filters": {"observed_at": "yesterday"}})


def test_requests_offered_refused_and_decided_by_the_right_people(world: World) -> None:
    db, seeded, officer, owner_officer = world.db, world.seeded, world.officer, world.owner
    offered = {r.id for r in sharing.requestable(db, officer)}
    # Not the not-shareable one, not the draft, not the officer's own open table.
    assert offered == {seeded.conditional, seeded.unconditional, seeded.sensor}
    for rid in (seeded.not_shareable, seeded.draft, seeded.open, 10_000):
        with pytest.raises(SharingRuleError):
            sharing.request_sharing(db, officer, rid, PURPOSE)
    granted = sharing.request_sharing(db, officer, seeded.unconditional, PURPOSE)
    assert granted.key is not None and granted.request.decided_by == "rules"
    with pytest.raises(SharingRuleError, match=ASKER):
        sharing.request_sharing(db, officer, seeded.unconditional, PURPOSE)  # key is live
    pending = sharing.request_sharing(db, officer, seeded.sensor, PURPOSE).request
    with pytest.raises(AccessDenied):  # the asking department cannot approve itself
        sharing.decide(db, officer, pending.id, approve=True, reason="")
    with pytest.raises(SharingRuleError):
        sharing.decide(db, owner_officer, pending.id, approve=False, reason="")
    done = sharing.decide(db, owner_officer, pending.id, approve=False, reason="超出共享条件范围")
    assert done.key is None and done.request.status.value == "refused"
    board = sharing.board(db, owner_officer)
    assert [r.id for r in board.received] == [pending.id, granted.request.id]
    assert [k.department for k in board.issued_keys] == [ASKER]
    # An administrator asks on a department's behalf, and must name it.
    with pytest.raises(SharingRuleError):
        sharing.request_sharing(db, ADMIN, seeded.conditional, PURPOSE)
    by_admin = sharing.request_sharing(db, ADMIN, seeded.conditional, PURPOSE, department=ASKER)
    assert by_admin.request.requester_department == ASKER
