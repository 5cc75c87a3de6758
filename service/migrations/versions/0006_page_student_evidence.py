"""the evidence for whose anonymous page it is (read comb, roster scores)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("student_evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("pages", "student_evidence")
