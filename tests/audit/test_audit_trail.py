"""Every change to values, frameworks, evaluations and permissions, made through its real route
or service, is in the audit log with who, when, what and its before and after; and no committed
transaction changes governed data without an audit row (``transactions.watched``).

Both backends. Plans, tracked projects, progress, baselines, outcomes, feedback and catalogue
overrides are checked by their own tests (see docs/reliability.md, audit); the transaction check
here covers whatever the site's build and these changes wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cityloop.accounts import Role
from cityloop.frameworks.loader import parse_yaml
from cityloop.services import users
from cityloop.store import Database
from cityloop.store.audit import AuditRow
from cityloop.store.models import ValueHistory
from tests.audit.transactions import TransactionLog, watched
from tests.store.databases import BACKENDS, new_database_url
from tests.web.sharing_site import sharing_site
from tests.web.site import CHEAP, FRAMEWORK, Site, make_site
from tests.web.test_route_matrix import api_routes
from tests.web.test_sharing_pages import PURPOSE

CELL = "L1P2-A1"  # a transport indicator: the officer's department


@dataclass
class Trail:
    site: Site
    log: TransactionLog


@pytest.fixture(scope="module", params=BACKENDS)
def trail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trail]:
    """A site of this module's own, built and changed with every transaction watched."""
    folder = tmp_path_factory.mktemp(f"audit-{request.param}")
    with watched() as log:
        for url in new_database_url(str(request.param), folder):
            site = make_site(url, folder)
            yield Trail(site, log)
            site.db.dispose()


def newest(db: Database) -> int:
    entries = db.audit_log()
    return entries[-1].id if entries else 0


def only(entries: list[AuditRow], **expected: str) -> AuditRow:
    """The one entry with the expected fields; fails naming what was there instead."""
    found = [e for e in entries if all(getattr(e, k) == v for k, v in expected.items())]
    assert len(found) == 1, (
        expected,
        [(e.actor, e.action, e.entity, e.entity_id) for e in entries],
    )
    return found[0]


def recent(entry: AuditRow, since: datetime) -> bool:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    return since - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)


def all_audited(trail: Trail) -> None:
    assert trail.log.unaudited() == []
    assert trail.log.audit_changes() == []


def test_values_by_form_api_and_file_are_audited_with_before_and_after(trail: Trail) -> None:
    site, since, mark = trail.site, datetime.now(UTC), newest(trail.site.db)
    officer = site.client("officer")
    csrf = officer.headers["X-CSRF-Token"]
    form = {"csrf_token": csrf, "round": "1", f"value|{site.city}|{CELL}": "4.5"}
    assert officer.post("/collect/values", data=form, follow_redirects=False).status_code == 303
    cells = [{"unit": site.city, "indicator": CELL, "value": 5.5}]
    assert officer.post("/api/collection/values", json={"round": 1, "cells": cells}).is_success
    csv = f"unit,year,indicator,value\n{site.city},2026,{CELL},6.5\n".encode()
    files = {"file": ("审计.csv", csv, "text/csv")}
    assert officer.post("/api/collection/upload", data={"round": "1"}, files=files).is_success

    entries = site.db.audit_log(after_id=mark, entity="indicator_values")
    kinds = [(e.actor, e.action, e.entity_id, e.after and e.after["origin_kind"]) for e in entries]
    assert kinds == [("officer", "upsert", FRAMEWORK, k) for k in ("form", "api", "file")]
    assert entries[2].after is not None and entries[2].after["origin_ref"] == "审计.csv"
    assert [e.after and (e.after["inserted"], e.after["updated"]) for e in entries] == [
        (1, 0), (0, 1), (0, 1)]  # fmt: skip
    assert all(recent(e, since) for e in entries)
    with site.db.reader() as s:  # each cell's before and after, stamped like its audit row
        history = s.execute(
            select(ValueHistory.previous_value, ValueHistory.value, ValueHistory.entered_by,
                   ValueHistory.entered_at)
            .where(ValueHistory.region_code == site.city, ValueHistory.indicator == CELL,
                   ValueHistory.year == 2026)
            .order_by(ValueHistory.id)
        ).all()  # fmt: skip
    assert [(h[0], h[1], h[2]) for h in history] == [
        (None, 4.5, "officer"), (4.5, 5.5, "officer"), (5.5, 6.5, "officer")]  # fmt: skip
    assert [h[3] for h in history] == [e.at for e in entries]
    all_audited(trail)


def test_a_new_framework_version_and_an_evaluation_are_audited(trail: Trail) -> None:
    site, since, mark = trail.site, datetime.now(UTC), newest(trail.site.db)
    shipped = (Path(__file__).parents[2] / "src/cityloop/frameworks/gbt33356-2016.yaml").read_text(
        encoding="utf-8"
    )
    edited = parse_yaml(shipped.replace('version: "2016-r1"', 'version: "2016-audit"'), source="x")
    version_id = site.db.register_framework(edited, "admin")
    entry = only(site.db.audit_log(after_id=mark), entity="framework_versions")
    assert (entry.actor, entry.action, entry.entity_id) == ("admin", "register", str(version_id))
    assert (
        entry.after is not None and entry.after["version"] == "2016-audit" and recent(entry, since)
    )

    config = {"weights": {"method": "equal", "upper": "equal"}}  # weights of the analyst's
    ran = site.client("analyst").post("/api/runs", json={"framework": FRAMEWORK, "config": config})
    assert ran.status_code == 201
    entry = only(site.db.audit_log(after_id=mark), entity="evaluation_runs")
    assert (entry.actor, entry.action, entry.entity_id) == (
        "analyst",
        "record",
        str(ran.json()["id"]),
    )
    assert entry.after is not None and entry.after["config"]["weights"]["method"] == "equal"
    all_audited(trail)


