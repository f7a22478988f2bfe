"""cohort facilitators have a role (lead therapist, co-therapist, teacher, group leader,
assistant coach)

Revision ID: i14c_cohort_roles
Revises: i14a_invitations
Create Date: 2026-12-04 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i14c_cohort_roles'
down_revision = 'i14a_invitations'
branch_labels = None
depends_on = None

ROLES = ("lead_therapist", "co_therapist", "teacher", "group_leader", "assistant_coach")


def upgrade():
    with op.batch_alter_table('cohort_facilitators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=20), nullable=False,
                                      server_default='co_therapist'))
    # existing rows: the lead of a CFT cohort is its lead therapist, of an MSC cohort its
    # teacher; the others of an MSC cohort are assistant coaches
    op.execute("UPDATE cohort_facilitators SET role = CASE "
               "WHEN (SELECT program FROM cohorts WHERE cohorts.id = cohort_id) = 'msc' "
               "THEN CASE WHEN is_lead THEN 'teacher' ELSE 'assistant_coach' END "
               "ELSE CASE WHEN is_lead THEN 'lead_therapist' ELSE 'co_therapist' END END")
    with op.batch_alter_table('cohort_facilitators', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'facilitator_role_valid', "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")")


def downgrade():
    with op.batch_alter_table('cohort_facilitators', schema=None) as batch_op:
        batch_op.drop_constraint('facilitator_role_valid', type_='check')
        batch_op.drop_column('role')
