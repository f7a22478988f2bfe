"""the audit log is append-only in the database: triggers refuse UPDATE and DELETE

Also removes the text of posts whose author asked for data removal before removal cleared it
(they kept their words under "a former member").

Revision ID: i17_audit_append_only
Revises: i21a_adverse_event_token
Create Date: 2026-12-04 23:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'i17_audit_append_only'
down_revision = 'i21a_adverse_event_token'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
]
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit entries are append-only' "
    "USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
]


REMOVED_TEXT = "Removed at the participant's request."


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(sa.text(
        "UPDATE posts SET body = :text, body_html = :html, submission_token = NULL, "
        "title = CASE WHEN title IS NULL THEN NULL ELSE :text END WHERE author_removed = :yes"
    ).bindparams(text=REMOVED_TEXT, html=f"<p>{REMOVED_TEXT}</p>", yes=True))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
