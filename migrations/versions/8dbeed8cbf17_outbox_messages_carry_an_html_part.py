"""outbox messages carry an HTML part

Revision ID: 8dbeed8cbf17
Revises: 75cc1bb41e54
Create Date: 2026-12-04 19:58:39.579986

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8dbeed8cbf17'
down_revision = '75cc1bb41e54'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('body_html')

