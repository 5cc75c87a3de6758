"""drill assignments: a worksheet's kind, a response's place on a free-form page

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 20:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "worksheet" (printed by markbook: markers + QR) or "drill" (口算 pages from anywhere,
    # read by the drill reader); every existing row is a worksheet.
    with op.batch_alter_table("worksheets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False,
                                      server_default="worksheet"))
    # Where a drill item was found, in pixels of the page as ingested (a worksheet's
    # answers are placed by its layout instead): annotated pages mark it there.
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("region")
    with op.batch_alter_table("worksheets", schema=None) as batch_op:
        batch_op.drop_column("kind")
