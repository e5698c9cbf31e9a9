"""matching: index match_profiles.match_count — the product side reads the short lists (at most
NEIGHBOURS_UP_TO matches), whose same-category neighbours a product may join. Lists computed before this
get their neighbours at the next recompute (`flask match recompute --all`, also the nightly job).

Revision ID: a7c3e5f9b1d4
Revises: c4e8a2d6f0b9
Create Date: 2026-12-07 16:30:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3e5f9b1d4'
down_revision = 'c4e8a2d6f0b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_profiles_match_count'), ['match_count'], unique=False)


def downgrade():
    with op.batch_alter_table('match_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_profiles_match_count'))
