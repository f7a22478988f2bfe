"""The admin area: accounts, roles, data removal requests, audit log (invitations in
``views.admin.invitations``, role changes in ``views.admin.accounts``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Participant, User, db, write_transaction
from models.people import Role
from program.accounts import directory, sessions, two_factor
from program.core import audit
from program.core.audit import AuditAction
from program.trial.removal import pending_removals, remove_participant_data
from views import navigation
from views.access import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
navigation.add("admin", "admin.home", "Administration", order=10)


#: the account status filter: ?active=yes|no
ACTIVE_FILTER = {"yes": True, "no": False}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@bp.get("/")
@role_required("admin")
def home():
    """Accounts (found by ``?q=`` in name or email, ``?role=``, ``?active=``), pending data
    removal requests and the latest audit entries (of one ``?action=``, by one ``?actor=``)."""
    query, role = request.args.get("q", "")[:254], request.args.get("role") or None
    active = request.args.get("active", "")
    users = directory.find_accounts(query, role, ACTIVE_FILTER.get(active))
    action, actor = request.args.get("action") or None, _int_arg("actor")
    entries = audit.latest(action, actor=actor)
    return render_template(
        "admin/home.html", users=users, removals=pending_removals(), query=query,
        role=role if role in Role else None, active=active if active in ACTIVE_FILTER else "",
        roles=Role, audit=entries, object_names=audit.object_names(e for e, _who in entries),
        actions=audit.AuditAction, action=action if action in audit.AuditAction else None,
        actors=audit.actors(), actor=actor)


@bp.post("/users/<int:user_id>/active")
@role_required("admin")
def set_user_active(user_id: int):
    """Disable or re-enable an account; disabling ends its sessions."""
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.home"))
    active = request.form.get("active") == "1"
    sessions.set_active(user, active)
    flash(_("Account enabled.") if active else _("Account disabled and signed out."), "info")
    return redirect(url_for("admin.home"))


@bp.post("/users/<int:user_id>/two-factor/reset")
@role_required("admin")
def reset_two_factor(user_id: int):
    """Turn off someone's two-factor sign-in (a lost phone) and end their sessions; they set it
    up again at their next sign-in when their role requires it."""
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        flash(_("Ask another administrator to reset your own two-factor sign-in."), "error")
        return redirect(url_for("admin.home"))
    with write_transaction():
        user = db.session.get(User, user_id)
        had_it = user.two_factor_enabled
        two_factor.disable(user)
        sessions.end_all_sessions(user, "two_factor_reset")
        audit.record(AuditAction.TWO_FACTOR_RESET, user, was_enabled=had_it)
    flash(_("Two-factor sign-in of %(email)s is reset and their sessions are ended.",
            email=user.email), "info")
    return redirect(url_for("admin.home"))


@bp.post("/removals/<int:participant_id>")
@role_required("admin")
def process_removal(participant_id: int):
    """Carry out a data removal request: identity, contact data and answers are erased."""
    participant = db.session.get(Participant, participant_id) or abort(404)
    if participant.data_removal_requested_at is None:
        abort(404)
    if request.form.get("confirm") != participant.code:
        flash(_("Type the participant code to confirm the removal."), "error")
        return redirect(url_for("admin.home"))
    remove_participant_data(participant.id, actor=current_user)
    flash(_("The data of %(code)s were removed.", code=participant.code), "success")
    return redirect(url_for("admin.home"))


from views.admin import accounts, invitations, outbox  # noqa: E402,F401  (routes join bp)
