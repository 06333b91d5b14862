"""Supervision: tracked projects made from saved plans, with their milestones, quality gates,
payments, risks and the history of progress reports.

Revision 0008, after 0007. Adds six tables; payments and progress reports are append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REFUSED = "is append-only: rows may be added, never changed or removed"
APPEND_ONLY = ("project_spend", "progress_updates")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def _project(table: str) -> list[sa.schema.SchemaItem]:
    """The ``project_id`` column of a child table, its foreign key and its index."""
    return [
        sa.Column("project_id", sa.Integer(), nullable=False),
        _fk(table, "project_id", "tracked_projects.id"),
    ]


def upgrade() -> None:
    op.create_table(
        "tracked_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("code", CODE, nullable=False),
        sa.Column("name_zh", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("domain", CODE, nullable=False),
        sa.Column("phase", CODE, nullable=False),
        sa.Column("owner_department", CODE, nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("plan_types", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("indicators", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("needs", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("budget", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("percent_complete", sa.Double(), nullable=False),
        sa.Column("last_update", sa.Date(), nullable=False),
        sa.Column(
            "status", _enum("tracking_status", "active", "suspended", "closed"), nullable=False
        ),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("tracked_projects", "unit_code", "regions.code"),
        _fk("tracked_projects", "plan_id", "plans.id"),
        _fk("tracked_projects", "owner_department", "departments.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_projects")),
        sa.UniqueConstraint("unit_code", "code", name=op.f("uq_tracked_projects_unit_code_code")),
    )
    op.create_index(op.f("ix_tracked_projects_plan_id"), "tracked_projects", ["plan_id"])
    op.create_table(
        "project_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        *_project("project_milestones"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("planned_value", sa.Double(), nullable=False),
        sa.Column("percent_complete", sa.Double(), nullable=False),
        sa.Column("completed_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_milestones")),
        sa.UniqueConstraint(
            "project_id", "position", name=op.f("uq_project_milestones_project_id_position")
        ),
    )
    op.create_table(
        "project_gates",
        sa.Column("id", sa.Integer(), nullable=False),
        *_project("project_gates"),
        sa.Column(
            "kind",
            _enum(
                "gate_kind",
                "design_review",
                "security_assessment",
                "acceptance_test",
                "trial_operation",
            ),
            nullable=False,
        ),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("passed_date", sa.Date(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_gates")),
        sa.UniqueConstraint("project_id", "kind", name=op.f("uq_project_gates_project_id_kind")),
    )
    op.create_table(
        "project_spend",
        sa.Column("id", BIG_ID, nullable=False),
        *_project("project_spend"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.Double(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("corrects_id", BIG_ID, nullable=True),
        sa.Column("entered_by", CODE, nullable=False),
        sa.Column("entered_at", WHEN, nullable=False),
        _fk("project_spend", "corrects_id", "project_spend.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_spend")),
    )
    op.create_index(op.f("ix_project_spend_project_id"), "project_spend", ["project_id"])
    op.create_table(
        "project_risks",
        sa.Column("id", sa.Integer(), nullable=False),
        *_project("project_risks"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("level", _enum("risk_level", "low", "medium", "high"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_risks")),
    )
    op.create_index(op.f("ix_project_risks_project_id"), "project_risks", ["project_id"])
    op.create_table(
        "progress_updates",
        sa.Column("id", BIG_ID, nullable=False),
        *_project("progress_updates"),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("percent_complete", sa.Double(), nullable=False),
        sa.Column("milestones", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reported_by", CODE, nullable=False),
        sa.Column("reported_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_updates")),
    )
    op.create_index(op.f("ix_progress_updates_project_id"), "progress_updates", ["project_id"])
    for table in APPEND_ONLY:
        _append_only(table)


def _append_only(table: str) -> None:
    """The guard 0001 put on value_history (``cityloop_refuse_change`` on PostgreSQL)."""
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


def downgrade() -> None:
    for table in (
        "progress_updates",
        "project_risks",
        "project_spend",
        "project_gates",
        "project_milestones",
        "tracked_projects",
    ):
        op.drop_table(table)  # indexes and triggers go with their table
