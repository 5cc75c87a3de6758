"""data generation: edits, the count a running job's pages do not move

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("data_generation", sa.Column("edits", sa.BigInteger(), nullable=False,
                                               server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("data_generation") as batch:
        batch.drop_column("edits")
