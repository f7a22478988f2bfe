"""contact log: researchers' calls, emails and messages with participants

Revision ID: i15b_contact_log
Revises: i19_alert_family
Create Date: 2026-12-04 23:45:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i15b_contact_log'
down_revision = 'i19_alert_family'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contact_log_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('contacted_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.Column('next_step', sa.String(length=200), nullable=True),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('call', 'email', 'message', 'other')",
                           name=op.f('ck_contact_log_entries_kind_valid')),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('contact_log_entries', schema=None) as batch_op:
        batch_op.create_index('ix_contact_log_participant_when',
                              ['participant_id', 'contacted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('contact_log_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_log_participant_when')
    op.drop_table('contact_log_entries')
