"""The audit log is append-only in the database: no UPDATE or DELETE gets through, whether a
bulk statement through the app's session or plain SQL, on a created or a migrated schema."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from models import AuditEntry, db
from program.core import audit
from program.core.audit import AuditAction
from tests.conftest import fresh_postgres_database, make_app
from tests.factories import gen_user


def _one_entry() -> int:
    user = gen_user("admin")
    audit.record(AuditAction.SIGN_IN, user, actor=user)
    db.session.commit()
    return db.session.scalar(select(AuditEntry.id))


TAMPERING = [
    update(AuditEntry).values(action="auth.sign_out"),
    update(AuditEntry).values(actor_id=None),
    delete(AuditEntry),
    text("UPDATE audit_entries SET ip = '10.0.0.1'"),
    text("DELETE FROM audit_entries"),
]


@pytest.mark.parametrize("statement", TAMPERING, ids=lambda s: str(s).split()[0])
def test_the_database_refuses_to_change_or_delete_audit_entries(app, statement):
    entry_id = _one_entry()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(statement)
    db.session.rollback()
    entry = db.session.get(AuditEntry, entry_id)
    assert entry.action == "auth.sign_in" and entry.actor_id is not None and entry.ip is None


def test_new_entries_are_still_written(app):
    _one_entry()
    _one_entry()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_a_migrated_database_refuses_too(database_url, tmp_path):
    if database_url == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        base = make_url(database_url)
        url = fresh_postgres_database(base, f"{base.database}_audit_migrated")
    app = make_app(url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            conn.execute(text("INSERT INTO audit_entries (at, action, details) "
                              "VALUES (CURRENT_TIMESTAMP, 'auth.sign_in', '{}')"))
            conn.commit()
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text("DELETE FROM audit_entries"))
            conn.rollback()
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text("UPDATE audit_entries SET action = 'x'"))
            conn.rollback()
            assert conn.scalar(text("SELECT count(*) FROM audit_entries")) == 1
        db.engine.dispose()
