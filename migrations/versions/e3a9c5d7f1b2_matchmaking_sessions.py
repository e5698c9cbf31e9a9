"""matchmaking sessions: sessions, hosts, registrations, meetings, intent follow-ups, archived matches of demand lines; session FKs on requests and intents

Revision ID: e3a9c5d7f1b2
Revises: d2b7e9c4a1f3
Create Date: 2026-12-06 16:17:39.039759

"""
from alembic import op
import sqlalchemy as sa

import marketplace.database  # noqa: F401  (UTCDateTime in generated columns)


# revision identifiers, used by Alembic.
revision = 'e3a9c5d7f1b2'
down_revision = 'd2b7e9c4a1f3'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('matchmaking_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organizer_company_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('cluster', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=True),
    sa.Column('starts_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('venue', sa.String(length=200), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('tables', sa.Integer(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('focus', sa.Enum('none', 'tariff_hit', 'zjtx', name='sessionfocus', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('preparing', 'registration', 'running', 'finished', 'cancelled', name='sessionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_matchmaking_sessions_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_matchmaking_sessions_ends_after_start')),
    sa.CheckConstraint('slot_minutes >= 5', name=op.f('ck_matchmaking_sessions_slot_minutes_min')),
    sa.CheckConstraint('tables > 0', name=op.f('ck_matchmaking_sessions_tables_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_matchmaking_sessions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organizer_company_id'], ['companies.id'], name=op.f('fk_matchmaking_sessions_organizer_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matchmaking_sessions'))
    )
    with op.batch_alter_table('matchmaking_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matchmaking_sessions_industry'), ['industry'], unique=False)
        batch_op.create_index('ix_matchmaking_sessions_organizer_starts', ['organizer_company_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_matchmaking_sessions_province_starts', ['province_code', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_matchmaking_sessions_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_matchmaking_sessions_status'), ['status'], unique=False)

    op.create_table('session_hosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_session_hosts_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'], name=op.f('fk_session_hosts_session_id_matchmaking_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_hosts')),
    sa.UniqueConstraint('session_id', 'company_id', name='uq_session_hosts_session_company')
    )
    with op.batch_alter_table('session_hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_hosts_company_id'), ['company_id'], unique=False)

    op.create_table('session_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('exporter', 'buyer', name='participantrole', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'waitlisted', 'refused', 'cancelled', name='registrationstatus', native_enum=False, length=32), nullable=False),
    sa.Column('invited', sa.Boolean(), nullable=False),
    sa.Column('attendee_name', sa.String(length=100), nullable=True),
    sa.Column('attendee_phone', sa.String(length=30), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('checkin_token', sa.String(length=64), nullable=False),
    sa.Column('checked_in_at', marketplace.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', marketplace.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_session_registrations_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_session_registrations_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_session_registrations_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'], name=op.f('fk_session_registrations_session_id_matchmaking_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_registrations')),
    sa.UniqueConstraint('checkin_token', name=op.f('uq_session_registrations_checkin_token')),
    sa.UniqueConstraint('session_id', 'company_id', name='uq_session_registrations_session_company')
    )
    with op.batch_alter_table('session_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_registrations_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_session_registrations_session_status', ['session_id', 'status'], unique=False)

    op.create_table('session_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('slot_end', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('table_no', sa.Integer(), nullable=False),
    sa.Column('buyer_company_id', sa.Integer(), nullable=False),
    sa.Column('exporter_company_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('booked_by_company_id', sa.Integer(), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', marketplace.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_company_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('table_no > 0', name=op.f('ck_session_meetings_table_positive')),
    sa.ForeignKeyConstraint(['booked_by_company_id'], ['companies.id'], name=op.f('fk_session_meetings_booked_by_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_session_meetings_booked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'], name=op.f('fk_session_meetings_buyer_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cancelled_by_company_id'], ['companies.id'], name=op.f('fk_session_meetings_cancelled_by_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exporter_company_id'], ['companies.id'], name=op.f('fk_session_meetings_exporter_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_session_meetings_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_session_meetings_request_id_procurement_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'], name=op.f('fk_session_meetings_session_id_matchmaking_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_meetings'))
    )
    with op.batch_alter_table('session_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_meetings_buyer_company_id'), ['buyer_company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_meetings_exporter_company_id'), ['exporter_company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_meetings_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_session_meetings_buyer_slot', ['session_id', 'slot_start', 'buyer_company_id'], unique=True, sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))
        batch_op.create_index('uq_session_meetings_exporter_slot', ['session_id', 'slot_start', 'exporter_company_id'], unique=True, sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))
        batch_op.create_index('uq_session_meetings_table_slot', ['session_id', 'slot_start', 'table_no'], unique=True, sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))

    op.create_table('intent_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intent_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('asked_at', marketplace.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('signed', 'in_progress', 'dropped', name='followupoutcome', native_enum=False, length=32), nullable=True),
    sa.Column('reason', sa.Enum('price', 'quality', 'certification', 'logistics', 'other', name='dropreason', native_enum=False, length=32), nullable=True),
    sa.Column('reason_text', sa.String(length=500), nullable=True),
    sa.Column('answered_at', marketplace.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('stage IN (30, 90)', name=op.f('ck_intent_follow_ups_stage_days')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_intent_follow_ups_answered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_intent_follow_ups_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['intent_id'], ['order_intents.id'], name=op.f('fk_intent_follow_ups_intent_id_order_intents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'], name=op.f('fk_intent_follow_ups_session_id_matchmaking_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intent_follow_ups')),
    sa.UniqueConstraint('intent_id', 'stage', 'company_id', name='uq_intent_follow_ups_intent_stage_company')
    )
    with op.batch_alter_table('intent_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_intent_follow_ups_company_answered', ['company_id', 'answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_follow_ups_intent_id'), ['intent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intent_follow_ups_session_id'), ['session_id'], unique=False)

    op.create_table('archived_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('exporter_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', marketplace.database.UTCDateTime(), nullable=False),
    sa.Column('archived_at', marketplace.database.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['companies.id'], name=op.f('fk_archived_matches_buyer_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exporter_id'], ['companies.id'], name=op.f('fk_archived_matches_exporter_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_archived_matches_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['procurement_requests.id'], name=op.f('fk_archived_matches_request_id_procurement_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archived_matches')),
    sa.UniqueConstraint('request_id', 'product_id', name='uq_archived_matches_request_product')
    )
    with op.batch_alter_table('archived_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archived_matches_product_id'), ['product_id'], unique=False)

    with op.batch_alter_table('order_intents', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_order_intents_session_id_matchmaking_sessions'), 'matchmaking_sessions', ['session_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('procurement_requests', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_procurement_requests_session_id_matchmaking_sessions'), 'matchmaking_sessions', ['session_id'], ['id'], ondelete='SET NULL')

    


def downgrade():
    
    with op.batch_alter_table('procurement_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_procurement_requests_session_id_matchmaking_sessions'), type_='foreignkey')

    with op.batch_alter_table('order_intents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_intents_session_id_matchmaking_sessions'), type_='foreignkey')

    with op.batch_alter_table('archived_matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archived_matches_product_id'))

    op.drop_table('archived_matches')
    with op.batch_alter_table('intent_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intent_follow_ups_session_id'))
        batch_op.drop_index(batch_op.f('ix_intent_follow_ups_intent_id'))
        batch_op.drop_index('ix_intent_follow_ups_company_answered')

    op.drop_table('intent_follow_ups')
    with op.batch_alter_table('session_meetings', schema=None) as batch_op:
        batch_op.drop_index('uq_session_meetings_table_slot', sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))
        batch_op.drop_index('uq_session_meetings_exporter_slot', sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))
        batch_op.drop_index('uq_session_meetings_buyer_slot', sqlite_where=sa.text('cancelled_at IS NULL'), postgresql_where=sa.text('cancelled_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_session_meetings_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_meetings_exporter_company_id'))
        batch_op.drop_index(batch_op.f('ix_session_meetings_buyer_company_id'))

    op.drop_table('session_meetings')
    with op.batch_alter_table('session_registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_session_registrations_session_status')
        batch_op.drop_index(batch_op.f('ix_session_registrations_company_id'))

    op.drop_table('session_registrations')
    with op.batch_alter_table('session_hosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_hosts_company_id'))

    op.drop_table('session_hosts')
    with op.batch_alter_table('matchmaking_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matchmaking_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_matchmaking_sessions_starts_at'))
        batch_op.drop_index('ix_matchmaking_sessions_province_starts')
        batch_op.drop_index('ix_matchmaking_sessions_organizer_starts')
        batch_op.drop_index(batch_op.f('ix_matchmaking_sessions_industry'))

    op.drop_table('matchmaking_sessions')
    
