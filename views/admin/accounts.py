"""Changing an account's role (audited; never one's own)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models.people import Role
from program.accounts.directory import AccountError, change_role
from views.access import role_required
from views.admin import bp
from views.admin.forms import RoleForm


@bp.post("/users/<int:user_id>/role")
@role_required("admin")
def set_role(user_id: int):
    """Give an account another role; its sessions end so the new role applies at once."""
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the roles."), "error")
        return redirect(url_for("admin.home"))
    try:
        user = change_role(user_id, form.role.data, current_user)
    except AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.home"))
    flash(_("%(email)s is now %(role)s.", email=user.email,
            role=Role.label_of(user.role)), "success")
    return redirect(url_for("admin.home"))
