"""The study's crisis contacts, by country: the shipped defaults confirmed with one click, or
contacts entered (and changed, or removed) one by one. Participants see those of their
cohort's country (program.safety.crisis_contacts)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from models import CrisisContact, db
from models.safety import CrisisContactKind
from program.safety import crisis_contacts as contacts
from program.safety.crisis_defaults import DEFAULTS
from views.access import researcher_study, role_required
from views.forms import country_choices, options
from views.study_setup import bp
from views.study_setup.steps import next_step

FREE = [("", _l("not known")), ("yes", _l("free")), ("no", _l("call charges apply"))]


class CrisisContactForm(FlaskForm):
    country = SelectField(_l("Country"), validators=[DataRequired()])
    kind = SelectField(_l("Kind"), choices=options(CrisisContactKind.choices()))
    name = StringField(_l("Name (empty for the emergency services)"),
                       validators=[Optional(), Length(max=120)])
    number = StringField(_l("Number, as dialled in the country"),
                         validators=[DataRequired(), Length(max=40)])
    always_open = BooleanField(_l("Open 24 hours"))
    opens_at = TimeField(_l("Opens daily at"), validators=[Optional()])
    closes_at = TimeField(_l("Closes daily at"), validators=[Optional()])
    languages = StringField(_l("Languages answered (codes, e.g. ja, en)"),
                            validators=[Optional(), Length(max=60),
                                        Regexp(r"^[a-z]{2,3}(\s*,\s*[a-z]{2,3})*$",
                                               message=_l("Enter language codes separated "
                                                          "by commas, e.g. ja, en."))])
    free = SelectField(_l("Free to call"), choices=options(FREE))


class ConfirmForm(FlaskForm):
    country = SelectField(choices=options((c, c) for c in DEFAULTS))


class RemoveForm(FlaskForm):
    contact_id = IntegerField(validators=[InputRequired()])


def _values(form: CrisisContactForm) -> dict:
    languages = ",".join(c.strip() for c in (form.languages.data or "").split(",") if c.strip())
    return {"country": form.country.data, "kind": form.kind.data, "name": form.name.data or "",
            "number": form.number.data, "always_open": form.always_open.data,
            "opens_at": form.opens_at.data, "closes_at": form.closes_at.data,
            "languages": languages, "free": {"yes": True, "no": False}.get(form.free.data)}


def _edited(study_id: int) -> CrisisContact | None:
    if not request.args.get("contact"):
        return None
    contact_id = request.args.get("contact", type=int) or 0
    row = db.session.get(CrisisContact, contact_id) if 0 < contact_id < 2**31 else None
    if row is None or row.study_id != study_id:
        abort(404)
    return row


def _form(row: CrisisContact | None) -> CrisisContactForm:
    if request.method == "GET" and row is not None:
        free = {True: "yes", False: "no"}.get(row.free, "")
        form = CrisisContactForm(obj=row, free=free)
    else:
        form = CrisisContactForm()
    form.country.choices = country_choices(str(get_locale() or "en"))
    return form


def _page(study, form, row):
    locale = str(get_locale() or "en")
    rows = contacts.study_contacts(study.id)
    groups = []
    for country in sorted({r.country for r in rows}):
        own = [r for r in rows if r.country == country]
        groups.append((contacts.country_name(country, locale),
                       list(zip(contacts.shown(country, own, locale).contacts, own,
                                strict=True))))
    defaults = [(c, contacts.country_name(c, locale)) for c in DEFAULTS]
    return render_template("researcher/setup_crisis_contacts.html", study=study, form=form,
                           row=row, groups=groups, defaults=defaults,
                           missing=[contacts.country_name(c, locale)
                                    for c in contacts.countries_missing(study.id)],
                           confirm=ConfirmForm(), next_step=next_step(study, "crisis_contacts"))


@bp.route("/studies/<int:study_id>/crisis-contacts", methods=["GET", "POST"])
@role_required("researcher")
def crisis_contacts(study_id: int):
    """The study's crisis contacts by country; ``?contact=<id>`` edits one."""
    s = researcher_study(study_id)
    row = _edited(s.id)
    form = _form(row)
    if form.validate_on_submit():
        try:
            contacts.save_contact(s.id, row and row.id, _values(form))
        except contacts.CrisisContactError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Crisis contact saved."), "success")
            return redirect(url_for("study_setup.crisis_contacts", study_id=s.id))
    return _page(s, form, row)


@bp.post("/studies/<int:study_id>/crisis-contacts/confirm")
@role_required("researcher")
def confirm_crisis_contacts(study_id: int):
    """Adopt Hearth's shipped contacts of a country (those the study lacks)."""
    s = researcher_study(study_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        added = contacts.confirm_defaults(s.id, form.country.data)
        flash(_("Contacts confirmed: %(count)d added.", count=added), "success")
    else:
        flash(_("Nothing was changed."), "error")
    return redirect(url_for("study_setup.crisis_contacts", study_id=s.id))


@bp.post("/studies/<int:study_id>/crisis-contacts/remove")
@role_required("researcher")
def remove_crisis_contact(study_id: int):
    s = researcher_study(study_id)
    form = RemoveForm()
    if form.validate_on_submit() and 0 < form.contact_id.data < 2**31:
        try:
            contacts.remove_contact(s.id, form.contact_id.data)
        except contacts.CrisisContactError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Crisis contact removed."), "success")
    else:
        flash(_("Nothing was changed."), "error")
    return redirect(url_for("study_setup.crisis_contacts", study_id=s.id))
