"""Flask extensions, created unbound here and bound to each app in ``init_extensions``."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models import db

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
    """The user's own setting, then the browser's preference."""
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


def init_extensions(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), compare_type=True,
                     render_as_batch=True)
    limiter.init_app(app)
