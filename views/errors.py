"""Error pages: one template for people, JSON for API callers; database failures answered
without reaching for the database again."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from models import db
from models.base import is_unique_violation
from views.extensions import login_manager

log = logging.getLogger("hearth")

#: status (or exception) -> title and message of its page
PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    CSRFError: (_l("Form expired"), _l("This form was open too long or came from elsewhere. "
                                       "Please go back, reload the page and try again.")),
    403: (_l("Not allowed"), _l("Your account does not have access to this page.")),
    404: (_l("Not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This address does not accept that request.")),
    413: (_l("Too large"), _l("What you sent is larger than this page accepts.")),
    429: (_l("Too many attempts"),
          _l("Too many attempts. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("Something went wrong on our side. Please try again.")),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_page(status: int, title, message):
    if _wants_json():
        return jsonify(error=str(title), message=str(message)), status
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


def _page_for(key):
    status = 400 if key is CSRFError else key
    title, message = PAGES[key]

    def handler(_e):
        return error_page(status, title, message)

    return handler


def _forget_user() -> None:
    """After a database error the page must not load or refresh the signed-in user (that
    would raise inside the handler and turn the answer into a 500)."""
    db.session.rollback()
    g._login_user = login_manager.anonymous_user()


def database_unavailable(e):
    _forget_user()
    log.warning("database error: %s", type(e.orig).__name__ if hasattr(e, "orig") else e)
    response = make_response(*error_page(
        503, _l("Please try again"),
        _l("Hearth could not reach its database just now. Nothing you sent "
           "was saved; please try again in a moment.")))
    response.headers["Retry-After"] = "5"
    return response


def conflict(e):
    """A unique key the database refused: the same thing done twice, answered 409."""
    if not is_unique_violation(e):
        return database_unavailable(e)
    _forget_user()
    log.info("unique key conflict answered 409")
    return error_page(409, _l("Already done"),
                      _l("This was already done, perhaps by a second click. "
                         "Nothing more was changed; please reload the page."))


def init_error_pages(app: Flask) -> None:
    for key in PAGES:
        app.register_error_handler(key, _page_for(key))
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(DBAPIError, database_unavailable)
    app.register_error_handler(IntegrityError, conflict)
