"""an applicant added by hand carries the submission token of its form (a double click adds
one applicant)

Revision ID: i21b_applicant_token
Revises: i19b_crisis_contacts
Create Date: 2026-12-05 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i21b_applicant_token'
down_revision = 'i19b_crisis_contacts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            'uq_participants_study_id_submission_token', ['study_id', 'submission_token'])


def downgrade():
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_constraint('uq_participants_study_id_submission_token', type_='unique')
        batch_op.drop_column('submission_token')
