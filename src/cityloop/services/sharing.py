"""Data sharing between departments: ask for a resource, decide, withdraw, revoke or reissue a
key, and read the requests, keys and access log a user may see.

The rules are ``cityloop.datahub.sharing_rules``; this module adds who the user is (their
department and regions) and the store. The web pages, the JSON API and the CLI all call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cityloop.accounts import AccessDenied, Action, Principal, Role
from cityloop.accounts.scope import can_see, visible_units
from cityloop.datahub.catalogue import SharingType
from cityloop.datahub.sharing_rules import (
    RequestPath,
    SharingRuleError,
    check_decision,
    may_decide,
    may_withdraw,
    request_path,
    shareable_to,
)
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.store import Database
from cityloop.store.access_log import AccessRow
from cityloop.store.keys import IssuedKey, KeyRow
from cityloop.store.models import SharingStatus
from cityloop.store.sharing import RequestRow, ResourceFacts


class SharingNotFoundError(CityLoopError):
    """A request, key or resource the user asked about does not exist (or is not theirs to see)."""


@dataclass(frozen=True)
class Outcome:
    """A request or decision and, when it granted access, the new key (shown once)."""

    request: RequestRow
    key: IssuedKey | None


@dataclass(frozen=True)
class SharingBoard:
    """What the sharing page shows a user: requests made by their department, requests for
    their department's resources (pending first), the keys it holds and the keys it issued."""

    made: list[RequestRow]
    received: list[RequestRow]
    held_keys: list[KeyRow]
    issued_keys: list[KeyRow]
    resources: dict[int, ResourceFacts]


def _units(db: Database) -> Units:
    units = db.units()
    if units is None:
        raise SharingNotFoundError("sharing.no_regions")
    return units


def is_admin(principal: Principal) -> bool:
    return principal.role == Role.ADMINISTRATOR


def acting_department(principal: Principal, department: str | None = None) -> str | None:
    """The department a user acts for: their own; an administrator may name any."""
    if is_admin(principal) and department:
        return department
    return principal.department


def requestable(
    db: Database, principal: Principal, department: str | None = None
) -> list[ResourceFacts]:
    """The published, shareable resources of other departments in the user's regions: what
    the request picker offers. Not-shareable resources are never among them. An administrator
    who has not named a department yet sees every shareable resource (he names it to ask)."""
    units = _units(db)
    own = acting_department(principal, department)
    if own is None and is_admin(principal):
        return [r for r in db.sharing.resources() if r.sharing_type != SharingType.NONE]
    return [
        r
        for r in db.sharing.resources()
        if can_see(units, principal.scope, r.unit)
        and shareable_to(r.department, r.sharing_type, r.status, requester_department=own)
    ]


def request_sharing(
    db: Database,
    principal: Principal,
    resource_id: int,
    purpose: str,
    *,
    department: str | None = None,
) -> Outcome:
    """Ask for a resource for the user's department (an administrator names the department).

    An unconditional resource is granted at once (its key comes back); a conditional one waits
    for its owner. Refused: a resource that is unknown, unpublished, not shareable or outside
    the user's regions (all with the same message), the user's own department's resource, a
    short purpose, and a second request while one is pending or a key is live.
    """
    own = acting_department(principal, department)
    resource = db.sharing.resource(resource_id)
    if resource is None or not can_see(_units(db), principal.scope, resource.unit):
        raise SharingRuleError("sharing.rule.not_available")
    path = request_path(
        resource.department, resource.sharing_type, resource.status,
        requester_department=own, purpose=purpose,
    )  # fmt: skip
    assert own is not None  # request_path refuses a user without a department
    if db.sharing.pending_or_live(resource_id, own):
        raise SharingRuleError("sharing.rule.already", department=own)
    request, key = db.sharing.create_request(
        resource_id, own, purpose, actor=principal.username,
        grant_at_once=path == RequestPath.GRANT_AT_ONCE,
    )  # fmt: skip
    return Outcome(request, key)


def _request(db: Database, principal: Principal, request_id: int) -> RequestRow:
    row = db.sharing.request(request_id)
    if row is None or not can_see(_units(db), principal.scope, row.resource.unit):
        raise SharingNotFoundError("sharing.unknown_request", request=request_id)
    return row


