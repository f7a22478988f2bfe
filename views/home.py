"""The site's root: send each visitor to their role's home; the liveness and readiness
probes."""

from __future__ import annotations

import logging
from functools import lru_cache

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, redirect, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from models import db
from views.access import public
from views.navigation import home_url

bp = Blueprint("home", __name__)
log = logging.getLogger("hearth")


@bp.get("/")
@public
def index():
    """Send visitors to their role's home, or to sign-in."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.sign_in"))


@bp.get("/healthz")
@public
def healthz():
    """Liveness probe for load balancers (no database access)."""
    return {"status": "ok"}


@lru_cache(maxsize=4)
def _migration_heads(directory: str) -> frozenset[str]:
    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@bp.get("/readyz")
@public
def readyz():
    """Readiness probe: 200 when the database answers and its schema is at the migrations'
    head, else 503 (the proxy or orchestrator sends no traffic here yet)."""
    heads = _migration_heads(current_app.extensions["migrate"].directory)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        log.warning("readyz: database unreachable (%s)", type(exc).__name__)
        return {"status": "unavailable", "database": "unreachable"}, 503, {"Retry-After": "5"}
    if current != heads:
        return {"status": "unavailable", "database": "reachable",
                "migrations": {"database": sorted(current), "code": sorted(heads)}}, 503
    return {"status": "ok", "database": "reachable", "migrations": sorted(heads)}
