"""``/healthz`` says the process is alive; ``/readyz`` says it can serve: the database answers
and its schema is at the migrations' head. Otherwise 503 with JSON saying which."""

from __future__ import annotations

from flask_migrate import downgrade, stamp, upgrade
from sqlalchemy import text

from models import db
from tests.conftest import make_app
from tests.test_migration_data import HEAD, RELEASES
from tests.test_migrations import _fresh_database


def test_ready_only_at_the_migrations_head(database_url, tmp_path):
    app = make_app(_fresh_database(database_url, tmp_path))
    client = app.test_client()
    with app.app_context():
        upgrade()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json() == {"status": "ok", "database": "reachable",
                                    "migrations": [HEAD]}
        downgrade(revision=RELEASES[0])
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.get_json()["migrations"] == {"database": [RELEASES[0]], "code": [HEAD]}
        assert client.get("/healthz").status_code == 200  # alive all the same
        db.engine.dispose()


def _forget_migrations(app) -> None:
    """Drop Alembic's version table (on PostgreSQL the test schema is shared by the tests of
    a worker, so a stamp must not outlive its test)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_a_schema_never_migrated_is_not_ready(app, client):
    """The test schema is built from the models, without Alembic's version table."""
    _forget_migrations(app)
    try:
        assert client.get("/readyz").status_code == 503
        with app.app_context():
            stamp()
        assert client.get("/readyz").status_code == 200
    finally:
        _forget_migrations(app)


def test_unreachable_database_is_not_ready_but_alive(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'no-such-directory' / 'hearth.db'}")
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert response.headers["Retry-After"] == "5"
    assert client.get("/healthz").status_code == 200
