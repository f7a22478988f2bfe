"""The role check every view goes through."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from views.extensions import login_manager


def role_required(*roles: str):
    """Signed-out visitors go to sign-in; signed-in users of another role get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles  # read by the authorisation matrix test
        return wrapper

    return decorate


def public(view):
    """Mark a view that needs no sign-in (sign-in pages, token links); checked by tests."""
    view.allowed_roles = ("*",)
    return view
