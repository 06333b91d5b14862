"""The database tables as typed SQLAlchemy 2 models: regions, frameworks, values, runs, users,
collection rounds, surveys, the data hub (catalogue, sharing, keys, sensor observations),
planning, and supervision (tracked projects with milestones, gates, payments and reports).

The migrations in ``migrations/versions`` create exactly these; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Dialect,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator

from cityloop.accounts.roles import Role

# The catalogue's vocabularies are pure (``cityloop.datahub.catalogue``); re-exported here.
from cityloop.datahub.catalogue import OpenType as OpenType
from cityloop.datahub.catalogue import ResourceClass as ResourceClass
from cityloop.datahub.catalogue import ResourceStatus as ResourceStatus
from cityloop.datahub.catalogue import SharingType as SharingType
from cityloop.datahub.catalogue import UpdateFrequency as UpdateFrequency
from cityloop.datahub.units import RegionLevel
from cityloop.supervision.tracking import GateKind, RiskLevel

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CODE = 64  # length of codes: region, framework, indicator, department, group names
# SQLite gives a row id only to a column declared exactly INTEGER PRIMARY KEY.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and always read back timezone-aware (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(kind: type[StrEnum], name: str) -> Enum:
    """A portable enum: a VARCHAR with a named CHECK of the members' values."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class OriginKind(StrEnum):
    """How a value arrived: an uploaded file, an API call, a web form or the demo generator."""

    FILE = "file"
    API = "api"
    FORM = "form"
    DEMO = "demo"
    DERIVED = "derived"  # computed by a framework formula from sensor observations (data hub)


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), float: Double()}


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for set-based statements."""
    return Base.metadata.tables[model.__tablename__]


# -- 0001: regions, frameworks, departments, values, evaluation runs ----------------------------


class Region(Base):
    """A province, city or district, identified by its administrative code."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, "region_level"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    population: Mapped[float | None]
    size_class: Mapped[str | None] = mapped_column(String(CODE))


class RegionGroup(Base):
    """A named group of regions of one kind, such as the city cluster 长三角."""

    __tablename__ = "region_groups"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(CODE))
    name: Mapped[str] = mapped_column(String(200))


