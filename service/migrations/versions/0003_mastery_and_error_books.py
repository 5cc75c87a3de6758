"""mastery and error books

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:10:37.306047
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Generated from the models, then read through.
    op.create_table('kp_params',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('knowledge_point_id', sa.Integer(), nullable=False),
    sa.Column('prior', sa.Float(), nullable=False),
    sa.Column('learn', sa.Float(), nullable=False),
    sa.Column('guess', sa.Float(), nullable=False),
    sa.Column('slip', sa.Float(), nullable=False),
    sa.Column('fitted', sa.Boolean(), nullable=False),
    sa.Column('n_answers', sa.Integer(), nullable=False),
    sa.Column('n_students', sa.Integer(), nullable=False),
    sa.Column('log_likelihood', sa.Float(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['knowledge_point_id'], ['knowledge_points.id'], name=op.f('fk_kp_params_knowledge_point_id_knowledge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_kp_params_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kp_params')),
    sa.UniqueConstraint('school_id', 'knowledge_point_id', name=op.f('uq_kp_params_school_id_knowledge_point_id'))
    )
    with op.batch_alter_table('kp_params', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kp_params_knowledge_point_id'), ['knowledge_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kp_params_school_id'), ['school_id'], unique=False)

    op.create_table('item_difficulty',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_item_difficulty_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', name=op.f('pk_item_difficulty'))
    )
    op.create_table('errorbooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('worksheet_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['teachers.id'], name=op.f('fk_errorbooks_created_by_teachers')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_errorbooks_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_errorbooks_student_id_students'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worksheet_id'], ['worksheets.id'], name=op.f('fk_errorbooks_worksheet_id_worksheets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errorbooks'))
    )
    with op.batch_alter_table('errorbooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errorbooks_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbooks_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbooks_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbooks_worksheet_id'), ['worksheet_id'], unique=False)

    op.create_table('mastery_states',
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('knowledge_point_id', sa.Integer(), nullable=False),
    sa.Column('p_mastery', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['knowledge_point_id'], ['knowledge_points.id'], name=op.f('fk_mastery_states_knowledge_point_id_knowledge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_mastery_states_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('student_id', 'knowledge_point_id', name=op.f('pk_mastery_states'))
    )
    with op.batch_alter_table('mastery_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mastery_states_knowledge_point_id'), ['knowledge_point_id'], unique=False)

    op.create_table('errorbook_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('wrong_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cause', sa.String(length=64), nullable=True),
    sa.Column('times_wrong', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_errorbook_entries_question_id_questions')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_errorbook_entries_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_errorbook_entries_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_errorbook_entries_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errorbook_entries')),
    sa.UniqueConstraint('student_id', 'question_id', name=op.f('uq_errorbook_entries_student_id_question_id'))
    )
    with op.batch_alter_table('errorbook_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errorbook_entries_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbook_entries_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbook_entries_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbook_entries_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_errorbook_entries_student_id'), ['student_id'], unique=False)

    op.create_table('mastery_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('knowledge_point_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('credit', sa.Float(), nullable=False),
    sa.Column('difficulty', sa.Float(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['knowledge_point_id'], ['knowledge_points.id'], name=op.f('fk_mastery_events_knowledge_point_id_knowledge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_mastery_events_question_id_questions')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_mastery_events_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_mastery_events_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_mastery_events_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mastery_events')),
    sa.UniqueConstraint('response_id', 'knowledge_point_id', name=op.f('uq_mastery_events_response_id_knowledge_point_id'))
    )
    with op.batch_alter_table('mastery_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mastery_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mastery_events_knowledge_point_id'), ['knowledge_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mastery_events_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mastery_events_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mastery_events_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mastery_events_student_id'), ['student_id'], unique=False)

    op.create_table('error_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['errorbook_entries.id'], name=op.f('fk_error_attempts_entry_id_errorbook_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_error_attempts_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_attempts')),
    sa.UniqueConstraint('entry_id', 'response_id', name=op.f('uq_error_attempts_entry_id_response_id'))
    )
    with op.batch_alter_table('error_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_error_attempts_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_error_attempts_response_id'), ['response_id'], unique=False)

    op.create_table('practice_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('errorbook_id', sa.Integer(), nullable=False),
    sa.Column('worksheet_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('reason_zh', sa.String(length=300), nullable=False),
    sa.Column('reason_en', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['errorbook_entries.id'], name=op.f('fk_practice_items_entry_id_errorbook_entries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['errorbook_id'], ['errorbooks.id'], name=op.f('fk_practice_items_errorbook_id_errorbooks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_practice_items_question_id_questions')),
    sa.ForeignKeyConstraint(['worksheet_id'], ['worksheets.id'], name=op.f('fk_practice_items_worksheet_id_worksheets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_items')),
    sa.UniqueConstraint('worksheet_id', 'question_id', name=op.f('uq_practice_items_worksheet_id_question_id'))
    )
    with op.batch_alter_table('practice_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practice_items_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_items_errorbook_id'), ['errorbook_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_items_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_items_worksheet_id'), ['worksheet_id'], unique=False)

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=16), server_default='bank', nullable=False))
        batch_op.create_index(batch_op.f('ix_questions_origin'), ['origin'], unique=False)



def downgrade() -> None:
    # Generated from the models, then read through.
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questions_origin'))
        batch_op.drop_column('origin')

    with op.batch_alter_table('practice_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_items_worksheet_id'))
        batch_op.drop_index(batch_op.f('ix_practice_items_question_id'))
        batch_op.drop_index(batch_op.f('ix_practice_items_errorbook_id'))
        batch_op.drop_index(batch_op.f('ix_practice_items_entry_id'))

    op.drop_table('practice_items')
    with op.batch_alter_table('error_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_error_attempts_response_id'))
        batch_op.drop_index(batch_op.f('ix_error_attempts_entry_id'))

    op.drop_table('error_attempts')
    with op.batch_alter_table('mastery_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mastery_events_student_id'))
        batch_op.drop_index(batch_op.f('ix_mastery_events_school_id'))
        batch_op.drop_index(batch_op.f('ix_mastery_events_response_id'))
        batch_op.drop_index(batch_op.f('ix_mastery_events_question_id'))
        batch_op.drop_index(batch_op.f('ix_mastery_events_knowledge_point_id'))
        batch_op.drop_index(batch_op.f('ix_mastery_events_at'))

    op.drop_table('mastery_events')
    with op.batch_alter_table('errorbook_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errorbook_entries_student_id'))
        batch_op.drop_index(batch_op.f('ix_errorbook_entries_state'))
        batch_op.drop_index(batch_op.f('ix_errorbook_entries_school_id'))
        batch_op.drop_index(batch_op.f('ix_errorbook_entries_question_id'))
        batch_op.drop_index(batch_op.f('ix_errorbook_entries_due_at'))

    op.drop_table('errorbook_entries')
    with op.batch_alter_table('mastery_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mastery_states_knowledge_point_id'))

    op.drop_table('mastery_states')
    with op.batch_alter_table('errorbooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errorbooks_worksheet_id'))
        batch_op.drop_index(batch_op.f('ix_errorbooks_student_id'))
        batch_op.drop_index(batch_op.f('ix_errorbooks_school_id'))
        batch_op.drop_index(batch_op.f('ix_errorbooks_digest'))

    op.drop_table('errorbooks')
    op.drop_table('item_difficulty')
    with op.batch_alter_table('kp_params', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kp_params_school_id'))
        batch_op.drop_index(batch_op.f('ix_kp_params_knowledge_point_id'))

    op.drop_table('kp_params')
