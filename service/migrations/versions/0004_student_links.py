"""student links

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 08:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('student_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['teachers.id'], name=op.f('fk_student_links_created_by_teachers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_student_links_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_student_links_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_student_links_token_hash'))
    )
    with op.batch_alter_table('student_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_student_links_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_student_links_student_id'), ['student_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('student_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_student_links_student_id'))
        batch_op.drop_index(batch_op.f('ix_student_links_school_id'))

    op.drop_table('student_links')
