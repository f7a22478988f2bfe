"""Guided-practice recordings, uploaded per practice and language (licensed audio: none ship)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField

from program.courses import recordings
from views.access import researcher_study, role_required
from views.forms import options
from views.security import accepts_uploads
from views.study_setup import bp
from views.study_setup.wording import LANGUAGE_NAMES


class RecordingForm(FlaskForm):
    practice = SelectField(_l("Practice"), choices=[])
    language = SelectField(_l("Language"), choices=options(
        (k, LANGUAGE_NAMES[k]) for k in recordings.LANGUAGES))
    audio = FileField(_l("Audio file (MP3, M4A, Ogg, WebM, WAV or FLAC; up to 40 MB)"))


@bp.route("/studies/<int:study_id>/recordings", methods=["GET", "POST"])
@accepts_uploads("audio", limit="MAX_RECORDING_LENGTH")
@role_required("researcher")
def recordings_page(study_id: int):
    """The study's recordings and an upload form."""
    study = researcher_study(study_id)
    titles = recordings.practice_titles(study, get_locale())
    form = RecordingForm()
    form.practice.choices = options(titles.items())
    if form.validate_on_submit():
        upload = form.audio.data
        data = upload.read(recordings.MAX_BYTES + 1) if getattr(upload, "filename", "") else b""
        try:
            recordings.save(study, form.practice.data, form.language.data, data, current_user)
        except recordings.RecordingError as exc:
            form.audio.errors = [*form.audio.errors, str(exc)]
        else:
            flash(_("Recording saved. Participants hear it on the session and practice pages."),
                  "success")
            return redirect(url_for("study_setup.recordings_page", study_id=study.id))
    return render_template("researcher/setup_recordings.html", study=study, form=form,
                           rows=recordings.listing(study), titles=titles,
                           languages=LANGUAGE_NAMES)


@bp.post("/studies/<int:study_id>/recordings/<int:recording_id>/delete")
@role_required("researcher")
def remove_recording(study_id: int, recording_id: int):
    """Delete a recording (a second click finds it gone and says so)."""
    study = researcher_study(study_id)
    if recordings.remove(study, recording_id, current_user):
        flash(_("Recording removed."), "success")
    else:
        flash(_("That recording was already removed."), "info")
    return redirect(url_for("study_setup.recordings_page", study_id=study.id) + "#recordings")