class GroupMembership(Base):
    """A region in a group; ``position`` keeps the order the region's groups were listed in
    (the first is the one used where a single group is wanted)."""

    __tablename__ = "group_memberships"

    group_id: Mapped[int] = mapped_column(ForeignKey("region_groups.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    position: Mapped[int]


class FrameworkRecord(Base):
    """An indicator framework by id; its content lives in its versions."""

    __tablename__ = "frameworks"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(400))
    title_en: Mapped[str] = mapped_column(String(400), default="")
    standard: Mapped[str] = mapped_column(String(CODE), default="")


class FrameworkVersion(Base):
    """One version of a framework as the YAML text that loads it, with its content hash."""

    __tablename__ = "framework_versions"
    __table_args__ = (UniqueConstraint("framework_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[str] = mapped_column(ForeignKey("frameworks.id"))
    version: Mapped[str] = mapped_column(String(CODE))
    content_hash: Mapped[str] = mapped_column(String(64))
    yaml_text: Mapped[str] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(CODE))
    registered_at: Mapped[datetime]


class Department(Base):
    """A kind of department that indicators are assigned to (codes of departments.yaml)."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")


class _ValueColumns:
    """What every stored value carries: the cell, its text, and who wrote it when, from where."""

    value: Mapped[float]
    source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(CODE))
    entered_at: Mapped[datetime]
    origin_kind: Mapped[OriginKind] = mapped_column(enum_column(OriginKind, "origin_kind"))
    origin_ref: Mapped[str] = mapped_column(Text, default="")


class IndicatorValue(_ValueColumns, Base):
    """The current value of one indicator for one region and year under one framework."""

    __tablename__ = "indicator_values"

    framework_id: Mapped[str] = mapped_column(ForeignKey("frameworks.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(CODE), primary_key=True)


class ValueHistory(_ValueColumns, Base):
    """Every write of a value, append-only: the new value and the one it replaced."""

    __tablename__ = "value_history"
    __table_args__ = (Index(None, "framework_id", "region_code", "year", "indicator"),)

    # No foreign keys: every row is written together with the checked row of indicator_values
    # it copies, and checking it again would double the cost of every import.
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(CODE))
    region_code: Mapped[str] = mapped_column(String(CODE))
    year: Mapped[int]
    indicator: Mapped[str] = mapped_column(String(CODE))
    previous_value: Mapped[float | None]


class EvaluationRun(Base):
    """One evaluation: what went in (framework version, config, data hash) and who ran it."""

    __tablename__ = "evaluation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    config: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    data_hash: Mapped[str] = mapped_column(String(64))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    warnings: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "run_status"))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]


class RunScore(Base):
    """A run's result for one unit, year and node: score, change, overall rank and stage."""

    __tablename__ = "run_scores"

    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_runs.id"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    level: Mapped[int]
    score: Mapped[float | None]
    change: Mapped[float | None]
    rank: Mapped[int | None]
    ranked: Mapped[int | None]
    stage: Mapped[str] = mapped_column(String(CODE), default="")


# -- 0002: users and the audit log ---------------------------------------------------------------


class User(Base):
    """An account: the Argon2 hash of its password, its role and the regions it may see."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(CODE), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_login: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """One change, append-only (database triggers refuse UPDATE and DELETE on this table)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(CODE))
    action: Mapped[str] = mapped_column(String(CODE))
    entity: Mapped[str] = mapped_column(String(CODE))
    entity_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


# -- 0004: collection rounds ----------------------------------------------------------------------


class CollectionRound(Base):
    """A call for one framework's values of one year, due by a deadline (数据征集轮次).

    ``deadline`` is the deadline day stored as its first moment in China Standard Time: a
    time column keeps the backups canonical (UTC ISO 8601) on both databases.
    """

    __tablename__ = "collection_rounds"
    __table_args__ = (UniqueConstraint("framework_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[str] = mapped_column(ForeignKey("frameworks.id"))
    year: Mapped[int]
    deadline: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(CODE))
    opened_at: Mapped[datetime]


class CollectionReminder(Base):
    """A reminder (催报) sent to a department about a round, for one region or (null) all."""

    __tablename__ = "collection_reminders"
    __table_args__ = (Index(None, "round_id", "department_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("collection_rounds.id"))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    message: Mapped[str] = mapped_column(Text, default="")
    sent_by: Mapped[str] = mapped_column(String(CODE))
    sent_at: Mapped[datetime]


# -- 0005: questionnaires, surveys and their responses -------------------------------------------


class SurveyStatus(StrEnum):
    """A survey's life: prepared, taking answers, or no longer taking any."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionnaireRecord(Base):
    """A custom or edited questionnaire: one version of it as the YAML text that loads it."""

    __tablename__ = "questionnaires"

    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    version: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(CODE))
    updated_at: Mapped[datetime]


class Survey(Base):
    """A questionnaire put to a city's public for one year, behind an unguessable public slug.

    ``questionnaire_yaml`` is the exact text the survey opened with: editing the questionnaire
    later never changes what a running survey asks.
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(CODE), unique=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    questionnaire_id: Mapped[str] = mapped_column(String(CODE))
    questionnaire_version: Mapped[str] = mapped_column(String(CODE))
    questionnaire_yaml: Mapped[str] = mapped_column(Text)
    year: Mapped[int]
    districts: Mapped[list[dict[str, str]]] = mapped_column(JSON(none_as_null=True))
    margins: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON(none_as_null=True))
    status: Mapped[SurveyStatus] = mapped_column(enum_column(SurveyStatus, "survey_status"))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]


class SurveyResponse(Base):
    """One submitted questionnaire: its receipt (the one-time token's id), the hashed device,
    where it came from, and the validated attributes and answers."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "receipt"),
        UniqueConstraint("survey_id", "device_hash"),  # NULLs (no device) never collide
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    # The unique (survey_id, receipt) index also serves counting a survey's responses.
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    receipt: Mapped[str] = mapped_column(String(CODE))
    device_hash: Mapped[str | None] = mapped_column(String(CODE))
    source: Mapped[str] = mapped_column(String(300))
    submitted_at: Mapped[datetime]
    attributes: Mapped[dict[str, str]] = mapped_column(JSON(none_as_null=True))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))


# -- 0006: the data hub: resource catalogue, sharing, keys, access log, sensor observations ----


class DataResource(Base):
    """One entry of a unit's government information resource catalogue (政务信息资源目录).

    ``fields`` are the resource's information items (信息项): name, zh/en label, type.
    ``entity_type`` names the NGSI-LD type whose observations are this resource's data;
    a resource without one holds uploaded table rows (``resource_rows``).
    """

    __tablename__ = "data_resources"
    __table_args__ = (UniqueConstraint("unit_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    code: Mapped[str] = mapped_column(String(CODE))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    name_zh: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[ResourceClass] = mapped_column(
        enum_column(ResourceClass, "resource_class")
    )
    fields: Mapped[list[dict[str, str]]] = mapped_column(JSON(none_as_null=True))
    update_frequency: Mapped[UpdateFrequency] = mapped_column(
        enum_column(UpdateFrequency, "update_frequency")
    )
    format: Mapped[str] = mapped_column(String(CODE))
    sharing_type: Mapped[SharingType] = mapped_column(enum_column(SharingType, "sharing_type"))
    sharing_condition: Mapped[str] = mapped_column(Text, default="")
    sharing_method: Mapped[str] = mapped_column(String(CODE), default="")
    not_shared_reason: Mapped[str] = mapped_column(Text, default="")
    open_type: Mapped[OpenType] = mapped_column(enum_column(OpenType, "open_type"))
    open_condition: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    entity_type: Mapped[str | None] = mapped_column(String(CODE), index=True)
    api_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[ResourceStatus] = mapped_column(enum_column(ResourceStatus, "resource_status"))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    data_updated_at: Mapped[datetime | None]


class ResourceRow(Base):
    """One row of a table resource's data, as uploaded by its department (read by datastore)."""

    __tablename__ = "resource_rows"

    resource_id: Mapped[int] = mapped_column(ForeignKey("data_resources.id"), primary_key=True)
    row_no: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))


