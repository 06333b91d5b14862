"""Collection rounds (a framework's values of one year, due by a deadline) and reminders.

Revision 0004, after 0003. Adds two tables; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "collection_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", CODE, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("deadline", WHEN, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("opened_by", CODE, nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["frameworks.id"],
            name=op.f("fk_collection_rounds_framework_id_frameworks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_rounds")),
        sa.UniqueConstraint(
            "framework_id", "year", name=op.f("uq_collection_rounds_framework_id_year")
        ),
    )
    op.create_table(
        "collection_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("unit_code", CODE, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sent_by", CODE, nullable=False),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["collection_rounds.id"],
            name=op.f("fk_collection_reminders_round_id_collection_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_collection_reminders_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["regions.code"], name=op.f("fk_collection_reminders_unit_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_reminders")),
    )
    op.create_index(
        op.f("ix_collection_reminders_round_id_department_code"),
        "collection_reminders",
        ["round_id", "department_code"],
    )


def downgrade() -> None:
    op.drop_table("collection_reminders")  # its index goes with it
    op.drop_table("collection_rounds")
