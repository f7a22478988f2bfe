"""Shared fixtures: an app per test on SQLite (in memory) or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ.setdefault("HEARTH_FAST_PASSWORD_HASHES", "1")

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from models import db

PASSWORD = "correct horse battery"

# CI (HYPOTHESIS_PROFILE=ci, set by .ci/run) tries the same generated examples on every run: a
# red CI blocks a landing, so a rare input it happened upon would block unrelated work. Local
# runs keep drawing new examples, and whatever they find is kept as an explicit example.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """Compile the interface catalogues when missing or older than their .po (what
    ``make translations`` does), so a plain ``pytest`` runs without ``make``."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        # Written aside and renamed: pytest-xdist workers may compile at the same time.
        partial = mo.with_name(f"messages.{os.getpid()}.mo")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql")) else None


def _worker_database(url: str, worker: str, run: str) -> str:
    """One PostgreSQL database per xdist worker and test run, created fresh."""
    base = make_url(url.replace("postgres://", "postgresql://", 1))
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    return fresh_postgres_database(base, f"{base.database}_{run[:8]}_{worker}")


def fresh_postgres_database(url, name: str) -> str:
    """(Re)create an empty PostgreSQL database ``name`` on the server of ``url``."""
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(worker_id, testrun_uid):
    """The PostgreSQL database of this worker, or ``sqlite`` (a file per test, see ``app``)."""
    url = _postgres_url()
    if url is None:
        yield "sqlite"
        return
    database = _worker_database(url, worker_id, testrun_uid)
    yield database
    admin = create_engine(make_url(database).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database).database}" WITH (FORCE)'))
    admin.dispose()


class HearthTestClient(FlaskClient):
    """A client whose every request runs in its own app context, as in production.

    The test's own session commits first (so the request sees the test's data and the test
    holds no stale snapshot), and its objects are expired afterwards (so the test sees what
    the request wrote).
    """

    def open(self, *args, **kwargs):
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def postgres_schema(database_url):
    """On PostgreSQL the schema is built once per worker; tests truncate what they wrote."""
    if database_url == "sqlite":
        yield None
        return
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield database_url


def make_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "memory",
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "hearth.test",
        "BASE_URL": "http://hearth.test",
        # Most tests sign staff in with a password alone; tests/test_two_factor.py covers the
        # "required" policy (the production default) explicitly.
        "STAFF_TWO_FACTOR": "optional",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app_config() -> dict:
    """Override to change an individual test's app configuration."""
    return {}


@pytest.fixture
def app(database_url, postgres_schema, app_config, tmp_path):
    if database_url == "sqlite":
        # A real file, so requests and the test use separate connections and transactions.
        database_url = f"sqlite:///{tmp_path / 'hearth-test.db'}"
    app = make_app(database_url, **app_config)
    app.test_client_class = HearthTestClient
    with app.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
        yield app
        db.session.remove()
        if database_url.startswith("postgresql"):
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path: str = "/auth/sign-in") -> str:
    """Read a CSRF token from a page (every page's language form carries one)."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict | None = None, *, token_from: str | None = None,
              **kwargs):
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from or path))
    return client.post(path, data=data, **kwargs)


def sign_in(client, user, password: str = PASSWORD):
    response = post_form(client, "/auth/sign-in", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def as_user(client):
    """Sign the test client in as a user: ``as_user(user)``."""

    def _sign_in(user):
        sign_in(client, user)
        return client

    return _sign_in