class SharingStatus(StrEnum):
    """A sharing request's life: asked, then approved or refused; or withdrawn by the asker."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class SharingRequest(Base):
    """Department A asks for department B's conditional resource, saying why (共享申请)."""

    __tablename__ = "sharing_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("data_resources.id"), index=True)
    requester_department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    purpose: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(CODE))
    requested_at: Mapped[datetime]
    status: Mapped[SharingStatus] = mapped_column(enum_column(SharingStatus, "sharing_status"))
    decided_by: Mapped[str | None] = mapped_column(String(CODE))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")


class KeyScope(StrEnum):
    """What a key may do with its one resource: read its data, or send it observations."""

    READ = "read"
    INGEST = "ingest"


class ApiKey(Base):
    """A revocable key that reaches exactly one resource; only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(CODE), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown to people so they can tell keys apart
    resource_id: Mapped[int] = mapped_column(ForeignKey("data_resources.id"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    scope: Mapped[KeyScope] = mapped_column(enum_column(KeyScope, "key_scope"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_requests.id"))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(CODE))
    revoked_at: Mapped[datetime | None]


class AccessEntry(Base):
    """One read or write of a resource's data through the hub's APIs (访问日志)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("data_resources.id"), index=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    department_code: Mapped[str | None] = mapped_column(String(CODE))
    actor: Mapped[str] = mapped_column(String(CODE), default="")
    operation: Mapped[str] = mapped_column(String(CODE))
    status: Mapped[int]
    rows: Mapped[int] = mapped_column(default=0)
    client: Mapped[str] = mapped_column(String(100), default="")


