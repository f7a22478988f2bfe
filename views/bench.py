"""The load test's floor: a bare endpoint that reads one row with SQLAlchemy.

The blueprint exists only when the process starts with ``HEARTH_BENCH=1`` (the load script sets
it for its gunicorn), so a production app has no such route. Every page of the load test is
reported as a ratio to this endpoint's throughput, measured on the same server in the same run.
"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from models import User, db
from views.access import public

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.get("/floor")
@public
def floor():
    """One row read through SQLAlchemy and a tiny JSON answer (no template, no sign-in)."""
    user = db.session.scalar(select(User).order_by(User.id).limit(1))
    return {"id": user.id if user else None}