def decide(
    db: Database, principal: Principal, request_id: int, *, approve: bool, reason: str
) -> Outcome:
    """Approve (issuing the requester's read key, returned once) or refuse with a reason.

    Only the owning department's data officer or an administrator may decide (403 otherwise).
    """
    row = _request(db, principal, request_id)
    if not may_decide(
        row.resource.department, user_department=principal.department,
        administrator=is_admin(principal),
    ):  # fmt: skip
        raise AccessDenied(
            "sharing.denied.not_owner", action=Action.DECIDE_SHARING, role=principal.role,
            department=row.resource.department,
        )  # fmt: skip
    check_decision(row.status, approve=approve, reason=reason)
    try:
        request, key = db.sharing.decide(
            request_id, approve=approve, reason=reason, actor=principal.username
        )
    except ValueError:  # decided by someone else in the meantime
        raise SharingRuleError("sharing.rule.not_pending", status="decided") from None
    return Outcome(request, key)


def withdraw(db: Database, principal: Principal, request_id: int) -> RequestRow:
    """Withdraw a pending request of the user's department."""
    row = _request(db, principal, request_id)
    if not may_withdraw(
        row.requester_department, row.status, user_department=principal.department,
        administrator=is_admin(principal),
    ):  # fmt: skip
        raise SharingRuleError("sharing.rule.cannot_withdraw")
    try:
        return db.sharing.withdraw(request_id, actor=principal.username)
    except ValueError:
        raise SharingRuleError("sharing.rule.cannot_withdraw") from None


def reissue(db: Database, principal: Principal, request_id: int) -> IssuedKey:
    """A new key for an approved request of the user's department (the old one stops at once):
    how a requester gets its key without the approver passing it on, or replaces a lost one."""
    row = _request(db, principal, request_id)
    own = is_admin(principal) or principal.department == row.requester_department
    if not own or row.status != SharingStatus.APPROVED:
        raise SharingRuleError("sharing.rule.cannot_reissue")
    return db.sharing.reissue(request_id, actor=principal.username)


def revoke(db: Database, principal: Principal, key_id: int) -> KeyRow:
    """Revoke a key: the resource's owner department, the holding department or an
    administrator may. The very next request with the key is refused."""
    key = db.sharing.key(key_id)
    resource = None if key is None else db.sharing.resource(key.resource_id)
    if key is None or resource is None or not can_see(_units(db), principal.scope, resource.unit):
        raise SharingNotFoundError("sharing.unknown_key", key_id=key_id)
    involved = principal.department in (resource.department, key.department)
    if not (is_admin(principal) or involved):
        raise AccessDenied(
            "sharing.denied.not_owner", action=Action.DECIDE_SHARING, role=principal.role,
            department=resource.department,
        )  # fmt: skip
    if not db.sharing.revoke(key_id, actor=principal.username):
        raise SharingRuleError("sharing.rule.already_revoked", prefix=key.prefix)
    revoked = db.sharing.key(key_id)
    assert revoked is not None
    return revoked


def board(db: Database, principal: Principal) -> SharingBoard:
    """The requests and keys of the user's department in the user's regions (an administrator
    sees every department's)."""
    units = _units(db)
    resources = {r.id: r for r in db.sharing.resources(published=False)}

    def seen(resource_id: int) -> bool:
        return resource_id in resources and can_see(
            units, principal.scope, resources[resource_id].unit
        )

    dept = None if is_admin(principal) else principal.department
    if dept is None and not is_admin(principal):
        return SharingBoard([], [], [], [], resources)
    made = db.sharing.requests(requester_department=dept)
    received = db.sharing.requests(owner_department=dept)
    received.sort(key=lambda r: (r.status != SharingStatus.PENDING, -r.id))
    held = db.sharing.key_rows(department=dept)
    issued = [
        k
        for k in db.sharing.key_rows()
        if dept is None or resources[k.resource_id].department == dept
    ]
    return SharingBoard(
        [r for r in made if seen(r.resource.id)],
        [r for r in received if seen(r.resource.id)],
        [k for k in held if seen(k.resource_id)],
        [k for k in issued if seen(k.resource_id) and (dept is None or k.department != dept)],
        resources,
    )


def access_log(
    db: Database,
    principal: Principal,
    *,
    resource_id: int | None = None,
    department: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AccessRow], int]:
    """A page of the access log and the total: an administrator sees every entry; a data
    officer the accesses to their department's resources and those their department made."""
    if is_admin(principal):
        return db.sharing.access_log(
            resource_id=resource_id, department=department, since=since, limit=limit,
            offset=offset,
        )  # fmt: skip
    if principal.department is None:
        return [], 0
    # Accesses the user's department made, or made to its resources, in the user's regions.
    return db.sharing.access_log(
        resource_id=resource_id, department=department, involving=principal.department,
        units=visible_units(_units(db), principal.scope), since=since, limit=limit,
        offset=offset,
    )  # fmt: skip