class ResourceCheck(Base):
    """One probe of a resource's service endpoint: did it answer, and how fast (API uptime)."""

    __tablename__ = "resource_checks"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("data_resources.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None]
    detail: Mapped[str] = mapped_column(String(300), default="")


class SensorEntity(Base):
    """An NGSI-LD entity of a unit (the tenant): its type, place and latest key-values state."""

    __tablename__ = "sensor_entities"
    __table_args__ = (UniqueConstraint("unit_code", "entity_id"),)

    key: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    entity_id: Mapped[str] = mapped_column(String(300))
    entity_type: Mapped[str] = mapped_column(String(CODE), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("data_resources.id"))
    longitude: Mapped[float | None]
    latitude: Mapped[float | None]
    latest: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Observation(Base):
    """One observed value of one attribute of one entity at one moment (a time-series point).

    ``observed_at`` is Unix seconds (UTC): integer buckets make hourly and daily aggregates the
    same SQL on SQLite and PostgreSQL. ``value`` holds numbers, ``text`` holds states.
    """

    __tablename__ = "observations"
    # On SQLite the rows live in their primary-key B-tree (no rowid table beside an index):
    # an ingest batch updates one tree, not two (benchmarks/ngsi_ingest.py).
    __table_args__ = ({"sqlite_with_rowid": False},)

    entity_key: Mapped[int] = mapped_column(ForeignKey("sensor_entities.key"), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    observed_at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None]
    text: Mapped[str | None] = mapped_column(String(200))


# -- 0007: planning: a unit's project catalogue overrides and its saved plans ----------------


class PlanProject(Base):
    """A unit's own project, or its override of a shipped catalogue project (same code).

    ``fields`` holds only what the unit set (a partial project record); the shipped catalogue
    supplies the rest (see ``cityloop.planning.project_catalogue``).
    """

    __tablename__ = "plan_projects"
    __table_args__ = (UniqueConstraint("unit_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    code: Mapped[str] = mapped_column(String(CODE))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    updated_by: Mapped[str] = mapped_column(String(CODE))
    updated_at: Mapped[datetime]


class Plan(Base):
    """A saved plan of a unit: the settings it was solved with and what the solver chose."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    framework_id: Mapped[str] = mapped_column(String(CODE))
    first_year: Mapped[int]
    settings: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    result: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]


# -- 0008: supervision: tracked projects and their progress ------------------------------------


class TrackingStatus(StrEnum):
    """Whether a tracked project is being supervised, paused, or closed (no more reports)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class TrackedProjectRecord(Base):
    """A planned project under supervision (``cityloop.supervision.tracking.TrackedProject``).

    ``plan_types``, ``indicators`` and ``needs`` are lists of codes; ``budget`` is a list of
    ``{"year", "planned_cost"}`` (万元). ``percent_complete`` and ``last_update`` are those of
    the newest progress report (``progress_updates`` keeps them all).
    """

    __tablename__ = "tracked_projects"
    __table_args__ = (UniqueConstraint("unit_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    code: Mapped[str] = mapped_column(String(CODE))
    name_zh: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    domain: Mapped[str] = mapped_column(String(CODE))
    phase: Mapped[str] = mapped_column(String(CODE))
    owner_department: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    start_date: Mapped[date]
    plan_types: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    indicators: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    needs: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    budget: Mapped[list[dict[str, Any]]] = mapped_column(JSON(none_as_null=True))
    percent_complete: Mapped[float] = mapped_column(default=0.0)
    last_update: Mapped[date]
    status: Mapped[TrackingStatus] = mapped_column(
        enum_column(TrackingStatus, "tracking_status"), default=TrackingStatus.ACTIVE
    )
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]


class ProjectMilestone(Base):
    """A milestone of a tracked project; ``position`` orders a project's milestones."""

    __tablename__ = "project_milestones"
    __table_args__ = (UniqueConstraint("project_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_projects.id"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    planned_date: Mapped[date]
    planned_value: Mapped[float]
    percent_complete: Mapped[float] = mapped_column(default=0.0)
    completed_date: Mapped[date | None]


class ProjectGate(Base):
    """A quality gate a tracked project must pass, each kind at most once per project."""

    __tablename__ = "project_gates"
    __table_args__ = (UniqueConstraint("project_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_projects.id"))
    kind: Mapped[GateKind] = mapped_column(enum_column(GateKind, "gate_kind"))
    planned_date: Mapped[date]
    passed_date: Mapped[date | None]
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class ProjectSpend(Base):
    """A payment (万元), append-only (database triggers refuse UPDATE and DELETE).

    A wrong entry is corrected by a new one with the opposite ``amount`` and ``corrects_id``
    naming it; the correction counts on the corrected entry's ``day``.
    """

    __tablename__ = "project_spend"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_projects.id"), index=True)
    day: Mapped[date]
    amount: Mapped[float]
    note: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(BIG_ID, ForeignKey("project_spend.id"))
    entered_by: Mapped[str] = mapped_column(String(CODE))
    entered_at: Mapped[datetime]


class ProjectRisk(Base):
    """A risk a project manager recorded."""

    __tablename__ = "project_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_projects.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, "risk_level"))
    # Closing a risk takes it off the register but keeps it on record (since 0011).
    closed_on: Mapped[date | None]
    closed_by: Mapped[str | None] = mapped_column(String(CODE))


class ProgressReport(Base):
    """One progress report, append-only: the overall and per-milestone percentages as of
    ``report_date``, so earned value at a past date can use the report valid then."""

    __tablename__ = "progress_updates"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_projects.id"), index=True)
    report_date: Mapped[date]
    percent_complete: Mapped[float]
    milestones: Mapped[list[float]] = mapped_column(JSON(none_as_null=True))
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(CODE))
    reported_at: Mapped[datetime]


# -- 0009: outcome assessment: stored reports, their measured effects, catalogue feedback ------


class OutcomeReportRecord(Base):
    """A stored outcome assessment of a unit's delivered projects as of a day.

    ``result`` is the whole report as JSON (``cityloop.services.outcomes.OutcomeReport``
    without its id and creation); ``outcome_effects`` repeats each measured effect as a row.
    """

    __tablename__ = "outcome_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    framework_id: Mapped[str] = mapped_column(String(CODE))
    as_of: Mapped[date]
    confidence: Mapped[float]
    seed: Mapped[int]
    result: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    created_by: Mapped[str] = mapped_column(String(CODE))
    created_at: Mapped[datetime]


class OutcomeEffect(Base):
    """One measured effect of a report (project × indicator): what feedback pools."""

    __tablename__ = "outcome_effects"
    __table_args__ = (UniqueConstraint("report_id", "project_code", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("outcome_reports.id"), index=True)
    project_code: Mapped[str] = mapped_column(String(CODE))
    indicator: Mapped[str] = mapped_column(String(CODE))
    estimate: Mapped[float]
    std_error: Mapped[float]
    verdict: Mapped[str] = mapped_column(String(32))


class EffectFeedback(Base):
    """The range feedback last wrote into a unit's catalogue (``low``–``high``) and the range
    it started from (``prior_*``), so that feeding back again never counts evidence twice."""

    __tablename__ = "effect_feedback"
    __table_args__ = (UniqueConstraint("unit_code", "project_code", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    project_code: Mapped[str] = mapped_column(String(CODE))
    framework_id: Mapped[str] = mapped_column(String(CODE))
    indicator: Mapped[str] = mapped_column(String(CODE))
    prior_low: Mapped[float]
    prior_likely: Mapped[float]
    prior_high: Mapped[float]
    low: Mapped[float]
    likely: Mapped[float]
    high: Mapped[float]
    evidence: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(CODE))
    updated_at: Mapped[datetime]


# -- 0010: web sessions --------------------------------------------------------------------------


class WebSession(Base):
    """A signed-in web session: the SHA-256 digest of its cookie's random token (never the
    token), whose it is, and when and why it ended. Not governed data: not backed up."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))
