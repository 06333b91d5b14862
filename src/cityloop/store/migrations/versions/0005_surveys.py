"""Questionnaires (custom or edited), surveys of a city's public, and their responses.

Revision 0005, after 0004. Adds three tables; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CODE = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("draft", "open", "closed")


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("id", CODE, nullable=False),
        sa.Column("version", CODE, nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("updated_by", CODE, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_questionnaires")),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", CODE, nullable=False),
        sa.Column("unit_code", CODE, nullable=False),
        sa.Column("questionnaire_id", CODE, nullable=False),
        sa.Column("questionnaire_version", CODE, nullable=False),
        sa.Column("questionnaire_yaml", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("districts", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("margins", sa.JSON(none_as_null=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="survey_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", CODE, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("closes_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["regions.code"], name=op.f("fk_surveys_unit_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("slug", name=op.f("uq_surveys_slug")),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("receipt", CODE, nullable=False),
        sa.Column("device_hash", CODE, nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.Column("attributes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("answers", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_responses_survey_id_surveys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint(
            "survey_id", "receipt", name=op.f("uq_survey_responses_survey_id_receipt")
        ),
        sa.UniqueConstraint(
            "survey_id", "device_hash", name=op.f("uq_survey_responses_survey_id_device_hash")
        ),
    )


def downgrade() -> None:
    op.drop_table("survey_responses")
    op.drop_table("surveys")
    op.drop_table("questionnaires")
