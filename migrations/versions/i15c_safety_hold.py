"""risk posts held for review, alert escalation: the study's choice to show risk posts while
they are reviewed and its escalation time, a post's hold, an alert's escalation step

Revision ID: i15c_safety_hold
Revises: i15o_outbox_message_id
Create Date: 2026-12-05 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i15c_safety_hold'
down_revision = 'i15o_outbox_message_id'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_posts_visible', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('alert_escalation_minutes', sa.Integer(), nullable=False,
                                      server_default='30'))
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_step', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('escalated_at', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_safety_alerts_status', ['status', 'study_id'], unique=False)


def downgrade():
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_safety_alerts_status')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('escalation_step')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('held_at')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_column('alert_escalation_minutes')
        batch_op.drop_column('risk_posts_visible')
