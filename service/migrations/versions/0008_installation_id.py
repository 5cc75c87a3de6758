"""the install's id, printed in every page code (MB2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 17:00:00.000000
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("install_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    # Made here, once per database: every process that later opens it shares the id.
    # 6 base32 characters, as service.install.new_install_id makes them.
    install_id = base64.b32encode(secrets.token_bytes(5)).decode()[:6]
    op.bulk_insert(table, [{"id": 1, "install_id": install_id,
                            "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("installation")
