"""The site's root: send each visitor to their role's home; the liveness probe."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from views.access import public
from views.navigation import home_url

bp = Blueprint("home", __name__)


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
