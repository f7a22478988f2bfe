"""Randomisation: the method, block sizes, the characteristics to stratify or minimise by, and
the concealed allocation list generated here (the page shows that it exists, never its
contents)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from models.studies import RandomisationMethod
from program.trial import characteristics as chars
from program.trial import studies as trial_studies
from program.trial.records import TrialError
from program.trial.setup import SetupError, allocation_list_exists
from views.access import researcher_study, role_required
from views.forms import MultiCheckboxField, options
from views.study_setup import bp
from views.study_setup.steps import next_step


class RandomisationForm(FlaskForm):
    method = SelectField(_l("Method"), choices=options(RandomisationMethod.choices()))
    block_sizes = StringField(_l("Block sizes (comma-separated, chosen at random per block)"),
                              default="4, 6", validators=[Length(max=60)])
    list_length = IntegerField(_l("Length of the allocation list per stratum"), default=100,
                               validators=[InputRequired(), NumberRange(1, 2000)])
    factors = MultiCheckboxField(_l("Stratify or minimise by"), choices=[])

    def validate_block_sizes(self, field):
        try:
            sizes = [int(v) for v in field.data.replace(" ", "").split(",") if v]
        except ValueError:
            sizes = []
        if not sizes or any(not 1 <= s <= 60 for s in sizes):
            raise ValidationError(_("Give whole numbers from 1 to 60, separated by commas."))
        field.sizes = sizes

    def validate_method(self, field):
        if field.data == "none" and self.meta.design == "rct":
            raise ValidationError(_("A randomised trial needs a method."))


def _form(study) -> RandomisationForm:
    settings = study.randomisation_settings or {}
    data = None if request.method == "POST" else {
        "method": study.randomisation_method,
        "block_sizes": ", ".join(str(n) for n in settings.get("block_sizes", [4, 6])),
        "list_length": settings.get("list_length", 100), "factors": settings.get("strata", [])}
    form = RandomisationForm(data=data, meta={"design": study.design})
    form.factors.choices = options((d["key"], d["label"]) for d in chars.stratifiable(study))
    return form


@bp.route("/studies/<int:study_id>/randomisation", methods=["GET", "POST"])
@role_required("researcher")
def randomisation(study_id: int):
    """The randomisation settings; fixed once the allocation list exists."""
    s = researcher_study(study_id)
    form, locked = _form(s), allocation_list_exists(s.id)
    if form.validate_on_submit():
        try:
            trial_studies.save_randomisation(
                s.id, form.method.data, block_sizes=form.block_sizes.sizes,
                list_length=form.list_length.data, factors=form.factors.data)
        except SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Randomisation saved."), "success")
            return redirect(url_for("study_setup.randomisation", study_id=s.id))
    return render_template("researcher/setup_randomisation.html", study=s, form=form,
                           locked=locked, summary=trial_studies.allocation_summary(s.id),
                           uses_list=s.randomisation_method in trial_studies.LIST_METHODS,
                           next_step=next_step(s, "randomisation"))


@bp.post("/studies/<int:study_id>/randomisation/list")
@role_required("researcher")
def generate_list(study_id: int):
    """Generate the concealed allocation list from the saved settings (once)."""
    s = researcher_study(study_id)
    generate_allocation_list(s)
    return redirect(url_for("study_setup.randomisation", study_id=s.id))


def generate_allocation_list(study) -> None:
    """Generate the study's list once, and say how it went (the study page's button too)."""
    try:
        n = trial_studies.generate_list(study.id, actor=current_user)
        flash(_("Allocation list generated: %(n)d concealed slots.", n=n), "success")
    except (TrialError, ValueError) as exc:
        flash(str(exc), "error")
