"""imports: the kind of an import job (products or procurement requests)

Revision ID: c8f2a6d4e1b5
Revises: c7e5a1b9d2f3
Create Date: 2026-12-06 11:05:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8f2a6d4e1b5'
down_revision = 'c7e5a1b9d2f3'
branch_labels = None
depends_on = None


def upgrade():
    # every job so far is a catalog import
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='products', nullable=False))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('kind')
