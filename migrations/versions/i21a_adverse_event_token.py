"""adverse events carry the submission token of their form (a double submit records one)

Revision ID: i21a_adverse_event_token
Revises: i15a_reschedule
Create Date: 2026-12-04 23:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i21a_adverse_event_token'
down_revision = 'i15a_reschedule'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('adverse_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            'uq_adverse_events_participant_id_submission_token',
            ['participant_id', 'submission_token'])


def downgrade():
    with op.batch_alter_table('adverse_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_adverse_events_participant_id_submission_token',
                                 type_='unique')
        batch_op.drop_column('submission_token')
