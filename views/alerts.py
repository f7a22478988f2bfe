"""Safety alerts for the people who receive them: the group's leaders and assistants and the
study's clinicians. List, take ownership, acknowledge, note, close.

Anyone else gets 404 for an alert, whatever their role; the source text is shown only here.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from models import Group, Post, PracticeLog, db
from program.groups import access
from program.messaging import immediate
from program.safety import alerts as safety
from program.safety import review
from views import navigation
from views.access import role_required

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
#: clinicians are staff of any of these roles; leaders and assistants are facilitators
RECIPIENT_ROLES = ("facilitator", "researcher", "admin")
STATUS_FILTERS = {"active": ("open", "acknowledged"), "closed": ("closed",), "all": None}

navigation.add("facilitator", "alerts.index", "Safety alerts", order=40)
navigation.add("researcher", "alerts.index", "Safety alerts", order=40)


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Follow-up note"), validators=[Length(max=5000)])


class ActionForm(FlaskForm):
    """A button that changes the alert: only the CSRF token."""


class HidePostForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the author will see it)"),
                           validators=[DataRequired(), Length(max=1000)])


@bp.after_app_request
def send_urgent_messages(response):
    """Send the safety alerts a request raised right after its commit, before answering it
    (the outbox rows are claimed as the dispatcher claims them, so never twice)."""
    immediate.send_committed()
    return response


def _alert(alert_id: int):
    try:
        return safety.alert_for(current_user, alert_id)
    except safety.AlertNotFound:
        abort(404)


@bp.get("/")
@role_required(*RECIPIENT_ROLES)
def index():
    """The alerts this user receives, open and acknowledged ones first."""
    shown = request.args.get("status", "active")
    if shown not in STATUS_FILTERS:
        shown = "active"
    alerts = safety.alerts_for(current_user, STATUS_FILTERS[shown])
    groups = {g.id: g for g in db.session.scalars(
        db.select(Group).where(Group.id.in_({a.group_id for a in alerts if a.group_id})))}
    return render_template("alerts/index.html", alerts=alerts, groups=groups, shown=shown,
                           excerpts=safety.excerpts(alerts))


@bp.get("/<int:alert_id>")
@role_required(*RECIPIENT_ROLES)
def show(alert_id: int):
    """One alert with the text that raised it and the follow-up controls."""
    alert = _alert(alert_id)
    post = log = None
    if alert.source_kind == "post":
        post = db.session.get(Post, alert.source_id)
    elif alert.source_kind == "practice_log":
        log = db.session.get(PracticeLog, alert.source_id)
    return _show_page(alert, post, log, NoteForm(note=alert.note), HidePostForm())


def _show_page(alert, post, log, note_form, hide_form, status=200):
    group = db.session.get(Group, alert.group_id) if alert.group_id else None
    in_group = group is not None and access.membership(current_user, group.id) is not None
    return render_template("alerts/show.html", alert=alert, post=post, log=log, group=group,
                           in_group=in_group, note_form=note_form, hide_form=hide_form), status


ACTIONS = {
    "own": (safety.take_ownership, _l("You are now following up this alert.")),
    "acknowledge": (safety.acknowledge, _l("Alert acknowledged.")),
    "close": (safety.close_alert, _l("Alert closed.")),
}


@bp.post("/<int:alert_id>/<any(own, acknowledge, close):action>")
@role_required(*RECIPIENT_ROLES)
def act(alert_id: int, action: str):
    """Take ownership of, acknowledge or close an alert."""
    _alert(alert_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    operation, message = ACTIONS[action]
    operation(current_user, alert_id)
    flash(str(message), "success")
    return redirect(url_for(".show", alert_id=alert_id))


@bp.post("/<int:alert_id>/note")
@role_required(*RECIPIENT_ROLES)
def note(alert_id: int):
    """Save the follow-up note."""
    alert = _alert(alert_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _show_page(alert, None, None, form, HidePostForm(formdata=None), 400)
    safety.set_note(current_user, alert_id, form.note.data)
    flash(_("Note saved."), "success")
    return redirect(url_for(".show", alert_id=alert_id))


@bp.post("/<int:alert_id>/release")
@role_required(*RECIPIENT_ROLES)
def release(alert_id: int):
    """Show the post held for review to its group again (and acknowledge the alert)."""
    _alert(alert_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        released = review.release(current_user, alert_id)
    except review.ReviewError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The post is visible to the group again.") if released
              else _("This post is not held for review."), "success" if released else "info")
    return redirect(url_for(".show", alert_id=alert_id))


@bp.post("/<int:alert_id>/hide")
@role_required(*RECIPIENT_ROLES)
def hide_post(alert_id: int):
    """Hide the alert's post from the group with a reason its author is told."""
    alert = _alert(alert_id)
    form = HidePostForm()
    if not form.validate_on_submit():
        post = db.session.get(Post, alert.source_id) if alert.source_kind == "post" else None
        return _show_page(alert, post, None, NoteForm(formdata=None, note=alert.note), form, 400)
    try:
        hidden = review.hide(current_user, alert_id, form.reason.data)
    except review.ReviewError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Post hidden.") if hidden else _("This post is already hidden."),
              "success" if hidden else "info")
    return redirect(url_for(".show", alert_id=alert_id))
