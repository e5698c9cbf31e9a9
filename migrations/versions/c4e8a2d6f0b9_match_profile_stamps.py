"""matching: match_profiles.stamp and match_counters (the product side's in-memory demand follows the
stamps), match_profiles.match_count / last_score / last_product_id (each request's list: NULL until counted),
index matches (exporter_id, request_id) (an exporter's matched requests from the index alone);
match_terms dropped (the demand derives the terms from the profiles). Existing profiles get stamp 0
and are read at the demand's first build. After a downgrade, `flask match recompute --all` fills match_terms.

Revision ID: c4e8a2d6f0b9
Revises: b8d4e6f0a2c3
Create Date: 2026-12-07 06:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4e8a2d6f0b9'
down_revision = 'b8d4e6f0a2c3'
branch_labels = None
depends_on = None


#: each profile's list counted from matches (the last place: the lowest score, of those the highest product id)
FILL_PLACES = """
UPDATE match_profiles SET
  match_count = (SELECT count(*) FROM matches m WHERE m.request_id = match_profiles.request_id),
  last_score = (SELECT min(m.score) FROM matches m WHERE m.request_id = match_profiles.request_id),
  last_product_id = (SELECT max(m.product_id) FROM matches m WHERE m.request_id = match_profiles.request_id
                     AND m.score = (SELECT min(l.score) FROM matches l WHERE l.request_id = match_profiles.request_id))
"""


def upgrade():
    op.create_table(
        'match_counters',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_match_counters')),
    )
    with op.batch_alter_table('match_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stamp', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('match_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_product_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_match_profiles_stamp'), ['stamp'], unique=False)
    op.execute(FILL_PLACES)
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index('ix_matches_exporter_request', ['exporter_id', 'request_id'], unique=False)
    with op.batch_alter_table('match_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_terms_request_id'))
    op.drop_table('match_terms')


def downgrade():
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index('ix_matches_exporter_request')
    op.create_table(
        'match_terms',
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('keyword', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('share', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'],
                                name=op.f('fk_match_terms_request_id_procurement_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'request_id', 'keyword', name=op.f('pk_match_terms')),
    )
    with op.batch_alter_table('match_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_terms_request_id'), ['request_id'], unique=False)
    with op.batch_alter_table('match_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_profiles_stamp'))
        batch_op.drop_column('last_product_id')
        batch_op.drop_column('last_score')
        batch_op.drop_column('match_count')
        batch_op.drop_column('stamp')
    op.drop_table('match_counters')
