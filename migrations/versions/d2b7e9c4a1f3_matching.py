"""matching: matches, match profiles and terms; must requirements on requests; match digest per user

Revision ID: d2b7e9c4a1f3
Revises: c8f2a6d4e1b5
Create Date: 2026-12-06 13:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

import marketplace.database

# revision identifiers, used by Alembic.
revision = 'd2b7e9c4a1f3'
down_revision = 'c8f2a6d4e1b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'matches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('exporter_id', sa.Integer(), nullable=False),
        sa.Column('buyer_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('parts', sa.JSON(), nullable=False),
        sa.Column('gaps', sa.JSON(), nullable=False),
        sa.Column('generation', sa.String(length=120), nullable=False),
        sa.Column('computed_at', marketplace.database.UTCDateTime(), nullable=False),
        sa.Column('first_seen_at', marketplace.database.UTCDateTime(), nullable=False),
        sa.Column('buyer_notified', sa.Boolean(), nullable=False),
        sa.Column('exporter_notified', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['buyer_id'], ['companies.id'], name=op.f('fk_matches_buyer_id_companies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['exporter_id'], ['companies.id'], name=op.f('fk_matches_exporter_id_companies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_matches_product_id_products'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'],
                                name=op.f('fk_matches_request_id_procurement_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_matches')),
        sa.UniqueConstraint('request_id', 'product_id', name='uq_matches_request_product'),
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index('ix_matches_buyer_notified', ['buyer_id', 'buyer_notified'], unique=False)
        batch_op.create_index('ix_matches_exporter_score', ['exporter_id', 'score'], unique=False)
        batch_op.create_index(batch_op.f('ix_matches_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_matches_request_score', ['request_id', 'score'], unique=False)

    op.create_table(
        'match_profiles',
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('keywords', sa.JSON(), nullable=False),
        sa.Column('generation', sa.String(length=120), nullable=False),
        sa.Column('computed_at', marketplace.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'],
                                name=op.f('fk_match_profiles_request_id_procurement_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('request_id', name=op.f('pk_match_profiles')),
    )
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

    op.create_table(
        'supplier_shortlist',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', marketplace.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_supplier_shortlist_company_id_companies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_supplier_shortlist_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'],
                                name=op.f('fk_supplier_shortlist_request_id_procurement_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_shortlist')),
        sa.UniqueConstraint('request_id', 'company_id', name='uq_supplier_shortlist_request_company'),
    )
    with op.batch_alter_table('supplier_shortlist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_shortlist_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('procurement_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_requirements', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_digest', sa.String(length=10), server_default='daily', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('match_digest')
    with op.batch_alter_table('procurement_requests', schema=None) as batch_op:
        batch_op.drop_column('must_requirements')
    with op.batch_alter_table('supplier_shortlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_shortlist_request_id'))
    op.drop_table('supplier_shortlist')
    with op.batch_alter_table('match_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_terms_request_id'))
    op.drop_table('match_terms')
    op.drop_table('match_profiles')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index('ix_matches_request_score')
        batch_op.drop_index(batch_op.f('ix_matches_product_id'))
        batch_op.drop_index('ix_matches_exporter_score')
        batch_op.drop_index('ix_matches_buyer_notified')
    op.drop_table('matches')
