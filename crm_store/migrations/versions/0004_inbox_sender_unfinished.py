"""inbox: the per-sender index holds unfinished rows only (issue 16)

The old index (channel, external_id, status) served "is this sender's earlier message still open?", but
the planner filtered on status instead of seeking it, so the check walked every message the sender ever
sent. A partial index over pending and processing rows stays as small as the work in flight.

Revision ID: 0004
Revises: 0003h
Create Date: 2026-12-02 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003h"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('pending', 'processing')"


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_sender_status")
        batch_op.create_index("ix_inbox_sender_unfinished", ["channel", "external_id", "id"], unique=False,
                              postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_sender_unfinished")
        batch_op.create_index("ix_inbox_sender_status", ["channel", "external_id", "status"], unique=False)
