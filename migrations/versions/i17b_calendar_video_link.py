"""the calendar feed carries the video link only when the user opts in

Revision ID: i17b_calendar_video_link
Revises: i17_audit_append_only
Create Date: 2026-12-04 23:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i17b_calendar_video_link'
down_revision = 'i17_audit_append_only'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: rebuilding ``users`` on SQLite would drop the old table,
# whose foreign-key action (SET NULL on audit_entries.actor_id) the append-only audit log
# refuses.
def upgrade():
    op.add_column('users', sa.Column('calendar_video_link', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade():
    op.drop_column('users', 'calendar_video_link')
