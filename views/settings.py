"""Personal settings for every role: time zone, language, reminders, notifications."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from models.people import Role
from program.core.zones import timezone_choices
from program.courses import delivery as operations
from views import navigation
from views.access import role_required
from views.forms import options

bp = Blueprint("settings", __name__, url_prefix="/settings")
for _role in Role:
    navigation.add(_role, "settings.edit", "Settings", order=90)

NOTIFY = [("immediate", _l("Straight away")), ("daily", _l("Once a day")),
          ("none", _l("Never"))]
LANGUAGES = [("", _l("Same as my browser")), ("en", "English"), ("ja", "日本語"),
             ("zh", "简体中文")]


class SettingsForm(FlaskForm):
    timezone = SelectField(_l("Time zone"))
    locale = SelectField(_l("Language"), choices=options(LANGUAGES))
    reminders_enabled = BooleanField(_l("Send me reminders (meetings, practice, new sessions)"))
    notify_replies = SelectField(_l("Replies to my posts"), choices=options(NOTIFY))
    notify_announcements = SelectField(_l("Announcements"), choices=options(NOTIFY))
    calendar_video_link = BooleanField(
        _l("Put the meetings' video link in my calendar feed"))


@bp.route("/", methods=["GET", "POST"])
@role_required(*Role)
def edit():
    """Change your own time zone, language, reminders and notification choices."""
    form = SettingsForm(obj=current_user)
    form.timezone.choices = options(timezone_choices(current_user.timezone))
    if not form.is_submitted():
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        operations.update_preferences(current_user, operations.Preferences(
            timezone=form.timezone.data, locale=form.locale.data or None,
            reminders_enabled=form.reminders_enabled.data,
            notify_replies=form.notify_replies.data,
            notify_announcements=form.notify_announcements.data,
            calendar_video_link=form.calendar_video_link.data))
        flash(_("Settings saved."), "success")
        return redirect(url_for("settings.edit"))
    feed_url = url_for("calendar.feed", token=current_user.calendar_token, _external=True)
    return render_template("settings/edit.html", form=form, feed_url=feed_url)


@bp.post("/calendar-link")
@role_required(*Role)
def renew_calendar_link():
    """Replace the private calendar address (after sharing it by mistake, say)."""
    operations.renew_calendar_link(current_user)
    flash(_("Your calendar has a new address: the old one no longer works. Add the new one "
            "to your calendar app."), "success")
    return redirect(url_for("settings.edit"))
