"""templates: a teacher's own page, its blank and a worksheet's blank pages

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_blanks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("px_per_pt", sa.Float(), nullable=False),
        sa.Column("width_pt", sa.Float(), nullable=False),
        sa.Column("height_pt", sa.Float(), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"],
                                name=op.f("fk_template_blanks_school_id_schools"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["teacher_id"], ["teachers.id"],
                                name=op.f("fk_template_blanks_teacher_id_teachers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_blanks")),
    )
    with op.batch_alter_table("template_blanks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_blanks_school_id"), ["school_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_template_blanks_teacher_id"), ["teacher_id"],
                              unique=False)
    # A template's blank pages in page order (template_blanks ids); NULL for every other
    # kind, so existing rows need nothing.
    with op.batch_alter_table("worksheets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blank_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worksheets", schema=None) as batch_op:
        batch_op.drop_column("blank_ids")
    with op.batch_alter_table("template_blanks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_blanks_teacher_id"))
        batch_op.drop_index(batch_op.f("ix_template_blanks_school_id"))
    op.drop_table("template_blanks")
