"""matching: index matches (exporter_id, request_id, score) in place of (exporter_id, request_id): an exporter's
商机 page past the first reads each matched request's best score from the index alone (GROUP BY request_id),
and the 商机 count reads the same index as before. SQLite's statistics are refreshed for the table at once: with
none for the new index its planner preferred it, sorting every match of the exporter, for the first page too.

Revision ID: d5f1b3a7c9e2
Revises: a7c3e5f9b1d4
Create Date: 2026-12-07 23:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd5f1b3a7c9e2'
down_revision = 'a7c3e5f9b1d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_matches_exporter_request_score', 'matches', ['exporter_id', 'request_id', 'score'],
                    unique=False)
    op.drop_index('ix_matches_exporter_request', table_name='matches')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE matches')


def downgrade():
    op.create_index('ix_matches_exporter_request', 'matches', ['exporter_id', 'request_id'], unique=False)
    op.drop_index('ix_matches_exporter_request_score', table_name='matches')