def test_accounts_roles_scopes_and_passwords_are_audited_without_hashes(trail: Trail) -> None:
    site, since, mark = trail.site, datetime.now(UTC), newest(trail.site.db)
    users.add_user(
        site.db, "audited", "Audit-Pass-2026", Role.VIEWER, site.city, None, actor="admin",
        params=CHEAP,
    )  # fmt: skip
    users.set_role(site.db, "audited", Role.DATA_OFFICER, scope=site.city, department="transport",
                   actor="admin")  # fmt: skip
    site.db.set_password_hash("audited", "not-a-real-hash", actor="admin")
    entries = site.db.audit_log(after_id=mark, entity="users")
    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        ("admin", "add", "audited"), ("admin", "set_role", "audited"),
        ("admin", "set_password", "audited")]  # fmt: skip
    added, changed, password = entries
    assert added.before is None and added.after is not None and added.after["role"] == "viewer"
    assert changed.before is not None and changed.after is not None
    assert (changed.before["role"], changed.after["role"]) == ("viewer", "data_officer")
    assert (changed.before["department"], changed.after["department"]) == (None, "transport")
    assert password.after == {"password": "changed"}
    assert all(recent(e, since) for e in entries)
    text = repr([(e.before, e.after) for e in entries])
    assert "not-a-real-hash" not in text and "argon2" not in text
    all_audited(trail)


def test_no_route_changes_or_removes_an_audit_row(trail: Trail) -> None:
    """Every unsafe route, tried as the administrator with the CSRF token and an empty body:
    the audit log before is, row for row, the start of the audit log after."""
    site = trail.site
    before = site.db.audit_log()
    admin = site.client("admin")
    csrf = admin.headers["X-CSRF-Token"]
    unsafe = sorted(
        (path, method)
        for method, path in api_routes(site.app.routes)
        if method in {"POST", "PUT", "PATCH", "DELETE"} and path != "/logout"
    )
    assert len(unsafe) > 30
    for path, method in [*unsafe, ("/logout", "POST")]:
        filled = path
        for name in ("code", "unit", "city"):
            filled = filled.replace(f"{{{name}}}", site.city)
        filled = filled.replace("{", "").replace("}", "")
        filled = "/".join("1" if part.endswith("_id") or part == "id" else part
                          for part in filled.split("/"))  # fmt: skip
        if filled.startswith("/api/"):
            reply = admin.request(method, filled, json={})
        else:
            reply = admin.request(method, filled, data={"csrf_token": csrf})
        assert reply.status_code < 500, (method, path, reply.status_code)
    after = site.db.audit_log()
    assert after[: len(before)] == before
    all_audited(trail)


def test_a_sensor_series_catalogue_entry_is_audited(trail: Trail) -> None:
    """Regression: the NGSI-LD series' catalogue entry was created without an audit row."""
    site, mark = trail.site, newest(trail.site.db)
    made = site.db.sensors.register_resource(
        unit=site.city, code="audit-air", department="transport", entity_type="AirQualityObserved",
        name_zh="空气质量", name_en="Air quality", actor="admin",
    )  # fmt: skip
    entry = only(site.db.audit_log(after_id=mark), entity="data_resources")
    assert (entry.actor, entry.action, entry.entity_id) == ("admin", "create", str(made.id))
    assert entry.after is not None and entry.after["code"] == "audit-air"
    all_audited(trail)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sharing_approvals_and_keys_are_audited(backend: str, tmp_path: Path) -> None:
    """A request, its approval (the key issued with it) and the key's revocation, each by the
    department that did it, through the JSON API."""
    for site in sharing_site(backend, tmp_path):  # seeded with Core, so watched after that
        mark, since = newest(site.db), datetime.now(UTC)
        with watched() as log:
            with site.client("officer") as officer, site.client("owner") as owner:
                body = {"resource_id": site.here.conditional, "purpose": PURPOSE}
                asked = officer.post("/api/sharing/requests", json=body).json()["request"]
                decided = owner.post(
                    f"/api/sharing/requests/{asked['id']}/decision", json={"approve": True}
                )
                key_id = decided.json()["key"]["key_id"]
                assert owner.post(f"/api/sharing/keys/{key_id}/revoke").is_success
            # Signing in is audited too (a login, and the rehash of the fixture's cheap hash).
            signed_in = site.db.audit_log(after_id=mark, entity="users")
            assert {(e.actor, e.action) for e in signed_in} >= {("officer", "login"),
                                                                ("owner", "login")}  # fmt: skip
            assert {e.action for e in signed_in} <= {"login", "set_password"}
            entries = [e for e in site.db.audit_log(after_id=mark) if e.entity != "users"]
            done = [(e.actor, e.action, e.entity, e.entity_id) for e in entries]
            assert done == [
                ("officer", "request", "sharing_requests", str(asked["id"])),
                ("owner", "approve", "sharing_requests", str(asked["id"])),
                ("owner", "issue", "api_keys", str(key_id)),
                ("owner", "revoke", "api_keys", str(key_id)),
            ]
            approve, issue, revoke = entries[1:]
            assert approve.before == {"status": "pending"} and approve.after is not None
            assert approve.after["status"] == "approved"
            assert issue.after is not None and "key" not in issue.after  # never the plain key
            assert (revoke.before, revoke.after) == ({"revoked": False}, {"revoked": True})
            assert all(recent(e, since) for e in entries)
        assert log.unaudited() == [] and log.audit_changes() == []
