"""The study's clinicians and staff: existing staff accounts added with their flags (a
clinician receives safety alerts; a staff member blind to allocation never sees arms)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import InputRequired

from models import User, db
from models.people import Role
from program.trial import studies as trial_studies
from program.trial.setup import SetupError
from views.access import researcher_study, role_required
from views.forms import options
from views.study_setup import bp
from views.study_setup.steps import next_step


class StaffForm(FlaskForm):
    user_id = SelectField(_l("Staff account"), coerce=int, choices=[])
    is_clinician = BooleanField(_l("Clinician (receives safety alerts)"))
    blind_to_arm = BooleanField(_l("Blind to allocation (never sees arms)"))


class RemoveStaffForm(FlaskForm):
    user_id = IntegerField(validators=[InputRequired()])


def _accounts():
    return options((u.id, f"{u.display_name} · {Role.label_of(u.role)} <{u.email}>")
                   for u in db.session.scalars(
        select(User).where(User.role.in_(trial_studies.STAFF_ROLES), User.active)
        .order_by(User.display_name)))


def _page(study, form):
    return render_template("researcher/setup_staff.html", study=study, form=form,
                           rows=trial_studies.staff_rows(study.id),
                           next_step=next_step(study, "staff"))


@bp.route("/studies/<int:study_id>/staff", methods=["GET", "POST"])
@role_required("researcher")
def staff(study_id: int):
    """The study's staff, and a form that adds an account or changes its flags."""
    s = researcher_study(study_id)
    form = StaffForm()
    form.user_id.choices = _accounts()
    if form.validate_on_submit():
        try:
            trial_studies.set_staff(s.id, form.user_id.data, is_clinician=form.is_clinician.data,
                                    blind_to_arm=form.blind_to_arm.data)
        except SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(_("Staff saved."), "success")
            return redirect(url_for("study_setup.staff", study_id=s.id))
    return _page(s, form)


@bp.post("/studies/<int:study_id>/staff/remove")
@role_required("researcher")
def remove_staff(study_id: int):
    """Take an account off the study's staff (not oneself)."""
    s = researcher_study(study_id)
    form = RemoveStaffForm()
    if form.validate_on_submit() and 0 < form.user_id.data < 2**31:
        try:
            trial_studies.remove_staff(s.id, form.user_id.data, actor=current_user)
        except SetupError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Taken off the study's staff."), "success")
    else:
        flash(_("Nothing was changed."), "error")
    return redirect(url_for("study_setup.staff", study_id=s.id))
