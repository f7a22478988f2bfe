"""online applications: a study may accept them; an applicant's contact address and consent

Revision ID: i14c_applications
Revises: i14c_cohort_roles
Create Date: 2026-12-04 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i14c_applications'
down_revision = 'i14c_cohort_roles'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepts_applications', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'online_applications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('screened_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('consented_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('consent_version', sa.String(length=40), nullable=True),
        sa.Column('consent_copy', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('participant_id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('online_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_online_applications_study_id'), ['study_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('online_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_online_applications_study_id'))
    op.drop_table('online_applications')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_column('accepts_applications')
