"""Response headers, session timeouts and error pages."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.routing import IntegerConverter

from models import db, utcnow, write_transaction
from models.base import is_unique_violation
from program.accounts.sessions import end_session
from views.extensions import login_manager

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


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded to what a database integer holds: a huge id is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)  # ids are 32-bit integers on PostgreSQL
        super().__init__(map, *args, **kwargs)


#: upload views marked here rather than with ``accepts_uploads`` (the admin's CSV of people to
#: invite, issue 14), with their file fields
UPLOAD_ENDPOINTS = {"admin.bulk_upload": frozenset({"file"})}


def accepts_uploads(*fields: str):
    """Mark a view (just under its route decorator) as taking file uploads in ``fields``: its
    requests may be up to ``MAX_UPLOAD_LENGTH``; everywhere else a file part is refused."""

    def mark(view):
        view.upload_fields = frozenset(fields)
        return view

    return mark


def init_security(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter

    def apply_request_limits():
        """Before any form is parsed: uploads may be larger, and only upload views take files
        (a text field sent as a file would reach a form as an object it cannot handle)."""
        view = app.view_functions.get(request.endpoint)
        uploads = (getattr(view, "upload_fields", None)
                   or UPLOAD_ENDPOINTS.get(request.endpoint or "", frozenset()))
        if uploads:
            request.max_content_length = app.config["MAX_UPLOAD_LENGTH"]
        if request.method != "POST":
            return
        if request.mimetype == "multipart/form-data" and set(request.files) - uploads:
            abort(400)
        if request.mimetype == "application/x-www-form-urlencoded":
            # Werkzeug counts the parts of multipart forms only; the body is cached for the
            # form parser, and within MAX_CONTENT_LENGTH (413 beyond it).
            if request.get_data(cache=True).count(b"&") >= app.config["MAX_FORM_PARTS"]:
                abort(413)

    # First of all: CSRF protection and the sign-in limits read the form in their own hooks.
    app.before_request_funcs.setdefault(None, []).insert(0, apply_request_limits)

    @app.before_request
    def refuse_nul_characters():
        """No honest form or link carries NUL, and PostgreSQL cannot store it in text."""
        values = [request.path, *(v for vs in request.args.listvalues() for v in vs)]
        if request.method == "POST" and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            values += [v for vs in request.form.listvalues() for v in vs]
        if any("\x00" in value for value in values):
            abort(400)

    @app.before_request
    def enforce_session_timeouts():
        if not current_user.is_authenticated:
            return None
        now = utcnow().timestamp()
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
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

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if "Cache-Control" not in headers and (
                current_user.is_authenticated or request.blueprint in NO_STORE_BLUEPRINTS):
            # pages of signed-in users hold health data; sign-in and reset pages hold an
            # address or a reset token (in the URL), and a shared computer keeps neither
            headers["Cache-Control"] = "no-store"
        return response

    def error_page(status: int, title: str, message: str):
        if _wants_json():
            return jsonify(error=title, message=message), status
        return render_template("errors/error.html", status=status, title=title,
                               message=message), status

    @app.errorhandler(400)
    def bad_request(_e):
        return error_page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(CSRFError)
    def csrf_failed(_e):
        return error_page(400, _("Form expired"),
                          _("This form was open too long or came from elsewhere. "
                            "Please go back, reload the page and try again."))

    @app.errorhandler(403)
    def forbidden(_e):
        return error_page(403, _("Not allowed"),
                          _("Your account does not have access to this page."))

    @app.errorhandler(404)
    def not_found(_e):
        return error_page(404, _("Not found"), _("There is no page at this address."))

    @app.errorhandler(405)
    def method_not_allowed(_e):
        return error_page(405, _("Not allowed"), _("This address does not accept that request."))

    @app.errorhandler(413)
    def too_large(_e):
        return error_page(413, _("Too large"),
                          _("What you sent is larger than this page accepts."))

    @app.errorhandler(429)
    def too_many(_e):
        return error_page(429, _("Too many attempts"),
                          _("Too many attempts. Please wait a few minutes and try again."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(e):
        db.session.rollback()
        # The page must not reach for the database again (loading or refreshing the signed-in
        # user would raise inside this handler and turn the retry page into a 500).
        g._login_user = login_manager.anonymous_user()
        log.warning("database error: %s", type(e.orig).__name__ if hasattr(e, "orig") else e)
        response = make_response(*error_page(
            503, _("Please try again"),
            _("Hearth could not reach its database just now. Nothing you sent "
              "was saved; please try again in a moment.")))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(IntegrityError)
    def conflict(e):
        if not is_unique_violation(e):
            return database_unavailable(e)
        db.session.rollback()
        g._login_user = login_manager.anonymous_user()
        log.info("unique key conflict answered 409")
        return error_page(409, _("Already done"),
                          _("This was already done, perhaps by a second click. "
                            "Nothing more was changed; please reload the page."))

    @app.errorhandler(500)
    def server_error(_e):
        return error_page(500, _("Something went wrong"),
                          _("Something went wrong on our side. Please try again."))
