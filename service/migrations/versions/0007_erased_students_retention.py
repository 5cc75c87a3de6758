"""erased students (tombstones), file deletions, image expiry

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_students",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("student_no_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"],
                                name=op.f("fk_erased_students_class_id_classes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["erased_by"], ["teachers.id"],
                                name=op.f("fk_erased_students_erased_by_teachers"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"],
                                name=op.f("fk_erased_students_school_id_schools"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erased_students")),
    )
    with op.batch_alter_table("erased_students", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erased_students_class_id"), ["class_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_erased_students_school_id"), ["school_id"],
                              unique=False)

    op.create_table(
        "file_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_deletions")),
    )

    op.create_table(
        "image_expiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"],
                                name=op.f("fk_image_expiry_page_id_pages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["upload_id"], ["scan_uploads.id"],
                                name=op.f("fk_image_expiry_upload_id_scan_uploads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_expiry")),
    )
    with op.batch_alter_table("image_expiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_expiry_page_id"), ["page_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_image_expiry_upload_id"), ["upload_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("image_expiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_expiry_upload_id"))
        batch_op.drop_index(batch_op.f("ix_image_expiry_page_id"))
    op.drop_table("image_expiry")
    op.drop_table("file_deletions")
    with op.batch_alter_table("erased_students", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_students_school_id"))
        batch_op.drop_index(batch_op.f("ix_erased_students_class_id"))
    op.drop_table("erased_students")
