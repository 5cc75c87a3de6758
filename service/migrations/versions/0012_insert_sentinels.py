"""insert sentinels: many rows in one INSERT on SQLite

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The tables whose rows are added many at a time (service.db.base.BatchInserts).
TABLES = ("responses", "grades", "mastery_events", "errorbook_entries", "error_attempts",
          "practice_items")


def upgrade() -> None:
    for table in TABLES:
        # Nullable, no default: adding it rewrites no rows, on SQLite or PostgreSQL.
        op.add_column(table, sa.Column("insert_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("insert_sentinel")
