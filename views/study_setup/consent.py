"""Consent: the study's information sheet versions (text or an uploaded file, kept in the
database); the current one is the version the consent form records."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from program.trial import studies as trial_studies
from program.trial.setup import SetupError
from views.access import researcher_study, role_required
from views.security import accepts_uploads
from views.study_setup import bp
from views.study_setup.steps import next_step

MAX_SHEET_BYTES = 2 * 1024 * 1024


class ConsentVersionForm(FlaskForm):
    version = StringField(_l("Version (e.g. v2 2027-01-10)"),
                          validators=[DataRequired(), Length(max=40)])
    sheet_text = TextAreaField(_l("Information sheet text"),
                               validators=[Optional(), Length(max=100_000)])
    sheet_file = FileField(_l("Or the information sheet as a file (PDF, up to 2 MB)"))
    current = BooleanField(_l("Use this version for consent from now on"), default=True)

    def validate_sheet_file(self, field):
        upload = field.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(MAX_SHEET_BYTES + 1)
            if len(data) > MAX_SHEET_BYTES:
                raise ValidationError(_("The file is larger than 2 MB."))
            if not data:
                raise ValidationError(_("The file is empty."))
            field.upload = (upload.filename[-200:], (upload.mimetype or
                                                     "application/octet-stream")[:100], data)
        else:
            field.upload = None


@bp.route("/studies/<int:study_id>/consent", methods=["GET", "POST"])
@accepts_uploads("sheet_file")
@role_required("researcher")
def consent(study_id: int):
    """The information sheet versions and a form for a new one."""
    s = researcher_study(study_id)
    form = ConsentVersionForm()
    if form.validate_on_submit():
        try:
            trial_studies.add_consent_version(
                s.id, form.version.data.strip(), text=form.sheet_text.data,
                file=form.sheet_file.upload, current=form.current.data)
        except SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Information sheet version saved."), "success")
            return redirect(url_for("study_setup.consent", study_id=s.id))
    return render_template("researcher/setup_consent.html", study=s, form=form,
                           versions=trial_studies.consent_versions(s.id),
                           next_step=next_step(s, "consent"))


class CurrentVersionForm(FlaskForm):
    version_id = IntegerField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])


@bp.post("/studies/<int:study_id>/consent/current")
@role_required("researcher")
def current_version(study_id: int):
    """Make an earlier version the one consent is recorded on."""
    s = researcher_study(study_id)
    form = CurrentVersionForm()
    try:
        if not form.validate_on_submit():
            raise SetupError(_("Nothing was changed."))
        row = trial_studies.make_current(s.id, form.version_id.data)
    except SetupError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Consent is recorded on %(version)s from now on.", version=row.version),
              "success")
    return redirect(url_for("study_setup.consent", study_id=s.id))


@bp.get("/studies/<int:study_id>/consent/sheet")
@role_required("researcher")
def consent_sheet(study_id: int):
    """One version's information sheet file (``?version=<id>``)."""
    s = researcher_study(study_id)
    wanted = request.args.get("version", type=int)
    row = next((v for v in trial_studies.consent_versions(s.id) if v.id == wanted), None)
    if row is None or row.file_data is None:
        abort(404)
    return send_file(io.BytesIO(row.file_data), mimetype=row.file_type,
                     as_attachment=True, download_name=row.file_name)
