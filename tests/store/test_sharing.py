"""The sharing store on both backends: requests and their decisions with the key issued in the
same transaction, audit rows, the access log's filters and paging, and endpoint checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cityloop.store import Database
from cityloop.store.access_log import AccessRecord
from cityloop.store.keys import verify_key
from cityloop.store.models import AuditEntry, KeyScope, SharingStatus
from tests.store.sharing_rows import ASKER, OWNER, fresh_unit, seed_sharing, sharing_db

__all__ = ["sharing_db"]  # one database per backend for the module
PURPOSE = "用于交通拥堵治理分析研究"


def audit_actions(db: Database, entity: str, entity_id: int) -> list[str]:
    with db.reader() as s:
        query = select(AuditEntry.action).where(
            AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id)
        )
        return list(s.scalars(query.order_by(AuditEntry.id)))


def test_a_conditional_request_waits_then_approval_issues_a_read_key(sharing_db: Database) -> None:
    db, unit = sharing_db, fresh_unit()
    seeded = seed_sharing(db, unit)
    request, key = db.sharing.create_request(
        seeded.conditional, ASKER, f"  {PURPOSE} ", actor="officer", grant_at_once=False
    )
    assert key is None
    assert (request.status, request.purpose, request.resource.department) == (
        SharingStatus.PENDING, PURPOSE, OWNER,
    )  # fmt: skip
    assert db.sharing.pending_or_live(seeded.conditional, ASKER)
    decided, issued = db.sharing.decide(request.id, approve=True, reason="", actor="owner")
    assert decided.status == SharingStatus.APPROVED and decided.decided_by == "owner"
    assert issued is not None and issued.plain.startswith(issued.prefix)
    with db.reader() as s:
        grant = verify_key(s, issued.plain, KeyScope.READ)
    assert grant is not None
    assert (grant.resource_id, grant.department, grant.unit) == (seeded.conditional, ASKER, unit)
    [row] = db.sharing.key_rows(resource_id=seeded.conditional)
    assert row.request_id == request.id and row.revoked_at is None
    assert audit_actions(db, "sharing_requests", request.id) == ["request", "approve"]
    assert audit_actions(db, "api_keys", issued.key_id) == ["issue"]


def test_a_request_is_decided_once(sharing_db: Database) -> None:
    db, unit = sharing_db, fresh_unit()
    seeded = seed_sharing(db, unit)
    request, _ = db.sharing.create_request(
        seeded.conditional, ASKER, PURPOSE, actor="officer", grant_at_once=False
    )
    db.sharing.decide(request.id, approve=False, reason="不符合共享条件", actor="owner")
    with pytest.raises(ValueError, match="not pending"):
        db.sharing.decide(request.id, approve=True, reason="", actor="admin")
    # The losing approval issued no key: the refusal stands alone.
    assert db.sharing.key_rows(resource_id=seeded.conditional) == []
    refused = db.sharing.request(request.id)
    assert refused is not None and refused.decision_reason == "不符合共享条件"
    assert audit_actions(db, "sharing_requests", request.id) == ["request", "refuse"]


def test_unconditional_grant_withdraw_and_reissue(sharing_db: Database) -> None:
    db, unit = sharing_db, fresh_unit()
    seeded = seed_sharing(db, unit)
    granted, key = db.sharing.create_request(
        seeded.unconditional, ASKER, PURPOSE, actor="officer", grant_at_once=True
    )
    assert granted.status == SharingStatus.APPROVED and granted.decided_by == "rules"
    assert key is not None
    new = db.sharing.reissue(granted.id, actor="officer")
    assert db.sharing.verify_read_key(key.plain) is None  # the old key stopped
    assert db.sharing.verify_read_key(new.plain) is not None
    assert db.sharing.key_id_of(key.plain) == key.key_id  # still found, to log its attempts
    pending, _ = db.sharing.create_request(
        seeded.sensor, ASKER, PURPOSE, actor="officer", grant_at_once=False
    )
    assert db.sharing.withdraw(pending.id, actor="officer").status == SharingStatus.WITHDRAWN
    with pytest.raises(ValueError, match="not pending"):
        db.sharing.withdraw(pending.id, actor="officer")
    assert not db.sharing.pending_or_live(seeded.sensor, ASKER)


def test_requests_are_listed_by_asking_and_by_owning_department(sharing_db: Database) -> None:
    db, units = sharing_db, [fresh_unit(), fresh_unit()]
    here = seed_sharing(db, units[0], prefix="A")
    there = seed_sharing(db, units[1], prefix="B")
    for rid in (here.conditional, there.conditional, here.sensor):
        db.sharing.create_request(rid, ASKER, PURPOSE, actor="officer", grant_at_once=False)
    assert len(db.sharing.requests(requester_department=ASKER, units=units)) == 3
    assert db.sharing.requests(requester_department=OWNER, units=units) == []
    mine = db.sharing.requests(owner_department=OWNER, units=units[:1])
    assert [r.resource.id for r in mine] == [here.sensor, here.conditional]  # newest first
    assert len(db.sharing.requests(status=SharingStatus.PENDING, units=units)) == 3


def test_the_access_log_filters_and_pages(sharing_db: Database) -> None:
    # The only test of the module that writes the access log: its totals are the whole log.
    db, unit = sharing_db, fresh_unit()
    here = seed_sharing(db, unit, prefix="A")
    there = seed_sharing(db, fresh_unit(), prefix="B")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    db.sharing.log(
        *[
            AccessRecord(
                "datastore_search",
                200,
                resource_id=rid,
                department=dept,
                rows=5,
                at=start + timedelta(minutes=i),
            )
            for i, (rid, dept) in enumerate(
                [
                    (here.conditional, ASKER),
                    (here.open, None),
                    (there.conditional, ASKER),
                    (here.conditional, "health"),
                    (here.open, OWNER),
                ]
                * 3
            )
        ],
        AccessRecord("datastore_search", 404, at=start + timedelta(hours=1)),
    )
    rows, total = db.sharing.access_log(limit=4)
    assert total == 16 and len(rows) == 4 and rows[0].status == 404  # newest first
    page2, _ = db.sharing.access_log(limit=4, offset=4)
    assert {r.id for r in rows}.isdisjoint(r.id for r in page2)
    assert db.sharing.access_log(resource_id=here.conditional)[1] == 6
    assert db.sharing.access_log(department=ASKER)[1] == 6
    # Involving OWNER: accesses OWNER made (to ASKER's open table) or made to OWNER's resources.
    assert db.sharing.access_log(involving=OWNER)[1] == 12
    assert db.sharing.access_log(involving=OWNER, units=[unit])[1] == 9
    assert db.sharing.access_log(since=start + timedelta(minutes=10))[1] == 6


def test_endpoint_checks_are_kept_in_time_order(sharing_db: Database) -> None:
    db, unit = sharing_db, fresh_unit()
    seeded = seed_sharing(db, unit)
    with db.reader() as s:
        audits = s.scalar(select(func.count()).select_from(AuditEntry))
    at = datetime(2026, 3, 1, tzinfo=UTC)
    db.sharing.add_check(seeded.open, ok=False, latency_ms=None, detail="timeout",
                         at=at + timedelta(minutes=5))  # fmt: skip
    db.sharing.add_check(seeded.open, ok=True, latency_ms=12.5, at=at)
    db.sharing.add_check(seeded.sensor, ok=True, latency_ms=3.0, at=at)
    checks = db.sharing.checks(resource_id=seeded.open)
    assert [(c.ok, c.detail) for c in checks] == [(True, ""), (False, "timeout")]
    assert len(db.sharing.checks(since=at + timedelta(minutes=1))) == 1  # the module's only
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audits  # not audited
