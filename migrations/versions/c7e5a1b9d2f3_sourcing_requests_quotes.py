"""sourcing: procurement requests, invitations, attachments, events; quotes and revisions; intent links

Revision ID: c7e5a1b9d2f3
Revises: c4d3f0a5b7c4
Create Date: 2026-12-06 10:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.database  # noqa: F401  (UTCDateTime in generated columns)


# revision identifiers, used by Alembic.
revision = 'c7e5a1b9d2f3'
down_revision = 'c4d3f0a5b7c4'
branch_labels = None
depends_on = None

REQUEST_STATES = ('draft', 'open', 'closed', 'awarded', 'expired')
QUOTE_STATES = ('submitted', 'shortlisted', 'awarded', 'declined', 'withdrawn')
REQUEST_ACTIONS = ('create', 'edit', 'publish', 'close', 'award', 'expire')
QUOTE_ACTIONS = ('submit', 'revise', 'withdraw', 'shortlist', 'decline', 'award')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade():
    op.create_table('procurement_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_company_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('hs_code', sa.String(length=10), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('target_unit_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('budget_fen', sa.BigInteger(), nullable=True),
    sa.Column('delivery_province_code', sa.String(length=6), nullable=False),
    sa.Column('delivery_city_code', sa.String(length=6), nullable=False),
    sa.Column('required_certifications', sa.JSON(), nullable=False),
    sa.Column('required_readiness', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('visibility', _enum(('public', 'invited'), 'visibility'), nullable=False),
    sa.Column('state', _enum(REQUEST_STATES, 'requeststate'), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', marketplace.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_procurement_requests_quantity_positive')),
    sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'], name=op.f('fk_procurement_requests_buyer_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_procurement_requests_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_requests')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_procurement_requests_idempotency_key'))
    )
    with op.batch_alter_table('procurement_requests', schema=None) as batch_op:
        batch_op.create_index('ix_procurement_requests_buyer_state', ['buyer_company_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_requests_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_requests_delivery_province_code'), ['delivery_province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_requests_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_procurement_requests_state_deadline', ['state', 'deadline'], unique=False)

    op.create_table('procurement_request_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_procurement_request_invitations_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_procurement_request_invitations_request_id_procurement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_request_invitations')),
    sa.UniqueConstraint('request_id', 'company_id', name='uq_request_invitations_request_company')
    )
    with op.batch_alter_table('procurement_request_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_request_invitations_company_id'), ['company_id'], unique=False)

    op.create_table('procurement_request_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_procurement_request_attachments_request_id_procurement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_request_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_procurement_request_attachments_stored_name'))
    )
    with op.batch_alter_table('procurement_request_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_request_attachments_request_id'), ['request_id'], unique=False)

    op.create_table('procurement_request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', _enum(REQUEST_ACTIONS, 'requestaction'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_company_id', sa.Integer(), nullable=True),
    sa.Column('at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_state', _enum(REQUEST_STATES, 'requeststate'), nullable=True),
    sa.Column('to_state', _enum(REQUEST_STATES, 'requeststate'), nullable=False),
    sa.Column('terms_after', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_company_id'], ['companies.id'], name=op.f('fk_procurement_request_events_actor_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_procurement_request_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_procurement_request_events_request_id_procurement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_request_events')),
    sa.UniqueConstraint('request_id', 'version', name='uq_procurement_request_events_request_version')
    )
    with op.batch_alter_table('procurement_request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_request_events_request_id'), ['request_id'], unique=False)

    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('exporter_company_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('moq', sa.BigInteger(), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('attachment_name', sa.String(length=100), nullable=True),
    sa.Column('attachment_original', sa.String(length=255), nullable=True),
    sa.Column('attachment_type', sa.String(length=100), nullable=True),
    sa.Column('attachment_size', sa.Integer(), nullable=True),
    sa.Column('state', _enum(QUOTE_STATES, 'quotestate'), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('moq > 0', name=op.f('ck_quotes_moq_positive')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_quotes_quantity_positive')),
    sa.CheckConstraint('unit_price_fen > 0', name=op.f('ck_quotes_price_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_quotes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exporter_company_id'], ['companies.id'], name=op.f('fk_quotes_exporter_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quotes_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_quotes_request_id_procurement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('attachment_name', name=op.f('uq_quotes_attachment_name')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_quotes_idempotency_key')),
    sa.UniqueConstraint('request_id', 'exporter_company_id', name='uq_quotes_request_exporter')
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index('ix_quotes_exporter_state', ['exporter_company_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_request_id'), ['request_id'], unique=False)

    op.create_table('quote_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', _enum(QUOTE_ACTIONS, 'quoteaction'), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_company_id', sa.Integer(), nullable=True),
    sa.Column('at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_state', _enum(QUOTE_STATES, 'quotestate'), nullable=True),
    sa.Column('to_state', _enum(QUOTE_STATES, 'quotestate'), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_company_id'], ['companies.id'], name=op.f('fk_quote_revisions_actor_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_quote_revisions_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_revisions_quote_id_quotes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_revisions')),
    sa.UniqueConstraint('quote_id', 'version', name='uq_quote_revisions_quote_version')
    )
    with op.batch_alter_table('quote_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_revisions_quote_id'), ['quote_id'], unique=False)

    # order intents: the request / quote they came from (the columns exist; now they point somewhere)
    with op.batch_alter_table('order_intents', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_order_intents_request_id_procurement_requests'),
                                    'procurement_requests', ['request_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_order_intents_quote_id_quotes'),
                                    'quotes', ['quote_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('order_intents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_intents_quote_id_quotes'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_order_intents_request_id_procurement_requests'), type_='foreignkey')
    op.drop_table('quote_revisions')
    op.drop_table('quotes')
    op.drop_table('procurement_request_events')
    op.drop_table('procurement_request_attachments')
    op.drop_table('procurement_request_invitations')
    op.drop_table('procurement_requests')
