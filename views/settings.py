"""Personal settings for every role: time zone, language, reminders, notifications."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from babel.dates import get_timezone_location
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from program import operations
from views import navigation
from views.auth import ALL_ROLES
from views.decorators import role_required

bp = Blueprint("settings", __name__, url_prefix="/settings")
for _role in ALL_ROLES:
    navigation.add(_role, "settings.edit", "Settings", order=90)

NOTIFY = [("immediate", _l("Straight away")), ("daily", _l("Once a day")),
          ("none", _l("Never"))]
LANGUAGES = [("", _l("Same as my browser")), ("en", "English"), ("ja", "日本語"),
             ("zh", "简体中文")]


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(name for name in sorted(available_timezones()) if "/" in name or name == "UTC")


@cache
def zone_label(name: str, locale: str = "en") -> str:
    """A time zone as a reader of ``locale`` names it: CLDR's "日本時間" or "中国（上海）时间";
    the IANA name (Asia/Tokyo) in English and where CLDR has no local name (legacy aliases,
    Etc/GMT+5, zones newer than Babel's data)."""
    english = name.replace("_", " ")
    if locale.split("_")[0] == "en":
        return english
    try:
        local = get_timezone_location(name, locale=locale)
    except LookupError:
        return english
    return english if re.search(r"[A-Za-z]{3}", local) else local


@cache
def _choices(locale: str) -> list[tuple[str, str]]:
    return [(name, zone_label(name, locale)) for name in _zone_names()]


def timezone_choices() -> list[tuple[str, str]]:
    """Every time zone, labelled in the viewer's language (the value stays the IANA name)."""
    return _choices(str(get_locale() or "en"))


@bp.app_template_filter("zonename")
def zonename(name: str | None) -> str:
    """A time zone's name in the viewer's language (see :func:`zone_label`)."""
    return zone_label(name, str(get_locale() or "en")) if name else ""


class SettingsForm(FlaskForm):
    timezone = SelectField(_l("Time zone"))
    locale = SelectField(_l("Language"), choices=LANGUAGES)
    reminders_enabled = BooleanField(_l("Send me reminders (meetings, practice, new sessions)"))
    notify_replies = SelectField(_l("Replies to my posts"), choices=NOTIFY)
    notify_announcements = SelectField(_l("Announcements"), choices=NOTIFY)


@bp.route("/", methods=["GET", "POST"])
@role_required(*ALL_ROLES)
def edit():
    """Change your own time zone, language, reminders and notification choices."""
    form = SettingsForm(obj=current_user)
    form.timezone.choices = timezone_choices()
    if not form.is_submitted():
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        operations.update_preferences(current_user, operations.Preferences(
            timezone=form.timezone.data, locale=form.locale.data or None,
            reminders_enabled=form.reminders_enabled.data,
            notify_replies=form.notify_replies.data,
            notify_announcements=form.notify_announcements.data))
        flash(_("Settings saved."), "success")
        return redirect(url_for("settings.edit"))
    feed_url = url_for("calendar.feed", token=current_user.calendar_token, _external=True)
    return render_template("settings/edit.html", form=form, feed_url=feed_url)
