"""The resource catalogue in the store: register, edit, publish, list and import entries, and
keep the uploaded rows of table resources. ``db.catalogue`` (a ``CatalogueStore``) is the facade.

Every change to an entry is audited (entity ``data_resources``) with its before and after.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from cityloop.datahub.catalogue import (
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    ResourceStatus,
    SharingType,
    UpdateFrequency,
)
from cityloop.errors import InputError, Location, Problem
from cityloop.frameworks.loader import departments as department_kinds
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import DataResource, Department, Region, ResourceRow, table_of

RESOURCE_ENTITY = "data_resources"
ROW_BATCH = 5_000  # rows per INSERT statement when a table resource's rows are replaced
ENTRY_COLUMNS = tuple(
    c for c in ResourceEntry.__dataclass_fields__ if c not in ("department", "fields")
)


@dataclass(frozen=True)
class StoredResource:
    """A catalogue entry as stored: its id, unit, workflow status and times."""

    id: int
    unit: str
    entry: ResourceEntry
    status: ResourceStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    data_updated_at: datetime | None

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def department(self) -> str:
        return self.entry.department


@dataclass(frozen=True)
class ImportCounts:
    """What an import of entries did: new entries, and existing ones (same code) replaced."""

    added: int
    updated: int


# -- entries -------------------------------------------------------------------------------------


def _columns(entry: ResourceEntry) -> dict[str, Any]:
    values = {c: getattr(entry, c) for c in ENTRY_COLUMNS}
    values["keywords"] = list(entry.keywords)
    values["department_code"] = entry.department
    values["fields"] = [asdict(f) for f in entry.fields]
    return values


def _entry(row: DataResource) -> ResourceEntry:
    return ResourceEntry(
        code=row.code,
        department=row.department_code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        description=row.description,
        classification=ResourceClass(row.classification),
        fields=tuple(ResourceField(**f) for f in row.fields),
        update_frequency=UpdateFrequency(row.update_frequency),
        format=row.format,
        sharing_type=SharingType(row.sharing_type),
        sharing_condition=row.sharing_condition,
        sharing_method=row.sharing_method,
        not_shared_reason=row.not_shared_reason,
        open_type=OpenType(row.open_type),
        open_condition=row.open_condition,
        licence=row.licence,
        keywords=tuple(row.keywords),
        entity_type=row.entity_type,
        api_url=row.api_url,
    )


def _stored(row: DataResource) -> StoredResource:
    return StoredResource(
        id=row.id,
        unit=row.unit_code,
        entry=_entry(row),
        status=ResourceStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        data_updated_at=row.data_updated_at,
    )


def ensure_departments(session: Session, codes: Collection[str]) -> None:
    """Add the department kinds of ``departments.yaml`` that ``codes`` name and the table lacks
    (a framework registers only the departments its indicators name); refuse unknown codes."""
    known = department_kinds()
    stored = set(session.scalars(select(Department.code).where(Department.code.in_(set(codes)))))
    unknown = sorted(set(codes) - stored - known.keys())
    if unknown:
        problems = [Problem("catalogue.rule.unknown_department", {"department": c},
                            Location(column="department")) for c in unknown]  # fmt: skip
        raise InputError("catalogue.store.refused", problems)
    missing = sorted(set(codes) - stored)
    if missing:
        session.execute(
            insert(table_of(Department)),
            [{"code": c, "name_zh": known[c]["zh"], "name_en": known[c]["en"]} for c in missing],
        )


def _require_unit(session: Session, unit: str) -> None:
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)


def add_resource(session: Session, unit: str, entry: ResourceEntry, actor: str) -> StoredResource:
    """Register a new entry as a draft; its code must be new in ``unit``."""
    _require_unit(session, unit)
    if by_code(session, unit, entry.code) is not None:
        raise InputError("catalogue.store.code_taken", code=entry.code, unit=unit)
    ensure_departments(session, [entry.department])
    now = utc_now()
    row = DataResource(
        unit_code=unit, status=ResourceStatus.DRAFT, created_by=actor, created_at=now,
        updated_at=now, data_updated_at=None, **_columns(entry),
    )  # fmt: skip
    session.add(row)
    session.flush()
    after = {"unit": unit, "status": row.status.value, **_columns(entry)}
    record_audit(session, actor, "create", RESOURCE_ENTITY, str(row.id), after=after, at=now)
    return _stored(row)


def update_resource(
    session: Session, resource_id: int, entry: ResourceEntry, actor: str
) -> StoredResource:
    """Replace an entry's columns (its status stays); a new code must be free in its unit."""
    row = _row(session, resource_id)
    if entry.code != row.code and by_code(session, row.unit_code, entry.code) is not None:
        raise InputError("catalogue.store.code_taken", code=entry.code, unit=row.unit_code)
    ensure_departments(session, [entry.department])
    before = _columns(_entry(row))
    for column, value in _columns(entry).items():
        setattr(row, column, value)
    row.updated_at = utc_now()
    session.flush()
    record_audit(session, actor, "update", RESOURCE_ENTITY, str(row.id),
                 before=before, after=_columns(entry), at=row.updated_at)  # fmt: skip
    return _stored(row)


def set_status(
    session: Session, resource_id: int, status: ResourceStatus, actor: str
) -> StoredResource:
    """Publish (发布) or withdraw an entry to draft."""
    row = _row(session, resource_id)
    before = {"status": ResourceStatus(row.status).value}
    row.status, row.updated_at = status, utc_now()
    session.flush()
    record_audit(session, actor, status.value, RESOURCE_ENTITY, str(row.id),
                 before=before, after={"status": status.value}, at=row.updated_at)  # fmt: skip
    return _stored(row)


