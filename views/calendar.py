"""Private iCalendar feeds at a token URL, for participants and facilitators."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import select

from models import User, db, utcnow
from program.courses import ical
from views.access import public
from views.extensions import limiter

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@bp.get("/<token>.ics")
@public
@limiter.limit("60 per minute")
def feed(token: str):
    """The calendar of the account holding this private token (404 for any other token)."""
    if not 16 <= len(token) <= 64:
        abort(404)
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.active:
        abort(404)
    host = urlsplit(current_app.config.get("BASE_URL") or "").hostname or "hearth"
    body = ical.feed(user, utcnow(), host=host)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="hearth.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
