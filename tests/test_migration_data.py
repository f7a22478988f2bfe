"""Migrations keep the data: a seeded database survives a downgrade and upgrade round trip,
and a database filled at every earlier release head upgrades to today's head intact.

A batch migration on SQLite rebuilds a table (copy, DROP, rename); with foreign keys on, the
DROP fires the ON DELETE rules of every table pointing at it, so one downgrade used to empty
memberships, study staff and facilitators and unlink participants, post authors and audit
actors. ``migrations/env.py`` turns foreign keys off around the migration and checks them after.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, func, select, text

from models import db
from program import demo
from tests.conftest import make_app
from tests.test_migrations import _fresh_database

#: the release heads on main, oldest first (``flask db history``); add each release's head
RELEASES = ["49044f5a57e1", "b0b0a444e7c7", "75cc1bb41e54", "8dbeed8cbf17"]


def _script_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parents[1] / "migrations"))
    [head] = ScriptDirectory.from_config(config).get_heads()
    return head


#: today's head: the newest migration in the repository
HEAD = _script_head()

#: every migration released on main, by file, with the SHA-256 of its text: a released
#: migration is never renamed or edited (a database upgraded with the old text would differ
#: from one upgraded with the new). Add each new release's files here.
RELEASED = {
    "49044f5a57e1_initial_schema.py":
        "62c8b443a425712806822f64616bd2b69e383e5773a6cab5dc8a0a10afd0f797",
    "b0b0a444e7c7_sign_in_sessions.py":
        "145640aa3cb6318ae6411a185ee72523c0190618ef489ded8a0776cd5222b337",
    "75cc1bb41e54_two_factor.py":
        "51490d2012cbe8cd05945734796d3aa25c8d6e409e41b3af5f69e6bb68a29fb2",
    "8dbeed8cbf17_outbox_messages_carry_an_html_part.py":
        "e4912c45d85f2e2413c2d30fc4799e56307419d9107c7014436e65e99af18cf3",
}


def test_released_migrations_are_never_renamed_or_edited():
    versions = Path(__file__).parents[1] / "migrations" / "versions"
    found = {name: hashlib.sha256((versions / name).read_bytes()).hexdigest()
             for name in RELEASED if (versions / name).exists()}
    assert found == RELEASED
    assert [name.split("_")[0] for name in RELEASED] == RELEASES

#: links a rebuild used to cut: (table, column) that must keep their values
LINKS = [("group_memberships", "user_id"), ("study_staff", "user_id"),
         ("cohort_facilitators", "user_id"), ("participants", "user_id"),
         ("posts", "author_id"), ("audit_entries", "actor_id")]


def _snapshot(columns_of: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every table, in the columns the older schema also has."""
    reflected = MetaData()
    reflected.reflect(db.engine)
    rows = {}
    with db.engine.connect() as conn:
        for name, columns in columns_of.items():
            table = reflected.tables[name]
            query = select(*[table.c[c] for c in columns])
            rows[name] = sorted((tuple(r) for r in conn.execute(query)), key=repr)
    return rows


def _columns() -> dict[str, list[str]]:
    reflected = MetaData()
    reflected.reflect(db.engine)
    return {name: sorted(c.name for c in table.columns)
            for name, table in reflected.tables.items() if name != "alembic_version"}


def _linked(table: str, column: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")
                            ).scalar()


def _audit_actors() -> None:
    """The seed records no actors; staff acting in the app do."""
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_entries (at, actor_id, action, object_type, object_id, details) "
            "SELECT :at, id, 'user.signed_in', 'user', id, '{}' FROM users"),
            {"at": "2026-11-01 09:00:00"})


@pytest.mark.parametrize("lowest", [r for r in RELEASES if r != HEAD])
def test_seeded_database_survives_downgrade_and_upgrade(database_url, tmp_path, lowest):
    app = make_app(_fresh_database(database_url, tmp_path))
    with app.app_context():
        upgrade()
        demo.seed(app.config["DEMO_PASSWORD"])
        _audit_actors()
        db.session.remove()
        before_links = {link: _linked(*link) for link in LINKS}
        assert all(before_links.values()), before_links  # the seed fills every link

        downgrade(revision=lowest)
        kept = _columns()
        at_lowest = _snapshot(kept)
        upgrade()
        after = _snapshot(kept)

        assert {link: _linked(*link) for link in LINKS} == before_links
        for table, rows in at_lowest.items():
            assert after[table] == rows, f"{table} changed in the round trip"
        assert sum(len(r) for r in after.values()) > 100
        db.engine.dispose()


def test_a_migration_that_breaks_a_foreign_key_fails_loudly(tmp_path):
    """After the migration SQLite's foreign_key_check runs: a dangling row stops it."""
    app = make_app(f"sqlite:///{tmp_path / 'dangling.db'}")
    with app.app_context():
        upgrade(revision="75cc1bb41e54")
        raw = db.engine.raw_connection()  # autocommit: the pragma works outside BEGIN
        raw.driver_connection.execute("PRAGMA foreign_keys = OFF")
        raw.driver_connection.execute(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) "
            "VALUES (999, 'x', '2026-01-01 00:00:00')")
        raw.driver_connection.execute("PRAGMA foreign_keys = ON")
        raw.close()
        with pytest.raises(SystemExit):  # flask-migrate logs the RuntimeError and exits 1
            upgrade()
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert conn.execute(select(func.count()).select_from(text("recovery_codes"))
                                ).scalar() == 1
        assert version == "75cc1bb41e54"  # rolled back
        db.engine.dispose()


def _fresh(database_url: str, tmp_path, name: str) -> str:
    if database_url == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    from sqlalchemy.engine import make_url

    from tests.conftest import fresh_postgres_database
    url = make_url(database_url)
    return fresh_postgres_database(url, f"{url.database}_{name}")


def _rows(engine, tables) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(*t.columns))), key=repr)
                for t in tables}


@pytest.mark.parametrize("release", [r for r in RELEASES if r != HEAD])
def test_a_database_filled_at_an_earlier_release_upgrades_to_head_intact(
        database_url, tmp_path, release):
    """Filled at ``release`` itself (its own schema, rows copied in from a seeded database, no
    downgrade involved), then upgraded to today's head: every row and value is still there."""
    from sqlalchemy import create_engine

    source_app = make_app(_fresh(database_url, tmp_path, "seeded"))
    with source_app.app_context():
        upgrade()
        demo.seed(source_app.config["DEMO_PASSWORD"])
        _audit_actors()
        db.session.remove()
        source_url = db.engine.url
    source = create_engine(source_url)
    app = make_app(_fresh(database_url, tmp_path, f"at_{release}"))
    with app.app_context():
        upgrade(revision=release)
        old = MetaData()
        old.reflect(db.engine)
        current = MetaData()
        current.reflect(source)
        tables = [t for t in old.sorted_tables if t.name != "alembic_version"]
        copied = {}
        with source.connect() as src, db.engine.begin() as dst:
            for table in tables:
                names = [c.name for c in table.columns]
                rows = [dict(r._mapping) for r in src.execute(
                    select(*[current.tables[table.name].c[n] for n in names]))]
                if rows:
                    dst.execute(table.insert(), rows)
                copied[table.name] = len(rows)
        filled = _rows(db.engine, tables)
        assert sum(copied.values()) > 100

        upgrade()

        assert _rows(db.engine, tables) == filled
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        db.engine.dispose()
    source.dispose()
    if database_url != "sqlite":  # the two scratch databases of this test
        from benchmarks._server import drop_database

        drop_database(source_url.render_as_string(hide_password=False))
        drop_database(app.config["SQLALCHEMY_DATABASE_URI"])
