"""guided-practice recordings per study, practice and language

Revision ID: i18b_practice_recordings
Revises: i14b_characteristics
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i18b_practice_recordings'
down_revision = 'i14b_characteristics'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'practice_recordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('practice_key', sa.String(length=80), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id', 'practice_key', 'language'),
    )


def downgrade():
    op.drop_table('practice_recordings')
