"""outbox messages keep a stable Message-ID and mark the attempt in flight

Revision ID: i15o_outbox_message_id
Revises: i18b_practice_recordings
Create Date: 2026-12-05 03:50:00

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'i15o_outbox_message_id'
down_revision = 'i18b_practice_recordings'
branch_labels = None
depends_on = None


# Plain ADD COLUMN (no batch rebuild of the table); existing rows get their Message-ID when
# they are next attempted.
def upgrade():
    op.add_column('outbox_messages', sa.Column('message_id', sa.String(length=200),
                                               nullable=True))
    op.add_column('outbox_messages', sa.Column(
        'attempt_started_at', models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('resent_in_doubt', sa.Integer(), nullable=False,
                                               server_default='0'))
    op.create_index('ix_outbox_messages_message_id', 'outbox_messages', ['message_id'],
                    unique=True)


def downgrade():
    op.drop_index('ix_outbox_messages_message_id', table_name='outbox_messages')
    op.drop_column('outbox_messages', 'resent_in_doubt')
    op.drop_column('outbox_messages', 'attempt_started_at')
    op.drop_column('outbox_messages', 'message_id')
