"""search: index_changes (transactional outbox) and index_replicas (cursors)

Revision ID: a4e1c2d3b5f6
Revises: 6dc520965797
Create Date: 2026-11-27 21:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.database  # noqa: F401  (UTCDateTime in generated columns)


# revision identifiers, used by Alembic.
revision = 'a4e1c2d3b5f6'
down_revision = '6dc520965797'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('index_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_changes')),
    sqlite_autoincrement=True,
    )
    op.create_table('index_replicas',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_index_replicas'))
    )


def downgrade():
    op.drop_table('index_replicas')
    op.drop_table('index_changes')
