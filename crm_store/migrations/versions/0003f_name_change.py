"""names feed for the NLU gazetteer (issue 16): one row per added name, or per entity to reload

Revision ID: 0003f
Revises: 0002
Create Date: 2026-12-02 13:45:00
"""

from alembic import op
import sqlalchemy as sa
import crm_store.types


revision = '0003f'
down_revision = '0003c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('name_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('at', crm_store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_name_change'))
    )


def downgrade() -> None:
    op.drop_table('name_change')
