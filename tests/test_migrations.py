"""`flask db upgrade` builds the schema from nothing, and it matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from models import db
from tests.conftest import fresh_postgres_database, make_app


def _fresh_database(database_url: str, tmp_path) -> str:
    if database_url == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    url = make_url(database_url)
    return fresh_postgres_database(url, f"{url.database}_migrations")


def test_migrations_build_the_models_schema(database_url, tmp_path):
    app = make_app(_fresh_database(database_url, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
