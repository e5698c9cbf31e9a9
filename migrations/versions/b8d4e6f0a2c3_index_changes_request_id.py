"""search: index_changes.request_id (the request that caused a change, named in the worker's log line)

Revision ID: b8d4e6f0a2c3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d4e6f0a2c3'
down_revision = 'a7b8c9d0e1f2'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite adds a column in place (no table copy): index_changes keeps its AUTOINCREMENT
    with op.batch_alter_table('index_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    # SQLite copies the table to drop a column: the copy must keep AUTOINCREMENT (ids are never handed out twice)
    with op.batch_alter_table('index_changes', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('request_id')
