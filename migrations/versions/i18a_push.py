"""Web Push subscriptions, per-kind notification channels, quiet hours and the participant's
own practice reminder

Revision ID: i18a_push
Revises: i21c_open_invitation_unique
Create Date: 2026-12-05 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i18a_push'
down_revision = 'i21c_open_invitation_unique'
branch_labels = None
depends_on = None

KINDS = ("'release_notice', 'meeting_reminder', 'post_reply', 'assessment_invitation', "
         "'practice_reminder'")


def upgrade():
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=200), nullable=False),
        sa.Column('auth', sa.String(length=100), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('endpoint'),
    )
    op.create_index('ix_push_subscriptions_user_id', 'push_subscriptions', ['user_id'])
    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name='notice_kind_valid'),
        sa.CheckConstraint("channel IN ('email', 'push', 'both', 'none')",
                           name='notice_channel_valid'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'kind'),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quiet_start', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('quiet_end', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('practice_reminder_days', sa.String(length=20),
                                      nullable=True))
        batch_op.add_column(sa.Column('practice_reminder_time', sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('practice_reminder_time')
        batch_op.drop_column('practice_reminder_days')
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
    op.drop_table('notification_preferences')
    op.drop_index('ix_push_subscriptions_user_id', table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
