"""Blueprints, one per audience, each behind ``role_required``.

Every module of this package that defines ``bp`` (a Blueprint) is registered, and every one
that defines ``cli_group`` (a click group) is added to the ``flask`` command.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask, redirect, url_for
from flask_login import current_user


def _modules():
    import views

    for info in sorted(pkgutil.iter_modules(views.__path__), key=lambda m: m.name):
        yield importlib.import_module(f"views.{info.name}")


def register_blueprints(app: Flask) -> None:
    from views import auth, navigation
    from views.decorators import public

    for module in _modules():
        if isinstance(getattr(module, "bp", None), Blueprint):
            app.register_blueprint(module.bp)

    @app.context_processor
    def template_helpers():
        from flask_babel import get_locale

        def nav_links():
            return navigation.links(current_user.role) if current_user.is_authenticated else []

        return {"nav_links": nav_links, "current_locale": lambda: str(get_locale() or "en")}

    @app.get("/")
    @public
    def index():
        """Send visitors to their role's home, or to sign-in."""
        if current_user.is_authenticated:
            return redirect(auth.home_url(current_user))
        return redirect(url_for("auth.sign_in"))

    @app.get("/healthz")
    @public
    def healthz():
        """Liveness probe for load balancers (no database access)."""
        return {"status": "ok"}


def register_cli(app: Flask) -> None:
    for module in _modules():
        group = getattr(module, "cli_group", None)
        if group is not None:
            app.cli.add_command(group)