def _row(session: Session, resource_id: int) -> DataResource:
    row = session.get(DataResource, resource_id)
    if row is None:
        raise InputError("catalogue.store.unknown", resource=resource_id)
    return row


def get_resource(session: Session, resource_id: int) -> StoredResource | None:
    row = session.get(DataResource, resource_id)
    return None if row is None else _stored(row)


def by_code(session: Session, unit: str, code: str) -> StoredResource | None:
    query = select(DataResource).where(DataResource.unit_code == unit, DataResource.code == code)
    row = session.scalars(query).first()
    return None if row is None else _stored(row)


def list_resources(session: Session, units: Collection[str] | None = None) -> list[StoredResource]:
    """Every entry (of ``units`` when given), by unit then code; visibility is the caller's."""
    query = select(DataResource).order_by(DataResource.unit_code, DataResource.code)
    if units is not None:
        query = query.where(DataResource.unit_code.in_(set(units)))
    return [_stored(r) for r in session.scalars(query)]


def import_entries(
    session: Session, unit: str, entries: Sequence[ResourceEntry], actor: str
) -> ImportCounts:
    """Add or replace (by code) every entry in the caller's transaction: all or nothing."""
    _require_unit(session, unit)
    codes = [e.code for e in entries]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        problems = [Problem("catalogue.store.code_twice", {"code": c}, Location(column="code"))
                    for c in twice]  # fmt: skip
        raise InputError("catalogue.store.refused", problems)
    ensure_departments(session, {e.department for e in entries})
    added = updated = 0
    for entry in entries:
        existing = by_code(session, unit, entry.code)
        if existing is None:
            add_resource(session, unit, entry, actor)
            added += 1
        elif existing.entry != entry:
            update_resource(session, existing.id, entry, actor)
            updated += 1
    return ImportCounts(added, updated)


# -- rows of table resources ---------------------------------------------------------------------


def replace_rows(
    session: Session, resource_id: int, rows: Sequence[Mapping[str, Any]], actor: str
) -> int:
    """Replace a table resource's rows with ``rows`` in the caller's transaction."""
    row = _row(session, resource_id)
    removed = row_counts(session, [resource_id]).get(resource_id, 0)
    session.execute(delete(ResourceRow).where(ResourceRow.resource_id == resource_id))
    records = [{"resource_id": resource_id, "row_no": k, "data": dict(r)}
               for k, r in enumerate(rows, start=1)]  # fmt: skip
    for start in range(0, len(records), ROW_BATCH):
        session.execute(insert(table_of(ResourceRow)), records[start : start + ROW_BATCH])
    row.data_updated_at = utc_now()
    record_audit(session, actor, "replace_rows", RESOURCE_ENTITY, str(resource_id),
                 before={"rows": removed}, after={"rows": len(records)},
                 at=row.data_updated_at)  # fmt: skip
    return len(records)


def rows_frame(session: Session, resource_id: int) -> pd.DataFrame:
    """A table resource's rows in upload order, one column per key (the declared fields)."""
    query = (
        select(ResourceRow.data)
        .where(ResourceRow.resource_id == resource_id)
        .order_by(ResourceRow.row_no)
    )
    return pd.DataFrame.from_records(list(session.scalars(query)))


def row_counts(session: Session, resource_ids: Collection[int]) -> dict[int, int]:
    """Stored rows per resource (resources without rows are left out), in one aggregate."""
    query = (
        select(ResourceRow.resource_id, func.count())
        .where(ResourceRow.resource_id.in_(set(resource_ids)))
        .group_by(ResourceRow.resource_id)
    )
    return {int(rid): int(n) for rid, n in session.execute(query)}


# -- the facade ------------------------------------------------------------------------------------


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


class CatalogueStore:
    """``db.catalogue``: catalogue entries and table rows, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def add(self, unit: str, entry: ResourceEntry, *, actor: str) -> StoredResource:
        with self._db.session() as s:
            return add_resource(s, unit, entry, actor)

    def update(self, resource_id: int, entry: ResourceEntry, *, actor: str) -> StoredResource:
        with self._db.session() as s:
            return update_resource(s, resource_id, entry, actor)

    def publish(self, resource_id: int, *, actor: str) -> StoredResource:
        with self._db.session() as s:
            return set_status(s, resource_id, ResourceStatus.PUBLISHED, actor)

    def unpublish(self, resource_id: int, *, actor: str) -> StoredResource:
        with self._db.session() as s:
            return set_status(s, resource_id, ResourceStatus.DRAFT, actor)

    def get(self, resource_id: int) -> StoredResource | None:
        with self._db.reader() as s:
            return get_resource(s, resource_id)

    def by_code(self, unit: str, code: str) -> StoredResource | None:
        with self._db.reader() as s:
            return by_code(s, unit, code)

    def entries(self, units: Collection[str] | None = None) -> list[StoredResource]:
        """Every entry (of ``units`` when given), by unit then code; no visibility filter."""
        with self._db.reader() as s:
            return list_resources(s, units)

    def import_entries(
        self, unit: str, entries: Sequence[ResourceEntry], *, actor: str
    ) -> ImportCounts:
        """Add or replace every entry by code, all or nothing."""
        with self._db.session() as s:
            return import_entries(s, unit, entries, actor)

    def replace_rows(
        self, resource_id: int, rows: Sequence[Mapping[str, Any]], *, actor: str
    ) -> int:
        with self._db.session() as s:
            return replace_rows(s, resource_id, rows, actor)

    def rows_frame(self, resource_id: int) -> pd.DataFrame:
        with self._db.reader() as s:
            return rows_frame(s, resource_id)

    def row_counts(self, resource_ids: Collection[int]) -> dict[int, int]:
        with self._db.reader() as s:
            return row_counts(s, resource_ids)
