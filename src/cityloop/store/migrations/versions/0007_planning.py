"""Planning: a unit's own projects and overrides of the shipped project catalogue, and saved
plans (the chosen portfolio, its phasing and the settings that produced it).

Revision 0007, after 0006. Adds two tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "plan_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("code", CODE, nullable=False),
        sa.Column("fields", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("updated_by", CODE, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("plan_projects", "unit_code", "regions.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_projects")),
        sa.UniqueConstraint("unit_code", "code", name=op.f("uq_plan_projects_unit_code_code")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("plans", "unit_code", "regions.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index(op.f("ix_plans_unit_code"), "plans", ["unit_code"])


def downgrade() -> None:
    op.drop_table("plans")
    op.drop_table("plan_projects")
