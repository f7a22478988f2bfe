"""Licensed item wording, uploaded per instrument and language and kept in the database; an
instrument without it shows the neutral placeholders."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from models import InstrumentWording, db
from program.assessments.questionnaires import library
from program.instruments.model import InstrumentError
from program.instruments.wording import LANGUAGES, save_wording
from views.access import researcher_study, role_required
from views.forms import options
from views.security import accepts_uploads
from views.study_setup import bp
from views.study_setup.steps import next_step

MAX_WORDING_BYTES = 512 * 1024
LANGUAGE_NAMES = {"en": _l("English"), "ja": _l("Japanese"), "zh": _l("Chinese")}


class WordingForm(FlaskForm):
    instrument = SelectField(_l("Instrument"), choices=[])
    language = SelectField(_l("Language"), choices=options((k, LANGUAGE_NAMES[k])
                                                            for k in LANGUAGES))
    wording_file = FileField(_l("Wording file (in the format the instruments' guide describes)"))
    wording_text = TextAreaField(_l("Or paste the wording"),
                                 validators=[Optional(), Length(max=MAX_WORDING_BYTES)])

    def text(self) -> str:
        upload = self.wording_file.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(MAX_WORDING_BYTES + 1)
            if len(data) > MAX_WORDING_BYTES:
                raise InstrumentError(_("The file is larger than 512 KB."))
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InstrumentError(_("The file is not UTF-8 text.")) from exc
        if not (self.wording_text.data or "").strip():
            raise InstrumentError(_("Upload a file or paste the wording."))
        return self.wording_text.data


@bp.route("/studies/<int:study_id>/wording", methods=["GET", "POST"])
@accepts_uploads("wording_file")
@role_required("researcher")
def wording(study_id: int):
    """The study's licensed wording per instrument and language, and an upload form."""
    s = researcher_study(study_id)
    form = WordingForm()
    form.instrument.choices = options((k, k) for k in sorted(library()))
    if form.validate_on_submit():
        try:
            save_wording(s.id, library()[form.instrument.data], form.language.data, form.text())
        except (InstrumentError, ValueError) as exc:
            form.form_errors.append(_("The wording was not saved: %(problem)s",
                                      problem=str(exc)))
        else:
            flash(_("Wording saved."), "success")
            return redirect(url_for("study_setup.wording", study_id=s.id))
    rows = db.session.execute(select(InstrumentWording.instrument, InstrumentWording.language,
                                     InstrumentWording.uploaded_at)
                              .where(InstrumentWording.study_id == s.id)
                              .order_by(InstrumentWording.instrument,
                                        InstrumentWording.language)).all()
    licensed = sorted(k for k, inst in library().items() if not inst.licence.ship_wording)
    return render_template("researcher/setup_wording.html", study=s, form=form, rows=rows,
                           licensed=licensed, languages=LANGUAGE_NAMES,
                           next_step=next_step(s, "wording"))
