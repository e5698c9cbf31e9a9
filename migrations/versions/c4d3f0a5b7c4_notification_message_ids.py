"""notifications keep their message ids and arguments (shown in the reader's language)

Revision ID: c4d3f0a5b7c4
Revises: c1a0b7e2d4f1
Create Date: 2026-12-06 10:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4d3f0a5b7c4'
down_revision = 'c1a0b7e2d4f1'
branch_labels = None
depends_on = None


def upgrade():
    # older rows keep only their text (subject/body), which stays the fallback
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_i18n', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('body_i18n', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('body_i18n')
        batch_op.drop_column('subject_i18n')
