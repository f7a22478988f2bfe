"""The contact log: a study team's calls, emails and messages with one participant, merged with
the invitations and reminders Hearth sent them, and the study's log as a CSV file."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from models import utcnow
from models.contacts import ContactKind
from program.trial import contacts
from views.access import researcher_participant, researcher_study, role_required
from views.forms import options

bp = Blueprint("contacts", __name__, url_prefix="/research")

#: no contact is logged from before this year (a mistyped year is a form error, not a row)
EARLIEST_YEAR = 2000


class ContactForm(FlaskForm):
    kind = SelectField(_l("How"), choices=options(ContactKind.choices()))
    contacted_at = DateTimeLocalField(_l("When (your time zone)"), validators=[DataRequired()])
    outcome = StringField(_l("Outcome"), validators=[DataRequired(), Length(max=200)])
    next_step = StringField(_l("Next step"), validators=[Optional(), Length(max=200)])

    def when(self) -> datetime:
        zone = ZoneInfo(current_user.timezone or "UTC")
        return self.contacted_at.data.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))

    def validate_contacted_at(self, field) -> None:
        if (not EARLIEST_YEAR <= field.data.year <= utcnow().year + 1
                or self.when() > utcnow() + timedelta(minutes=5)):
            raise ValidationError(_("Give the date and time the contact took place (not in the "
                               "future)."))


def _page(participant, form, status=200):
    history = contacts.contact_history([participant])
    return render_template("researcher/contacts.html", participant=participant, form=form,
                           history=history, study=participant.study), status


@bp.route("/participants/<int:participant_id>/contacts", methods=["GET", "POST"])
@role_required("researcher")
def log(participant_id: int):
    """A participant's contact log with the invitations and reminders sent to them; posting
    logs a call, email or message (one rule for both, so an id out of range is a 404 for
    either method)."""
    participant = researcher_participant(participant_id)
    form = ContactForm()
    if request.method == "GET":
        form.contacted_at.data = datetime.now(ZoneInfo(current_user.timezone or "UTC")).replace(
            tzinfo=None, second=0, microsecond=0)
        return _page(participant, form)
    if not form.validate_on_submit():
        return _page(participant, form, 400)
    contacts.log_contact(participant, contacts.Contact(
        kind=form.kind.data, contacted_at=form.when(), outcome=form.outcome.data.strip(),
        next_step=(form.next_step.data or "").strip() or None), current_user)
    flash(_("Contact with %(code)s logged.", code=participant.code), "success")
    return redirect(url_for("contacts.log", participant_id=participant.id))


@bp.get("/studies/<int:study_id>/contacts.csv")
@role_required("researcher")
def export(study_id: int):
    """The study's contact log as CSV, with pseudonymous codes only."""
    study = researcher_study(study_id)
    body = contacts.export_csv(study, current_user)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="contacts-{study.key}.csv"'})
