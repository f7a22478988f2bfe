"""Eligibility rules built in a form: an age range, a minimum score on a screening instrument,
yes/no inclusion criteria and exclusion conditions (rows added and removed on the page)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from program.assessments.questionnaires import library
from program.trial import eligibility as rules_of
from program.trial import studies as trial_studies
from program.trial.setup import SetupError
from views.access import researcher_study, role_required
from views.forms import options
from views.study_setup import bp
from views.study_setup.steps import next_step

MAX_ROWS = 40


class CriterionForm(Form):
    text = StringField(_l("Criterion"), validators=[Optional(), Length(max=200)])
    remove = BooleanField(_l("Remove"))


class NumberCriterionForm(Form):
    text = StringField(_l("Criterion"), validators=[Optional(), Length(max=200)])
    minimum = IntegerField(_l("At least"), validators=[Optional(), NumberRange(-10_000, 10_000)])
    maximum = IntegerField(_l("At most"), validators=[Optional(), NumberRange(-10_000, 10_000)])
    remove = BooleanField(_l("Remove"))


class EligibilityForm(FlaskForm):
    age_min = IntegerField(_l("Youngest age"), validators=[Optional(), NumberRange(0, 130)])
    age_max = IntegerField(_l("Oldest age"), validators=[Optional(), NumberRange(0, 130)])
    instrument = SelectField(_l("Screening instrument"), choices=[])
    min_score = IntegerField(_l("Minimum total score"),
                             validators=[Optional(), NumberRange(0, 10_000)])
    numbers = FieldList(FormField(NumberCriterionForm), max_entries=MAX_ROWS)
    inclusions = FieldList(FormField(CriterionForm), max_entries=MAX_ROWS)
    exclusions = FieldList(FormField(CriterionForm), max_entries=MAX_ROWS)

    def validate_age_max(self, field):
        if None not in (field.data, self.age_min.data) and field.data < self.age_min.data:
            raise ValidationError(_("The oldest age cannot be below the youngest."))

    def validate_instrument(self, field):
        if bool(field.data) != (self.min_score.data is not None):
            raise ValidationError(_("Give both the instrument and its minimum score, or "
                                    "neither."))

    def number_rows(self) -> list[tuple[str, int | None, int | None]]:
        rows = [(r.form.text.data.strip(), r.form.minimum.data, r.form.maximum.data)
                for r in self.numbers if not r.form.remove.data
                and (r.form.text.data or "").strip()]
        if any(low is None and high is None for _t, low, high in rows):
            raise SetupError(_("Give each number criterion a lower or an upper limit."))
        if any(None not in (low, high) and high < low for _t, low, high in rows):
            raise SetupError(_("A number criterion's upper limit cannot be below its lower "
                                  "limit."))
        if len({row[0] for row in rows}) != len(rows):
            raise SetupError(_("Two criteria have the same text."))
        return rows

    def labels(self, rows) -> list[str]:
        kept = [r.form.text.data.strip() for r in rows if not r.form.remove.data
                and (r.form.text.data or "").strip()]
        if len(set(kept)) != len(kept):
            raise SetupError(_("Two criteria have the same text."))
        return kept


def _form(study) -> EligibilityForm:
    if request.method == "GET":
        form = EligibilityForm(data=rules_of.form_values(study.eligibility_rules or []))
        for rows in (form.numbers, form.inclusions, form.exclusions):
            rows.append_entry()
    else:
        form = EligibilityForm()
    form.instrument.choices = options([("", _("— none —"))] + [(k, k) for k in sorted(library())])
    return form


@bp.route("/studies/<int:study_id>/eligibility", methods=["GET", "POST"])
@role_required("researcher")
def eligibility(study_id: int):
    """The study's eligibility rules as a form; "add a row" re-renders with one more row."""
    s = researcher_study(study_id)
    form = _form(s)
    more = request.form.get("more")
    if more in ("numbers", "inclusions", "exclusions") and len(form[more]) < MAX_ROWS:
        form[more].append_entry()
    elif form.validate_on_submit():
        try:
            trial_studies.save_eligibility(s.id, rules_of.built_rules(
                age_min=form.age_min.data, age_max=form.age_max.data,
                instrument=form.instrument.data or None, min_score=form.min_score.data,
                inclusions=form.labels(form.inclusions), exclusions=form.labels(form.exclusions),
                numbers=form.number_rows(), kept=s.eligibility_rules or []))
        except SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Eligibility rules saved."), "success")
            return redirect(url_for("study_setup.eligibility", study_id=s.id))
    return render_template("researcher/setup_eligibility.html", study=s, form=form,
                           rules=[{**r, "label": rules_of.rule_label(r)}
                                  for r in s.eligibility_rules or []],
                           others=[rules_of.rule_label(r)
                                   for r in rules_of.other_rules(s.eligibility_rules or [])],
                           next_step=next_step(s, "eligibility"))
