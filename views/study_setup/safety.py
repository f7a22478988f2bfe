"""The study's safety settings: risk posts held or visible while reviewed, and the time an
alert waits before it escalates to the next clinician."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from program.safety import settings
from views.access import researcher_study, role_required
from views.study_setup import bp

LOW, HIGH = settings.ESCALATION_RANGE


class SafetyForm(FlaskForm):
    risk_posts_visible = BooleanField(
        _l("Leave posts that match a risk rule visible to the group while they are reviewed"))
    escalation_minutes = IntegerField(
        _l("Minutes an alert waits to be acknowledged before it escalates"),
        validators=[InputRequired(), NumberRange(min=LOW, max=HIGH)])


@bp.route("/studies/<int:study_id>/safety", methods=["GET", "POST"])
@role_required("researcher")
def safety(study_id: int):
    """Show and change the study's safety settings."""
    s = researcher_study(study_id)
    form = SafetyForm()
    if request.method == "GET":
        form.risk_posts_visible.data = s.risk_posts_visible
        form.escalation_minutes.data = s.alert_escalation_minutes
    elif form.validate_on_submit():
        try:
            settings.set_safety(s.id, risk_posts_visible=form.risk_posts_visible.data,
                                escalation_minutes=form.escalation_minutes.data,
                                actor=current_user)
        except settings.SettingsError as exc:
            form.escalation_minutes.errors.append(str(exc))
        else:
            flash(_("Safety settings saved."), "success")
            return redirect(url_for("study_setup.safety", study_id=s.id))
    status = 400 if request.method == "POST" else 200
    return render_template("researcher/setup_safety.html", study=s, form=form), status
