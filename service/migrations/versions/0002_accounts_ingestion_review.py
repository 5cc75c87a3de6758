"""accounts ingestion review

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:16:05.923606
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added to existing tables carry a server default so filled databases upgrade.
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_audit_events_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_school_id'), ['school_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=48), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_webhook_deliveries_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_status'), ['status'], unique=False)

    op.create_table('device_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=128), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_device_keys_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], name=op.f('fk_device_keys_teacher_id_teachers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_keys')),
    sa.UniqueConstraint('key_prefix', name=op.f('uq_device_keys_key_prefix'))
    )
    with op.batch_alter_table('device_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_keys_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_keys_teacher_id'), ['teacher_id'], unique=False)

    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('review_reason', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('normalised', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_grades_needs_review'), ['needs_review'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('problems', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('student_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('homography', sa.JSON(), nullable=True))

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('scan_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('page_count', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_scan_uploads_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_uploads_idempotency_key'), ['idempotency_key'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_scan_uploads_device_id_device_keys'), 'device_keys', ['device_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_scan_uploads_school_id_sha256'), ['school_id', 'sha256'])

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret', sa.String(length=128), nullable=True))

    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.drop_column('token_version')

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret')
        batch_op.drop_column('webhook_url')

    with op.batch_alter_table('scan_uploads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_scan_uploads_school_id_sha256'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_scan_uploads_device_id_device_keys'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_scan_uploads_idempotency_key'))
        batch_op.drop_index(batch_op.f('ix_scan_uploads_device_id'))
        batch_op.drop_column('page_count')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('device_id')

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('marks')

    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_column('homography')
        batch_op.drop_column('student_source')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('finished_at')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('problems')

    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grades_needs_review'))
        batch_op.drop_column('normalised')
        batch_op.drop_column('review_reason')
        batch_op.drop_column('needs_review')

    with op.batch_alter_table('device_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_keys_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_device_keys_school_id'))

    op.drop_table('device_keys')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_status'))
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_school_id'))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_school_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    # ### end Alembic commands ###
