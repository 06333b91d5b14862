"""API keys of the data hub: issue one for exactly one resource, check it, revoke it.

Only a key's SHA-256 is stored; the plain key is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import ApiKey, DataResource, KeyScope

KEY_ENTITY = "api_keys"
KEY_PREFIX = "clk_"  # marks a CityLoop key in logs and secret scanners
KEY_BYTES = 32  # 256 random bits


@dataclass(frozen=True)
class KeyGrant:
    """What a valid key allows: one scope on one resource of one unit, for one department."""

    key_id: int
    resource_id: int
    unit: str
    department: str
    scope: KeyScope


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key: ``plain`` is never stored and cannot be shown again."""

    key_id: int
    plain: str
    prefix: str


@dataclass(frozen=True)
class KeyRow:
    """A stored key as people see it: its prefix, holder, scope and life."""

    key_id: int
    prefix: str
    resource_id: int
    department: str
    scope: KeyScope
    request_id: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None


def hash_key(plain: str) -> str:
    """The stored form of a key: SHA-256, hex (keys are random, so no salt is needed)."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def issue_key(
    s: Session,
    *,
    resource_id: int,
    department: str,
    scope: KeyScope,
    actor: str,
    request_id: int | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Add a key for one resource in the caller's transaction (audited, without the key)."""
    plain = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    prefix = plain[: len(KEY_PREFIX) + 8]
    key_id = s.execute(
        insert(ApiKey)
        .values(
            key_hash=hash_key(plain),
            prefix=prefix,
            resource_id=resource_id,
            department_code=department,
            scope=scope,
            request_id=request_id,
            created_by=actor,
            created_at=utc_now(),
            expires_at=expires_at,
        )
        .returning(ApiKey.id)
    ).scalar_one()
    after = {"prefix": prefix, "resource_id": resource_id, "department": department,
             "scope": scope.value, "request_id": request_id}  # fmt: skip
    record_audit(s, actor, "issue", KEY_ENTITY, str(key_id), after=after)
    return IssuedKey(key_id, plain, prefix)


def revoke_key(s: Session, key_id: int, actor: str) -> bool:
    """Revoke a key at once; False when it was already revoked (or does not exist)."""
    done = s.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_by=actor, revoked_at=utc_now())
        .returning(ApiKey.id)
    ).first()
    if done is not None:
        # An update: both states, as every other change of the audit log keeps them.
        record_audit(s, actor, "revoke", KEY_ENTITY, str(key_id),
                     before={"revoked": False}, after={"revoked": True})  # fmt: skip
    return done is not None


def verify_key(
    s: Session, plain: str, scope: KeyScope, now: datetime | None = None
) -> KeyGrant | None:
    """The grant of a live key of ``scope``; None for an unknown, revoked or expired key.

    Every call reads the database, so a revocation stops the key on its next request.
    """
    row = s.execute(
        select(
            ApiKey.id,
            ApiKey.resource_id,
            DataResource.unit_code,
            ApiKey.department_code,
            ApiKey.scope,
            ApiKey.expires_at,
        )
        .join(DataResource, DataResource.id == ApiKey.resource_id)
        .where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None or row.scope != scope:
        return None
    if row.expires_at is not None and row.expires_at <= (now or utc_now()):
        return None
    return KeyGrant(row.id, row.resource_id, row.unit_code, row.department_code, row.scope)


def keys_of(
    s: Session, *, resource_id: int | None = None, department: str | None = None
) -> list[KeyRow]:
    """Stored keys, newest first, of one resource and/or held by one department."""
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if resource_id is not None:
        query = query.where(ApiKey.resource_id == resource_id)
    if department is not None:
        query = query.where(ApiKey.department_code == department)
    return [
        KeyRow(
            k.id,
            k.prefix,
            k.resource_id,
            k.department_code,
            k.scope,
            k.request_id,
            k.created_by,
            k.created_at,
            k.expires_at,
            k.revoked_by,
            k.revoked_at,
        )
        for k in s.scalars(query)
    ]
