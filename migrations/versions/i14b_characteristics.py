"""baseline characteristics per study, consent versions with their information sheet,
licensed instrument wording in the database

Revision ID: i14b_characteristics
Revises: i15b_contact_log
Create Date: 2026-12-04 23:00:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i14b_characteristics'
down_revision = 'i15b_contact_log'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_characteristics', sa.JSON(), nullable=True))
    op.create_table(
        'consent_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('sheet_text', sa.Text(), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('file_type', sa.String(length=100), nullable=True),
        sa.Column('file_data', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id', 'version'),
    )
    op.create_table(
        'instrument_wordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('instrument', sa.String(length=40), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('wording', sa.Text(), nullable=False),
        sa.Column('uploaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id', 'instrument', 'language'),
    )


def downgrade():
    op.drop_table('instrument_wordings')
    op.drop_table('consent_versions')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_column('baseline_characteristics')
