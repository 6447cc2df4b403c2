"""outbox.topic: what a message is about, so undoing an order withdraws its unsent notices;
order_line.quoted_price: the rep's quoted unit price, shown to the approver

Revision ID: 0003c
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003c'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=60), nullable=True))
        batch_op.create_index('ix_outbox_topic', ['topic'], unique=False)
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quoted_price', sa.Numeric(precision=14, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_column('quoted_price')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_topic')
        batch_op.drop_column('topic')
