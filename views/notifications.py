"""Settings → Notifications: how each kind of notice reaches me (email, push, both or
neither), quiet hours, my own practice reminders, and push on this device."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TimeField
from wtforms.validators import Optional

from models.notifications import NoticeChannel, NoticeKind
from models.people import Role
from program.messaging import preferences, vapid
from views.access import role_required
from views.forms import MultiCheckboxField, options

bp = Blueprint("notifications", __name__, url_prefix="/settings/notifications")
WEEKDAYS = [(1, _l("Monday")), (2, _l("Tuesday")), (3, _l("Wednesday")), (4, _l("Thursday")),
            (5, _l("Friday")), (6, _l("Saturday")), (7, _l("Sunday"))]


class NoticeForm(FlaskForm):
    quiet_start = TimeField(_l("Quiet from"), validators=[Optional()])
    quiet_end = TimeField(_l("Quiet until"), validators=[Optional()])
    practice_days = MultiCheckboxField(_l("Remind me to practise on"), coerce=int,
                                       choices=options(WEEKDAYS))
    practice_time = TimeField(_l("At"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (self.quiet_start.data is None) != (self.quiet_end.data is None):
            self.quiet_end.errors.append(_("Give both times, or neither."))
            ok = False
        if self.practice_days.data and self.practice_time.data is None:
            self.practice_time.errors.append(_("Choose a time for your practice reminder."))
            ok = False
        return ok


def _form() -> NoticeForm:
    """The form with one channel choice per kind of notice (``channel_<kind>``)."""
    class Form(NoticeForm):
        pass
    for kind in NoticeKind:
        setattr(Form, f"channel_{kind.value}",
                SelectField(kind._label, choices=options(NoticeChannel.choices())))
    return Form()


@bp.route("/", methods=["GET", "POST"])
@role_required(*Role)
def edit():
    """My notification settings."""
    form = _form()
    saved = preferences.current(current_user)
    if not form.is_submitted():
        for kind, channel in saved.channels.items():
            form[f"channel_{kind}"].data = channel
        form.quiet_start.data, form.quiet_end.data = saved.quiet_start, saved.quiet_end
        form.practice_days.data, form.practice_time.data = (saved.practice_days,
                                                            saved.practice_time)
    elif form.validate():
        preferences.save(current_user, preferences.NoticeSettings(
            channels={kind: form[f"channel_{kind}"].data for kind in NoticeKind.codes()},
            quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data,
            practice_days=form.practice_days.data or [], practice_time=form.practice_time.data))
        flash(_("Notification settings saved."), "success")
        return redirect(url_for("notifications.edit"))
    return render_template("settings/notifications.html", form=form,
                           kinds=NoticeKind, public_key=vapid.public_key(),
                           devices=preferences.device_count(current_user))


@bp.post("/push")
@role_required(*Role)
def subscribe():
    """This browser's push subscription (JSON from the page's script)."""
    try:
        preferences.subscribe(current_user, request.get_json(silent=True))
    except preferences.BadSubscription:
        return jsonify(error=_("This browser's push subscription could not be used.")), 400
    return jsonify(ok=True)


@bp.post("/push/remove")
@role_required(*Role)
def unsubscribe():
    """Stop push to this browser."""
    data = request.get_json(silent=True) or {}
    removed = preferences.unsubscribe(current_user, data.get("endpoint")
                                      if isinstance(data, dict) else None)
    return jsonify(ok=True, removed=removed)
