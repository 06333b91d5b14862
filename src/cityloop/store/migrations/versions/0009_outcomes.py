"""Outcome assessment: stored assessment reports of a unit's delivered projects, their measured
effects (what feedback pools), and the effect ranges feedback wrote into a unit's catalogue.

Revision 0009, after 0008. Adds three tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)
NEW_TABLES = ("outcome_reports", "outcome_effects", "effect_feedback")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "outcome_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("outcome_reports", "unit_code", "regions.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_reports")),
    )
    op.create_index(op.f("ix_outcome_reports_unit_code"), "outcome_reports", ["unit_code"])
    op.create_table(
        "outcome_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("project_code", CODE, nullable=False),
        sa.Column("indicator", CODE, nullable=False),
        sa.Column("estimate", sa.Double(), nullable=False),
        sa.Column("std_error", sa.Double(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        _fk("outcome_effects", "report_id", "outcome_reports.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_effects")),
        sa.UniqueConstraint(
            "report_id",
            "project_code",
            "indicator",
            name=op.f("uq_outcome_effects_report_id_project_code_indicator"),
        ),
    )
    op.create_index(op.f("ix_outcome_effects_report_id"), "outcome_effects", ["report_id"])
    op.create_table(
        "effect_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("project_code", CODE, nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("indicator", CODE, nullable=False),
        *(
            sa.Column(name, sa.Double(), nullable=False)
            for name in ("prior_low", "prior_likely", "prior_high", "low", "likely", "high")
        ),
        sa.Column("evidence", sa.Integer(), nullable=False),
        sa.Column("updated_by", CODE, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("effect_feedback", "unit_code", "regions.code"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effect_feedback")),
        sa.UniqueConstraint(
            "unit_code",
            "project_code",
            "indicator",
            name=op.f("uq_effect_feedback_unit_code_project_code_indicator"),
        ),
    )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)  # indexes go with their table
