"""at most one open invitation per address and per participant record, held by partial unique
indexes (they replace the PostgreSQL advisory lock that put invitation writes in single file)

Revision ID: i21c_open_invitation_unique
Revises: i21b_applicant_token
Create Date: 2026-12-05 04:00:00

Any address or participant with more than one open invitation (only possible before the lock)
keeps its newest; the older ones are revoked, as a resend would have spent their links.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i21c_open_invitation_unique'
down_revision = 'i21b_applicant_token'
branch_labels = None
depends_on = None

OPEN = "used_at IS NULL AND revoked_at IS NULL"


def _revoke_older(column: str) -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    invitations = sa.table("invitations", sa.column("id"), sa.column(column),
                           sa.column("used_at"), sa.column("revoked_at",
                                                           sa.DateTime(timezone=True)))
    newest = (sa.select(sa.func.max(invitations.c.id)).where(sa.text(OPEN))
              .group_by(invitations.c[column]))
    bind.execute(invitations.update()
                 .where(sa.text(OPEN), invitations.c[column].is_not(None),
                        invitations.c.id.not_in(newest))
                 .values(revoked_at=now))


def upgrade():
    _revoke_older("email")
    _revoke_older("participant_id")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('uq_invitations_open_email', ['email'], unique=True,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('uq_invitations_open_participant', ['participant_id'],
                              unique=True, postgresql_where=sa.text(OPEN),
                              sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('uq_invitations_open_participant')
        batch_op.drop_index('uq_invitations_open_email')
