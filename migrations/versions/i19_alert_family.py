"""safety alerts name the level and families of the risk statement

Revision ID: i19_alert_family
Revises: i17b_calendar_video_link
Create Date: 2026-12-04 23:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i19_alert_family'
down_revision = 'i17b_calendar_video_link'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('families', sa.String(length=120), nullable=True))
        batch_op.create_check_constraint(op.f('ck_safety_alerts_level_valid'),
                                        "level IN ('concern', 'urgent')")


def downgrade():
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_safety_alerts_level_valid'), type_='check')
        batch_op.drop_column('families')
        batch_op.drop_column('level')
