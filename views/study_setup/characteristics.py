"""Baseline characteristics: the study's choice from the library and its own, and their entry
once per participant (which stratified randomisation and minimisation read)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import Length, Optional

from program.trial import characteristics as chars
from program.trial.setup import SetupError
from views.access import researcher_participant, researcher_study, role_required
from views.forms import MultiCheckboxField, options
from views.study_setup import bp
from views.study_setup.steps import next_step

MAX_CUSTOM = 30


class CustomForm(Form):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    kind = SelectField(_l("Type"), choices=options([("", "—"), *chars.TYPES.items()]))
    choice_list = StringField(_l("Choices (comma-separated)"), validators=[Optional(),
                                                                        Length(max=1000)])
    remove = BooleanField(_l("Remove"))


class CharacteristicsForm(FlaskForm):
    library = MultiCheckboxField(_l("From the library"),
                                 choices=options((k, v[0]) for k, v in chars.LIBRARY.items()))
    custom = FieldList(FormField(CustomForm), max_entries=MAX_CUSTOM)


for _key, (_label, _kind, _defaults) in chars.LIBRARY.items():
    if _kind == "choice":
        setattr(CharacteristicsForm, f"choices_{_key}", StringField(
            _l("Choices of %(name)s (comma-separated)", name=_label),
            validators=[Optional(), Length(max=1000)]))


def _data(study) -> dict:
    own = study.baseline_characteristics or []
    return {"library": [d["key"] for d in own if d.get("label") is None],
            "custom": [{"name": d["label"], "kind": d["type"],
                        "choice_list": ", ".join(d.get("choices") or [])}
                       for d in own if d.get("label") is not None],
            **{f"choices_{d['key']}": ", ".join(d.get("choices") or [])
               for d in own if d.get("label") is None and d["type"] == "choice"}}


@bp.route("/studies/<int:study_id>/characteristics", methods=["GET", "POST"])
@role_required("researcher")
def characteristics(study_id: int):
    """Which baseline characteristics the study collects, with their types and choices."""
    s = researcher_study(study_id)
    form = CharacteristicsForm(data=_data(s)) if request.method == "GET" else CharacteristicsForm()
    if request.method == "GET" or (request.form.get("more") and len(form.custom) < MAX_CUSTOM):
        form.custom.append_entry()
    elif form.validate_on_submit():
        try:
            chosen = chars.build(form.library.data, {k: form[f"choices_{k}"].data
                                                     for k in chars.LIBRARY
                                                     if f"choices_{k}" in form},
                                 [{"label": r.form.name.data, "type": r.form.kind.data,
                                   "choices": r.form.choice_list.data}
                                  for r in form.custom if not r.form.remove.data])
            chars.save(s.id, chosen)
        except SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Baseline characteristics saved."), "success")
            return redirect(url_for("study_setup.characteristics", study_id=s.id))
    return render_template("researcher/setup_characteristics.html", study=s, form=form,
                           chosen=chars.definitions(s), types=chars.TYPES,
                           next_step=next_step(s, "characteristics"))


@bp.route("/participants/<int:participant_id>/baseline", methods=["GET", "POST"])
@role_required("researcher")
def baseline(participant_id: int):
    """Enter the person's baseline characteristics once, before randomisation."""
    p = researcher_participant(participant_id)
    defs = chars.definitions(p.study)
    form = FlaskForm()
    errors: dict[str, str] = {}
    if request.method == "POST" and p.arm_id is None and form.validate_on_submit():
        values, errors = chars.parse_values(defs, request.form)
        if not errors:
            chars.record_baseline(p.id, values, actor=current_user)
            flash(_("Baseline characteristics recorded."), "success")
            return redirect(url_for("researcher.participant", participant_id=p.id))
    elif request.method == "POST":
        errors = {"": _("Allocated people's characteristics are fixed.")
                  if p.arm_id is not None else _("The form has expired; please try again.")}
    return render_template("researcher/baseline.html", participant=p, study=p.study, form=form,
                           defs=defs, errors=errors, values=p.baseline or {},
                           locked=p.arm_id is not None), 400 if errors else 200
