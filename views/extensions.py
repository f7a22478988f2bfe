"""Flask extensions, created unbound here and bound to each app in ``init_extensions``."""

from __future__ import annotations

import logging
from functools import cached_property, lru_cache
from urllib.parse import urlsplit

from babel import support
from flask import Flask, Request, current_app, has_request_context, request
from flask_babel import Babel, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from wtforms.i18n import messages_path

from models import db
from program.accounts.sessions import load_user
from views.logs import init_logging

log = logging.getLogger("hearth")
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
migrate = Migrate()
limiter = Limiter(
    key_func=get_remote_address,
    in_memory_fallback_enabled=True,  # the app keeps running when Redis is away
    headers_enabled=False,
)


def select_locale() -> str | None:
    """The user's own setting, then the browser's preference (the default language outside a
    request: commands and jobs)."""
    if not has_request_context():
        return None
    supported = current_app.config["SUPPORTED_LOCALES"]
    if current_user and current_user.is_authenticated and current_user.locale in supported:
        return current_user.locale
    from flask import session

    if session.get("locale") in supported:
        return session["locale"]
    return request.accept_languages.best_match(supported)


def select_timezone() -> str | None:
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return None


class HearthRequest(Request):
    """Flask's request, with WTForms' own messages ("This field is required.") in the page's
    language loaded once per process: Flask-WTF looks for them on the request and would
    otherwise read the catalogue from disk on every request that builds a form."""

    @cached_property
    def wtforms_translations(self) -> support.Translations:
        return _wtforms_translations(str(get_locale()))


@lru_cache(maxsize=8)
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def init_extensions(app: Flask) -> None:
    app.request_class = HearthRequest
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.sign_in"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), compare_type=True,
                     render_as_batch=True)
    limiter.init_app(app)
    init_logging(app)
    log_rate_limit_store(app)


def log_rate_limit_store(app: Flask) -> None:
    """Say at start-up which store holds the rate limits and whether it answered (its
    address without credentials)."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    parts = urlsplit(uri)
    if parts.scheme == "memory":
        log.info("rate limits: in-memory store (each worker process counts on its own)")
        return
    where = f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
    try:
        reachable = bool(limiter.storage.check())
    except Exception:  # noqa: BLE001 - any failure to answer means unreachable
        reachable = False
    if reachable:
        log.info("rate limits: store %s reachable", where)
    else:
        log.warning("rate limits: store %s NOT reachable; each worker counts in memory until "
                    "it answers", where)
