"""A new study, and its set-up checklist: every step, done or missing, with its page."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from models import User, db
from models.studies import Design
from program.trial import checklist as study_checklist
from program.trial import studies as trial_studies
from program.trial.setup import SetupError
from views import navigation
from views.access import researcher_study, role_required
from views.forms import options
from views.study_setup import bp
from views.study_setup.steps import MISSING, PAGES, step_url

navigation.add("admin", "study_setup.new_study", "New study", order=20)

PROGRAMS = [("cft", _l("Compassion-focused therapy (CFT)")),
            ("msc", _l("Mindful self-compassion (MSC)"))]


class NewStudyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    key = StringField(_l("Short key (lower-case letters, digits and hyphens)"),
                      validators=[DataRequired(), Length(max=40),
                                  Regexp(r"^[a-z0-9][a-z0-9-]*$",
                                         message=_l("Use lower-case letters, digits and "
                                                    "hyphens."))])
    design = SelectField(_l("Design"), choices=options(Design.choices()))
    program = SelectField(_l("Program"), choices=options(PROGRAMS))
    registration_id = StringField(_l("Trial registration id"),
                                  validators=[Optional(), Length(max=80)])
    code_prefix = StringField(_l("Prefix of participant codes"), default="P",
                              validators=[DataRequired(), Length(max=8),
                                          Regexp(r"^[A-Z0-9]+$",
                                                 message=_l("Use capital letters and "
                                                            "digits."))])
    lead_id = SelectField(_l("Lead researcher"), coerce=int, choices=[])


def _researchers():
    return options((u.id, f"{u.display_name} <{u.email}>") for u in db.session.scalars(
        select(User).where(User.role == "researcher", User.active).order_by(User.display_name)))


@bp.route("/studies/new", methods=["GET", "POST"])
@role_required("researcher", "admin")
def new_study():
    """A new study; its creator (and, made by an admin, its lead researcher) become its staff."""
    form = NewStudyForm()
    form.lead_id.choices = _researchers() if current_user.role == "admin" else []
    if current_user.role != "admin":
        del form.lead_id
    if form.validate_on_submit():
        try:
            study = trial_studies.create_study(
                form.data, creator=current_user,
                lead_id=form.lead_id.data if "lead_id" in form else None)
        except SetupError as exc:
            form.key.errors.append(str(exc))
        else:
            flash(_("Study created. Go through the set-up steps below."), "success")
            if current_user.role == "admin":
                return redirect(url_for("admin.home"))
            return redirect(url_for("study_setup.checklist", study_id=study.id))
    return render_template("researcher/setup_new_study.html", form=form)


@bp.get("/studies/<int:study_id>/checklist")
@role_required("researcher")
def checklist(study_id: int):
    """Every set-up step, done or missing, and what is still missing before the study opens."""
    s = researcher_study(study_id)
    checks = study_checklist.checklist(s)
    rows = [{"name": PAGES[c.step][1], "url": step_url(s, c.step), "done": c.done,
             "optional": c.optional, "missing": MISSING.get(c.missing, "")} for c in checks]
    return render_template("researcher/setup_checklist.html", study=s, rows=rows,
                           ready=study_checklist.ready(s))

