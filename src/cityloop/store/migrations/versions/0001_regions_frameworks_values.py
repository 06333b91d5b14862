"""Regions and groups, frameworks and versions, departments, values with history, runs.

Revision 0001, the first. The value history is append-only: triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ORIGIN = sa.Enum(
    "file", "api", "form", "demo",
    name="origin_kind", native_enum=False, create_constraint=True, length=32,
)  # fmt: skip
# Raised by the PostgreSQL trigger function; SQLite triggers say the same with RAISE(ABORT).
REFUSED = "is append-only: rows may be added, never changed or removed"


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", CODE, nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
    )
    op.create_table(
        "frameworks",
        sa.Column("id", CODE, nullable=False),
        sa.Column("title_zh", sa.String(length=400), nullable=False),
        sa.Column("title_en", sa.String(length=400), nullable=False),
        sa.Column("standard", CODE, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frameworks")),
    )
    op.create_table(
        "region_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", CODE, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_groups")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_region_groups_kind_name")),
    )
    op.create_table(
        "regions",
        sa.Column("code", CODE, nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "province",
                "city",
                "district",
                name="region_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("parent_code", CODE, nullable=True),
        sa.Column("population", sa.Double(), nullable=True),
        sa.Column("size_class", CODE, nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["regions.code"], name=op.f("fk_regions_parent_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    op.create_index(op.f("ix_regions_parent_code"), "regions", ["parent_code"])
    op.create_table(
        "framework_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("version", CODE, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("registered_by", CODE, nullable=False),
        sa.Column("registered_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["frameworks.id"],
            name=op.f("fk_framework_versions_framework_id_frameworks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_versions")),
        sa.UniqueConstraint(
            "framework_id", "version", name=op.f("uq_framework_versions_framework_id_version")
        ),
    )
    op.create_table(
        "group_memberships",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("region_code", CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["region_groups.id"],
            name=op.f("fk_group_memberships_group_id_region_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_group_memberships_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("group_id", "region_code", name=op.f("pk_group_memberships")),
    )
    op.create_table(
        "indicator_values",
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("region_code", CODE, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", CODE, nullable=False),
        *_value_columns(),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["frameworks.id"],
            name=op.f("fk_indicator_values_framework_id_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_indicator_values_region_code_regions")
        ),
        sa.PrimaryKeyConstraint(
            "framework_id", "region_code", "year", "indicator", name=op.f("pk_indicator_values")
        ),
    )
    op.create_table(
        "value_history",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("region_code", CODE, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", CODE, nullable=False),
        sa.Column("previous_value", sa.Double(), nullable=True),
        *_value_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_history")),
    )
    op.create_index(
        op.f("ix_value_history_framework_id_region_code_year_indicator"),
        "value_history",
        ["framework_id", "region_code", "year", "indicator"],
    )
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_version_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("provenance", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("warnings", sa.JSON(none_as_null=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "completed",
                "failed",
                name="run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_version_id"],
            ["framework_versions.id"],
            name=op.f("fk_evaluation_runs_framework_version_id_framework_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_runs")),
    )
    op.create_table(
        "run_scores",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("unit", CODE, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("node", CODE, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("change", sa.Double(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("ranked", sa.Integer(), nullable=True),
        sa.Column("stage", CODE, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evaluation_runs.id"], name=op.f("fk_run_scores_run_id_evaluation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "unit", "year", "node", name=op.f("pk_run_scores")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION cityloop_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '% {REFUSED}', TG_TABLE_NAME; END $$"
        )
    append_only("value_history")


def downgrade() -> None:
    for table in (
        "run_scores",
        "evaluation_runs",
        "value_history",
        "indicator_values",
        "group_memberships",
        "framework_versions",
        "regions",
        "region_groups",
        "frameworks",
        "departments",
    ):
        op.drop_table(table)  # indexes and triggers go with their table
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION cityloop_refuse_change()")


def _value_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", CODE, nullable=False),
        sa.Column("entered_at", WHEN, nullable=False),
        sa.Column("origin_kind", ORIGIN, nullable=False),
        sa.Column("origin_ref", sa.Text(), nullable=False),
    ]


def append_only(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) on ``table``."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cityloop_refuse_change()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} {REFUSED}'); END"
        )
