"""Ingest NGSI-LD payloads of sensor entities: who may send them (an ingest key, or a signed-in
administrator or the owning department's data officer), check them, store the good entities.

The one path every adapter uses: the NGSI-LD API, the web upload, the CLI and the demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cityloop.accounts import Role
from cityloop.datahub.ngsild import PayloadForm, Refusal, parse_entities, read_entities
from cityloop.errors import CityLoopError, InputError
from cityloop.store import Database
from cityloop.store.audit import utc_now
from cityloop.store.keys import KeyGrant, verify_key
from cityloop.store.models import KeyScope
from cityloop.store.sensors import SensorBatch, SensorResource

OPERATION = "ngsi_upsert"
PARTIAL = 207  # HTTP Multi-Status: some entities stored, some refused


class IngestDeniedError(CityLoopError):
    """The caller may not send (or read) this data; ``status`` is 401 or 403."""

    def __init__(self, key: str, status: int, **params: object) -> None:
        super().__init__(key, **params)
        self.status = status


@dataclass(frozen=True)
class IngestOutcome:
    """What a payload did: entity ids created and updated, observation rows written, and the
    refused entities with their reasons."""

    created: list[str]
    updated: list[str]
    observations: int
    refusals: list[Refusal]

    @property
    def accepted(self) -> list[str]:
        """Ids of every stored entity."""
        return [*self.created, *self.updated]


def key_grant(
    db: Database, key: str | None, *, tenant: str | None = None, scopes: tuple[KeyScope, ...]
) -> KeyGrant:
    """The grant of a live key of one of ``scopes``; IngestDeniedError otherwise.

    401: no key, or an unknown, revoked or expired one. 403: a live key of another scope, or
    an ``NGSILD-Tenant`` that is not the unit of the key's resource.
    """
    if not key:
        raise IngestDeniedError("sensors.denied.no_key", 401)
    with db.reader() as s:
        grant = next((g for sc in scopes if (g := verify_key(s, key, sc)) is not None), None)
        if grant is None:
            others = [sc for sc in KeyScope if sc not in scopes]
            if any(verify_key(s, key, sc) is not None for sc in others):
                allowed = ", ".join(sc.value for sc in scopes)
                raise IngestDeniedError("sensors.denied.scope", 403, allowed=allowed)
            raise IngestDeniedError("sensors.denied.bad_key", 401)
    if tenant is not None and tenant != grant.unit:
        raise IngestDeniedError("sensors.denied.tenant", 403, tenant=tenant)
    return grant


def sensor_resource(db: Database, resource_id: int, unit: str | None = None) -> SensorResource:
    """A resource that holds observations (of ``unit``, when given); InputError otherwise."""
    resource = db.sensors.resource(resource_id)
    if resource is None:
        raise InputError("sensors.resource.unknown", resource=resource_id)
    if unit is not None and resource.unit != unit:
        raise InputError(
            "sensors.resource.other_unit", resource=resource_id, unit=unit, owner=resource.unit
        )
    return resource


def may_upload(role: Role, department: str | None, resource: SensorResource) -> bool:
    """A signed-in user may upload a resource's payloads: administrators, and the data officer
    of the department that owns the resource."""
    if role == Role.ADMINISTRATOR:
        return True
    return role == Role.DATA_OFFICER and department == resource.department


def ingest(
    db: Database,
    payload: bytes,
    content_type: str | None,
    *,
    unit: str,
    resource_id: int,
    actor: str,
    form: PayloadForm = PayloadForm.ANY,
    key_id: int | None = None,
    department: str | None = None,
    client: str = "",
    now: datetime | None = None,
) -> IngestOutcome:
    """Check a payload for a resource of ``unit`` and store its good entities in one transaction.

    Parameters
    ----------
    db : Database
        The store.
    payload : bytes
        The request body: one entity, an array or a notification (``form`` may insist on one).
    content_type : str or None
        ``application/json`` or ``application/ld+json`` (None: JSON).
    unit : str
        The tenant: the unit whose resource ``resource_id`` is.
    resource_id : int
        The catalogue resource the observations belong to; its ``entity_type`` is the only type
        accepted.
    actor : str
        Who sends: a username, or ``key#<id>`` for an API key.
    form : PayloadForm
        What the endpoint expects.
    key_id, department, client : optional
        For the access log.
    now : datetime, optional
        When the payload was received (default: now): the time of observations without one.

    Returns
    -------
    IngestOutcome
        Entities created and updated, observations written, refusals.

    Raises
    ------
    InputError
        When the payload as a whole cannot be read, or the resource is unknown or another
        unit's; nothing is stored then.
    """
    resource = sensor_resource(db, resource_id, unit)
    raw = read_entities(payload, content_type, form)
    parsed = parse_entities(raw, received_at=now or utc_now(), allowed_type=resource.entity_type)
    batch = SensorBatch(
        unit=unit,
        resource_id=resource.id,
        entities=parsed.entities,
        observations=parsed.observations,
        operation=OPERATION,
        status=PARTIAL if parsed.refusals else 201,
        actor=actor,
        key_id=key_id,
        department=department,
        client=client,
    )
    written = db.sensors.write(batch)
    return IngestOutcome(written.created, written.updated, written.observations, parsed.refusals)


def ingest_with_key(
    db: Database,
    payload: bytes,
    content_type: str | None,
    *,
    key: str | None,
    tenant: str | None = None,
    form: PayloadForm = PayloadForm.ANY,
    client: str = "",
) -> IngestOutcome:
    """``ingest`` for the holder of an INGEST key: the key decides the unit and the resource."""
    grant = key_grant(db, key, tenant=tenant, scopes=(KeyScope.INGEST,))
    return ingest(
        db, payload, content_type, unit=grant.unit, resource_id=grant.resource_id,
        actor=f"key#{grant.key_id}", form=form, key_id=grant.key_id,
        department=grant.department, client=client,
    )  # fmt: skip
