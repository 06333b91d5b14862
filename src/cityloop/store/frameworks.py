"""Frameworks in the database: each version kept as the YAML text that loads it, and its hash.

A version is immutable: registering the same id and version with other content is refused.
"""

from __future__ import annotations

import hashlib
import json

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.errors import InputError
from cityloop.frameworks import Framework
from cityloop.frameworks.loader import parse_yaml
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.bulk import insert_rows
from cityloop.store.models import Department, FrameworkRecord, FrameworkVersion, table_of


def content_hash(fw: Framework) -> str:
    """SHA-256 of the framework's content, the same as ``provenance['framework_hash']``."""
    spec = json.dumps(fw.spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()


def framework_yaml(fw: Framework) -> str:
    """The YAML text of ``fw``, as ``cityloop frameworks copy`` writes it."""
    spec = fw.spec.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=100)


def register_framework(session: Session, fw: Framework, actor: str) -> FrameworkVersion:
    """The stored version of ``fw``, added (with its departments) if it is new."""
    digest = content_hash(fw)
    stored = session.scalars(
        select(FrameworkVersion).where(
            FrameworkVersion.framework_id == fw.id, FrameworkVersion.version == fw.version
        )
    ).one_or_none()
    if stored is not None:
        if stored.content_hash != digest:
            raise InputError("store.framework_conflict", framework=fw.id, version=fw.version)
        return stored
    _add_departments(session, fw)
    # The framework's own row follows its newest version's title and standard.
    record = session.get(FrameworkRecord, fw.id) or FrameworkRecord(id=fw.id)
    record.title_zh, record.title_en = fw.spec.title.zh, fw.spec.title.en
    record.standard = fw.spec.standard.code if fw.spec.standard else ""
    session.add(record)
    version = FrameworkVersion(
        framework_id=fw.id,
        version=fw.version,
        content_hash=digest,
        yaml_text=framework_yaml(fw),
        registered_by=actor,
        registered_at=utc_now(),
    )
    session.add(version)
    session.flush()
    record_audit(
        session,
        actor,
        "register",
        "framework_versions",
        str(version.id),
        after={"framework": fw.id, "version": fw.version, "content_hash": digest},
    )
    return version


def stored_framework(session: Session, framework_id: str, version: str | None = None) -> Framework:
    """A stored framework version (the latest registered if ``version`` is None), loaded again."""
    query = select(FrameworkVersion).where(FrameworkVersion.framework_id == framework_id)
    if version is not None:
        query = query.where(FrameworkVersion.version == version)
    stored = session.scalars(query.order_by(FrameworkVersion.id.desc()).limit(1)).one_or_none()
    if stored is None:
        raise InputError("store.unknown_framework", framework=framework_id, version=version or "")
    return parse_yaml(stored.yaml_text, source=f"<database: {framework_id} {stored.version}>")


def _add_departments(session: Session, fw: Framework) -> None:
    known = set(session.scalars(select(Department.code)))
    new = [code for code in fw.departments if code not in known]
    insert_rows(
        session,
        table_of(Department),
        {
            "code": new,
            "name_zh": [fw.departments[c].get("zh", c) for c in new],
            "name_en": [fw.departments[c].get("en", "") for c in new],
        },
    )
