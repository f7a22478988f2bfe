"""meetings can be given a make-up, shift the rest of the course, and count their revisions

Revision ID: i15a_reschedule
Revises: i14c_applications
Create Date: 2026-12-04 23:20:00

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'i15a_reschedule'
down_revision = 'i14c_applications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('makeup_start', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('shift_minutes', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('shift_count', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0',
                                      nullable=False))
    # The feed gave postponed meetings SEQUENCE 1 and cancelled ones 2: never go below that.
    op.execute("UPDATE meetings SET revision = 1 WHERE outcome = 'postponed'")
    op.execute("UPDATE meetings SET revision = 2 WHERE outcome = 'cancelled'")


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('shift_count')
        batch_op.drop_column('shift_minutes')
        batch_op.drop_column('makeup_start')
