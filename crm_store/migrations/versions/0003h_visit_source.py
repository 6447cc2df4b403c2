"""visit.source: 'voice' for a report sent as a voice message (issue 17)

Revision ID: 0003h
Revises: 0002
Create Date: 2026-12-02 13:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003h"
down_revision = "0003f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("source")
