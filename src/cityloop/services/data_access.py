"""Reading a resource's data through the hub's API: who may (open data: anyone; otherwise a
live read key for THAT resource, or a signed-in user of the owning department or an
administrator), the rows they asked for, and one access-log entry for every attempt.

The CKAN ``datastore_search`` action is an adapter over ``read_resource_data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cityloop.accounts import Principal, Role
from cityloop.accounts.scope import can_see
from cityloop.datahub.catalogue import ResourceStatus, public_data
from cityloop.datahub.datastore_query import DataQuery, apply_query, parse_data_query, records_of
from cityloop.errors import CityLoopError, InputError
from cityloop.store import Database
from cityloop.store.access_log import AccessRecord
from cityloop.store.datastore import field_types
from cityloop.store.sharing import ResourceFacts

READ_OPERATION = "datastore_search"


class AccessRefusedError(CityLoopError):
    """The caller may not read the resource (``status`` 403) or it does not exist (404)."""

    def __init__(self, key: str, status: int, **params: Any) -> None:
        super().__init__(key, **params)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who reads: a key from the request's headers, a signed-in user, both or neither; and
    the client (address or user agent) to log."""

    key: str | None = None
    principal: Principal | None = None
    client: str = ""


@dataclass(frozen=True)
class DataPage:
    """One page of a resource's rows, the fields (name, CKAN type) and the matching total."""

    resource: ResourceFacts
    fields: list[tuple[str, str]]
    records: list[dict[str, Any]]
    total: int
    query: DataQuery


@dataclass(frozen=True)
class _Grant:
    key_id: int | None
    department: str | None
    actor: str


def _resource_id(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _owner_or_admin(db: Database, principal: Principal, resource: ResourceFacts) -> bool:
    if principal.role == Role.ADMINISTRATOR:
        return True
    units = db.units()
    return (
        principal.department == resource.department
        and units is not None
        and can_see(units, principal.scope, resource.unit)
    )


def _authorise(db: Database, caller: Caller, resource: ResourceFacts) -> _Grant:
    """The grant the read runs under, or ``AccessRefusedError`` (logged by the caller)."""
    actor = _actor(caller)
    if public_data(resource.open_type, resource.status):
        # Open data is open whatever key comes along: a client configured with one key can
        # still read every open resource.
        grant = None if caller.key is None else db.sharing.verify_read_key(caller.key)
        if grant is not None and grant.resource_id == resource.id:
            return _Grant(grant.key_id, grant.department, actor)
        return _Grant(None, None, actor)
    if caller.key is not None:
        grant = db.sharing.verify_read_key(caller.key)
        if grant is None:
            key_id = db.sharing.key_id_of(caller.key)
            raise AccessRefusedError("ckan.denied.key_invalid", 403, key_id=key_id)
        if grant.resource_id != resource.id:
            raise AccessRefusedError(
                "ckan.denied.key_other_resource", 403, key_id=grant.key_id,
                department=grant.department, resource=resource.id,
            )  # fmt: skip
        return _Grant(grant.key_id, grant.department, actor)
    if caller.principal is not None and _owner_or_admin(db, caller.principal, resource):
        return _Grant(None, caller.principal.department, actor)
    raise AccessRefusedError("ckan.denied.not_open", 403, resource=resource.id)


def read_resource_data(
    db: Database,
    caller: Caller,
    resource_id: Any,
    params: Mapping[str, Any],
    *,
    operation: str = READ_OPERATION,
) -> DataPage:
    """One page of a resource's data for ``caller``, logged whatever the outcome.

    Parameters
    ----------
    db : Database
        The store.
    caller : Caller
        The key and/or signed-in user asking, and their client.
    resource_id : Any
        The resource's id as sent (a non-number is an unknown resource).
    params : mapping
        ``filters``, ``q``, ``sort``, ``fields``, ``limit``, ``offset`` as in CKAN's
        ``datastore_search`` (see ``cityloop.datahub.datastore_query.parse_data_query``).
    operation : str
        The name logged for the access.

    Returns
    -------
    DataPage
        The rows (a table resource's uploaded rows, or a sensor resource's observations as
        rows entity_id, entity_type, attribute, observed_at (ISO 8601 UTC), value, text).

    Raises
    ------
    AccessRefusedError
        404 for an unknown resource (or a draft the caller does not own); 403 for a refused
        read: a key that is unknown, revoked, expired or for another resource, or no key for a
        resource that is not open data.
    InputError
        A query naming unknown fields or with bad paging (logged as 409).
    """
    rid = _resource_id(resource_id)
    resource = None if rid is None else db.sharing.resource(rid)
    log = AccessRecord(operation=operation, status=200, client=caller.client[:100])
    if resource is not None and resource.status != ResourceStatus.PUBLISHED:
        owner = caller.principal is not None and _owner_or_admin(db, caller.principal, resource)
        resource = resource if owner else None  # a draft is nobody else's business
    if resource is None:
        db.sharing.log(_with(log, status=404, actor=_actor(caller)))
        raise AccessRefusedError("ckan.not_found.resource", 404, resource=str(resource_id))
    log = _with(log, resource_id=resource.id)
    try:
        grant = _authorise(db, caller, resource)
    except AccessRefusedError as refused:
        key_id, department = refused.params.get("key_id"), refused.params.get("department")
        db.sharing.log(
            _with(
                log,
                status=refused.status,
                key_id=key_id,
                department=department,
                actor=_actor(caller),
            )
        )
        raise
    log = _with(log, key_id=grant.key_id, department=grant.department, actor=grant.actor)
    types = field_types(resource)
    try:
        query = parse_data_query(params, types)
    except InputError:
        db.sharing.log(_with(log, status=409))
        raise
    if resource.entity_type is not None:
        records, total = db.sharing.sensor_page(resource, query)
    else:
        page, total = apply_query(db.sharing.table_frame(resource.id), query, types)
        records = records_of(page, list(types))
    shown = query.fields or list(types)
    records = [{name: r.get(name) for name in shown} for r in records]
    db.sharing.log(_with(log, rows=len(records)))
    return DataPage(resource, [(n, types[n]) for n in shown], records, total, query)


def _actor(caller: Caller) -> str:
    return caller.principal.username if caller.principal is not None else ""


def _with(record: AccessRecord, **changes: Any) -> AccessRecord:
    return AccessRecord(**{**record.__dict__, **changes})
