"""crisis contacts by country, per study; cohorts name their country

Revision ID: i19b_crisis_contacts
Revises: i15c_safety_hold
Create Date: 2026-12-05 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'i19b_crisis_contacts'
down_revision = 'i15c_safety_hold'
branch_labels = None
depends_on = None

#: existing cohorts get the country their time zone most likely means (as models.cohorts does)
ZONE_COUNTRIES = {
    "Asia/Tokyo": "JP", "Japan": "JP",
    "Asia/Shanghai": "CN", "Asia/Chongqing": "CN", "Asia/Chungking": "CN", "Asia/Harbin": "CN",
    "Asia/Urumqi": "CN", "Asia/Kashgar": "CN", "PRC": "CN",
    "Asia/Hong_Kong": "HK", "Asia/Macau": "MO", "Asia/Taipei": "TW", "Asia/Seoul": "KR",
    "Asia/Singapore": "SG",
    "Europe/London": "GB", "Europe/Belfast": "GB", "GB": "GB",
    "America/New_York": "US", "America/Chicago": "US", "America/Denver": "US",
    "America/Phoenix": "US", "America/Los_Angeles": "US", "America/Anchorage": "US",
    "Pacific/Honolulu": "US", "US/Eastern": "US", "US/Central": "US", "US/Mountain": "US",
    "US/Pacific": "US",
}


def upgrade():
    op.create_table(
        'crisis_contacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('always_open', sa.Boolean(), nullable=False),
        sa.Column('opens_at', sa.Time(), nullable=True),
        sa.Column('closes_at', sa.Time(), nullable=True),
        sa.Column('languages', sa.String(length=60), nullable=False),
        sa.Column('free', sa.Boolean(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('emergency', 'ambulance', 'police', 'crisis_line', "
                           "'mental_health_line')",
                           name=op.f('ck_crisis_contacts_crisis_contact_kind_valid')),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id'],
                                name=op.f('fk_crisis_contacts_study_id_studies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_crisis_contacts')),
        sa.UniqueConstraint('study_id', 'country', 'number',
                            name=op.f('uq_crisis_contacts_study_id_country_number')),
    )
    with op.batch_alter_table('crisis_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crisis_contacts_study_id'), ['study_id'],
                              unique=False)

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
    cohorts = sa.table('cohorts', sa.column('timezone', sa.String), sa.column('country', sa.String))
    for zone, country in ZONE_COUNTRIES.items():
        op.execute(cohorts.update().where(cohorts.c.timezone == zone).values(country=country))
    op.execute(cohorts.update().where(cohorts.c.country.is_(None)).values(country='ZZ'))
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.alter_column('country', existing_type=sa.String(length=2), nullable=False)


def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('country')
    with op.batch_alter_table('crisis_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crisis_contacts_study_id'))
    op.drop_table('crisis_contacts')
