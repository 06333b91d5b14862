"""The data hub: resource catalogue and rows, sharing requests, API keys, access log, endpoint
checks, sensor entities and observations; values may now be ``derived`` from observations.

Revision 0006, after 0005. Adds eight tables and one allowed value of ``origin_kind``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_ORIGINS = ("file", "api", "form", "demo")
NEW_ORIGINS = (*OLD_ORIGINS, "derived")
REFUSED = "is append-only: rows may be added, never changed or removed"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "data_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("code", CODE, nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("name_zh", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "classification", _enum("resource_class", "base", "theme", "department"), nullable=False
        ),
        sa.Column("fields", sa.JSON(none_as_null=True), nullable=False),
        sa.Column(
            "update_frequency",
            _enum(
                "update_frequency",
                "realtime",
                "daily",
                "weekly",
                "monthly",
                "quarterly",
                "yearly",
                "irregular",
            ),
            nullable=False,
        ),
        sa.Column("format", CODE, nullable=False),
        sa.Column(
            "sharing_type",
            _enum("sharing_type", "unconditional", "conditional", "none"),
            nullable=False,
        ),
        sa.Column("sharing_condition", sa.Text(), nullable=False),
        sa.Column("sharing_method", CODE, nullable=False),
        sa.Column("not_shared_reason", sa.Text(), nullable=False),
        sa.Column("open_type", _enum("open_type", "open", "conditional", "closed"), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("keywords", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("entity_type", CODE, nullable=True),
        sa.Column("api_url", sa.String(length=500), nullable=False),
        sa.Column("status", _enum("resource_status", "draft", "published"), nullable=False),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("data_updated_at", WHEN, nullable=True),
        _fk("data_resources", "unit_code", "regions.code"),
        _fk("data_resources", "department_code", "departments.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_resources")),
        sa.UniqueConstraint("unit_code", "code", name=op.f("uq_data_resources_unit_code_code")),
    )
    op.create_index(
        op.f("ix_data_resources_department_code"), "data_resources", ["department_code"]
    )
    op.create_index(op.f("ix_data_resources_entity_type"), "data_resources", ["entity_type"])
    op.create_table(
        "resource_rows",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=False),
        _fk("resource_rows", "resource_id", "data_resources.id"),
        sa.PrimaryKeyConstraint("resource_id", "row_no", name=op.f("pk_resource_rows")),
    )
    op.create_table(
        "sharing_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("requester_department", CODE, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("requested_by", CODE, nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column(
            "status",
            _enum("sharing_status", "pending", "approved", "refused", "withdrawn"),
            nullable=False,
        ),
        sa.Column("decided_by", CODE, nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        _fk("sharing_requests", "resource_id", "data_resources.id"),
        _fk("sharing_requests", "requester_department", "departments.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_requests")),
    )
    op.create_index(op.f("ix_sharing_requests_resource_id"), "sharing_requests", ["resource_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", CODE, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("scope", _enum("key_scope", "read", "ingest"), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("revoked_by", CODE, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        _fk("api_keys", "resource_id", "data_resources.id"),
        _fk("api_keys", "department_code", "departments.code"),
        _fk("api_keys", "request_id", "sharing_requests.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_resource_id"), "api_keys", ["resource_id"])
    op.create_table(
        "access_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("department_code", CODE, nullable=True),
        sa.Column("actor", CODE, nullable=False),
        sa.Column("operation", CODE, nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        _fk("access_log", "resource_id", "data_resources.id"),
        _fk("access_log", "key_id", "api_keys.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_at"), "access_log", ["at"])
    op.create_index(op.f("ix_access_log_resource_id"), "access_log", ["resource_id"])
    op.create_table(
        "resource_checks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        _fk("resource_checks", "resource_id", "data_resources.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_checks")),
    )
    op.create_index(op.f("ix_resource_checks_resource_id"), "resource_checks", ["resource_id"])
    op.create_table(
        "sensor_entities",
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("entity_id", sa.String(length=300), nullable=False),
        sa.Column("entity_type", CODE, nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("latest", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("sensor_entities", "unit_code", "regions.code"),
        _fk("sensor_entities", "resource_id", "data_resources.id"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sensor_entities")),
        sa.UniqueConstraint(
            "unit_code", "entity_id", name=op.f("uq_sensor_entities_unit_code_entity_id")
        ),
    )
    op.create_index(op.f("ix_sensor_entities_entity_type"), "sensor_entities", ["entity_type"])
    op.create_table(
        "observations",
        sa.Column("entity_key", sa.Integer(), nullable=False),
        sa.Column("attribute", CODE, nullable=False),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        _fk("observations", "entity_key", "sensor_entities.key"),
        sa.PrimaryKeyConstraint(
            "entity_key", "attribute", "observed_at", name=op.f("pk_observations")
        ),
        sqlite_with_rowid=False,
    )
    _allow_origins(NEW_ORIGINS)


def downgrade() -> None:
    derived = op.get_bind().execute(
        sa.text("SELECT count(*) FROM value_history WHERE origin_kind = 'derived'")
    )
    if derived.scalar_one():
        # The history is append-only, so these rows cannot be dropped or relabelled.
        raise RuntimeError(
            "values derived from sensor observations are in the history; revision 0005 "
            "cannot hold them, so this database cannot be downgraded below 0006"
        )
    _allow_origins(OLD_ORIGINS)
    for table in (
        "observations",
        "sensor_entities",
        "resource_checks",
        "access_log",
        "api_keys",
        "sharing_requests",
        "resource_rows",
        "data_resources",
    ):
        op.drop_table(table)  # indexes go with their table


def _allow_origins(origins: tuple[str, ...]) -> None:
    """Swap the CHECK of ``origin_kind`` on the values and their history for ``origins``.

    SQLite cannot alter a CHECK, so its tables are rebuilt; the rebuild drops the history's
    append-only triggers, which are then made again exactly as revision 0001 made them.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    previous = OLD_ORIGINS if origins == NEW_ORIGINS else NEW_ORIGINS
    for table in ("indicator_values", "value_history"):
        name = f"ck_{table}_origin_kind"
        if sqlite:
            with op.batch_alter_table(table, recreate="always") as batch:
                batch.alter_column(
                    "origin_kind",
                    existing_type=_enum("origin_kind", *previous),
                    type_=_enum("origin_kind", *origins),
                    existing_nullable=False,
                )
        else:
            op.drop_constraint(op.f(name), table, type_="check")
            allowed = ", ".join(f"'{origin}'" for origin in origins)
            op.create_check_constraint(op.f(name), table, sa.text(f"origin_kind IN ({allowed})"))
    if sqlite:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER value_history_no_{event.lower()} BEFORE {event} ON value_history "
                f"BEGIN SELECT RAISE(ABORT, 'value_history {REFUSED}'); END"
            )
