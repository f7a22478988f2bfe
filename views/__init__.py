"""Blueprints, one per audience, each behind ``role_required``."""

from __future__ import annotations

from flask import Flask, redirect, url_for
from flask_login import current_user


def register_blueprints(app: Flask) -> None:
    from views import admin, auth, facilitator, participant, rater, researcher
    from views.decorators import public

    for module in (auth, participant, facilitator, rater, researcher, admin):
        app.register_blueprint(module.bp)

    @app.get("/")
    @public
    def index():
        """Send visitors to their role's home, or to sign-in."""
        if current_user.is_authenticated:
            return redirect(auth.home_url(current_user))
        return redirect(url_for("auth.sign_in"))

    @app.context_processor
    def navigation():
        from flask_babel import get_locale

        return {"nav_links": _nav_links, "current_locale": lambda: str(get_locale() or "en")}

    @app.get("/healthz")
    @public
    def healthz():
        """Liveness probe for load balancers (no database access)."""
        return {"status": "ok"}


def _nav_links() -> list[tuple[str, str]]:
    """Navigation of the signed-in user's area; the areas add their pages here."""
    from flask_babel import gettext as _

    role = current_user.role
    links = {
        "participant": [("participant.dashboard", _("This week"))],
        "facilitator": [("facilitator.home", _("Cohorts"))],
        "rater": [("rater.home", _("Ratings"))],
        "researcher": [("researcher.home", _("Studies"))],
        "admin": [("admin.home", _("Administration"))],
    }
    return links.get(role, [])
