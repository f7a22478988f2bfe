"""Request guards, response headers and session timeouts (the error pages: views/errors.py)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.routing import IntegerConverter

from models import utcnow, write_transaction
from program.accounts.sessions import end_session
from views.errors import init_error_pages

log = logging.getLogger("hearth")
#: how stale the session's last-seen time may get before the cookie is rewritten (seconds)
LAST_SEEN_STEP = 60

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


#: pages never cached even for the signed-out: signing in, two-factor, password reset
NO_STORE_BLUEPRINTS = {"auth", "two_factor"}


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # CR/LF would break the header
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded to what a database integer holds: a huge id is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)  # ids are 32-bit integers on PostgreSQL
        super().__init__(map, *args, **kwargs)


#: upload views marked here rather than with ``accepts_uploads`` (the admin's CSV of people to
#: invite, issue 14), with their file fields
UPLOAD_ENDPOINTS = {"admin.bulk_upload": frozenset({"file"})}


def accepts_uploads(*fields: str, limit: str = "MAX_UPLOAD_LENGTH"):
    """Mark a view (just under its route decorator) as taking file uploads in ``fields``: its
    requests may be up to the config value ``limit``; everywhere else a file part is refused."""

    def mark(view):
        view.upload_fields = frozenset(fields)
        view.upload_limit = limit
        return view

    return mark


def apply_request_limits():
    """Before any form is parsed: uploads may be larger, and only upload views take files
    (a text field sent as a file would reach a form as an object it cannot handle)."""
    config = current_app.config
    view = current_app.view_functions.get(request.endpoint)
    uploads = (getattr(view, "upload_fields", None)
               or UPLOAD_ENDPOINTS.get(request.endpoint or "", frozenset()))
    if uploads:
        request.max_content_length = config[getattr(view, "upload_limit", "MAX_UPLOAD_LENGTH")]
    if request.method != "POST":
        return
    if request.mimetype == "multipart/form-data" and set(request.files) - uploads:
        abort(400)
    if request.mimetype == "application/x-www-form-urlencoded":
        # Werkzeug counts the parts of multipart forms only; the body is cached for the
        # form parser, and within MAX_CONTENT_LENGTH (413 beyond it).
        if request.get_data(cache=True).count(b"&") >= config["MAX_FORM_PARTS"]:
            abort(413)


def refuse_nul_characters():
    """No honest form or link carries NUL, and PostgreSQL cannot store it in text."""
    values = [request.path, *(v for vs in request.args.listvalues() for v in vs)]
    if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values += [v for vs in request.form.listvalues() for v in vs]
    if any("\x00" in value for value in values):
        abort(400)


def enforce_session_timeouts():
    if not current_user.is_authenticated:
        return None
    now = utcnow().timestamp()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    started = session.get("signed_in_at", now)
    last_seen = session.get("last_seen", now)
    if now - last_seen > idle or now - started > absolute:
        with write_transaction():
            end_session(getattr(current_user, "sign_in_token", None))
        logout_user()
        session.clear()
        flash(_("You were signed out after a period of inactivity."), "info")
        return redirect(url_for("auth.sign_in", next=request.full_path))
    if now - last_seen >= LAST_SEEN_STEP or "last_seen" not in session:
        # Rewriting the cookie on every page costs a signature and a Set-Cookie header; a
        # minute's resolution is plenty for an idle limit counted in minutes.
        session["last_seen"] = now
    return None


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if "Cache-Control" not in headers and (
            current_user.is_authenticated or request.blueprint in NO_STORE_BLUEPRINTS):
        # pages of signed-in users hold health data; sign-in and reset pages hold an
        # address or a reset token (in the URL), and a shared computer keeps neither
        headers["Cache-Control"] = "no-store"
    return response


def init_security(app: Flask) -> None:
    """Bounded ids in URLs, the request guards, session timeouts, headers and error pages."""
    app.url_map.converters["int"] = IdConverter
    # First of all: CSRF protection and the sign-in limits read the form in their own hooks.
    app.before_request_funcs.setdefault(None, []).insert(0, apply_request_limits)
    app.before_request(refuse_nul_characters)
    app.before_request(enforce_session_timeouts)
    app.after_request(security_headers)
    init_error_pages(app)
