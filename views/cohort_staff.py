"""A cohort's people (researcher area): its facilitators and their roles, the participants
placed in it, and its groups — the whole-cohort group, small peer groups formed and balanced
automatically, then adjusted by hand (move a participant, change or swap a leader).

Scoped like the rest of the researcher area: another study's cohort or group is 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from models import Cohort, Group, db
from models.cohorts import FacilitatorRole
from program.groups import formation, staffing
from program.groups.formation import AlreadyDone, GroupingError
from views.access import researcher_study, role_required
from views.forms import LongSelectField, MultiCheckboxField, options

bp = Blueprint("cohort_staff", __name__, url_prefix="/research")


class FacilitatorForm(FlaskForm):
    user_id = SelectField(_l("Staff member"), coerce=int, choices=[])
    role = SelectField(_l("Role"), choices=[])


class AssignForm(FlaskForm):
    participants = MultiCheckboxField(_l("Allocated participants in no cohort yet"),
                                      coerce=int, choices=[])


class FormGroupsForm(FlaskForm):
    small_size = IntegerField(_l("Small groups of (people, leave empty for none)"),
                              validators=[Optional(), NumberRange(min=2, max=50)])


class MoveForm(FlaskForm):
    user_id = LongSelectField(_l("Participant"), coerce=int, choices=[])
    to_group = LongSelectField(_l("Move to"), coerce=int, choices=[])


class LeaderForm(FlaskForm):
    leader = LongSelectField(_l("Leader"), coerce=int, choices=[])


# --------------------------------------------------------------------------- scope and page


def _cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id) if 0 < cohort_id < 2**31 else None
    if cohort is None:
        abort(404)
    researcher_study(cohort.study_id)
    return cohort


def _group(group_id: int) -> Group:
    group = db.session.get(Group, group_id) if 0 < group_id < 2**31 else None
    if group is None:
        abort(404)
    researcher_study(group.cohort.study_id)
    return group


def _facilitator_form(cohort: Cohort, form: FacilitatorForm | None = None) -> FacilitatorForm:
    form = form or FacilitatorForm(formdata=None)
    form.user_id.choices = options((u.id, f"{u.display_name} <{u.email}>")
                                   for u in staffing.facilitator_accounts())
    form.role.choices = options(FacilitatorRole.choices(FacilitatorRole.of_program(
        cohort.program)))
    return form


def _assign_form(cohort: Cohort, form: AssignForm | None = None) -> AssignForm:
    form = form or AssignForm(formdata=None)
    form.participants.choices = options((p.id, f"{p.code} · {p.arm.key}")
                                        for p in staffing.waiting_participants(cohort))
    return form


def _group_forms(group: Group, groups: list[Group], members: list[formation.Member], staff
                 ) -> tuple[MoveForm, LeaderForm]:
    move, leader = MoveForm(formdata=None), LeaderForm(formdata=None)
    _move_choices(move, group, groups, members)
    leader.leader.choices = options((u.id, u.display_name) for _f, u in staff)
    return move, leader


def _move_choices(form: MoveForm, group: Group, groups: list[Group],
                  members: list[formation.Member]) -> None:
    form.user_id.choices = options((m.user_id, m.name) for m in members if m.role == "member")
    form.to_group.choices = options((g.id, g.name) for g in groups
                                    if g.kind == formation.SMALL and g.id != group.id)


def _page(cohort: Cohort, *, staff_form=None, assign=None, grouping=None, errors=(),
          status=200):
    staff = staffing.cohort_facilitators(cohort.id)
    groups = formation.cohort_groups(cohort.id)
    members = formation.group_members(cohort.id)
    with_account, without = formation.cohort_people(cohort.id)
    return render_template(
        "researcher/cohort_people.html", cohort=cohort, study=cohort.study, staff=staff,
        staff_form=_facilitator_form(cohort, staff_form), assign=_assign_form(cohort, assign),
        grouping=grouping or FormGroupsForm(formdata=None), groups=groups, members=members,
        group_forms={g.id: _group_forms(g, groups, members.get(g.id, []), staff)
                     for g in groups if g.kind == formation.SMALL},
        placed=with_account, without_account=without, errors=errors), status


def _back(cohort_id: int, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("cohort_staff.page", cohort_id=cohort_id))


# --------------------------------------------------------------------------- routes


@bp.get("/cohorts/<int:cohort_id>/people")
@role_required("researcher")
def page(cohort_id: int):
    """The cohort's facilitators, participants and groups, with the forms that change them."""
    return _page(_cohort(cohort_id))


@bp.post("/cohorts/<int:cohort_id>/facilitators")
@role_required("researcher")
def add_facilitator(cohort_id: int):
    """Give a facilitator account a role in the cohort (or change their role)."""
    cohort = _cohort(cohort_id)
    form = _facilitator_form(cohort, FacilitatorForm())
    if form.validate_on_submit():
        try:
            staffing.add_facilitator(cohort.id, form.user_id.data, form.role.data,
                                     actor=current_user)
        except GroupingError as exc:
            form.form_errors.append(str(exc))
        else:
            return _back(cohort.id, _("Facilitator saved."))
    return _page(cohort, staff_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/facilitators/<int:user_id>/remove")
@role_required("researcher")
def remove_facilitator(cohort_id: int, user_id: int):
    """Take a facilitator off the cohort (and off leading its groups)."""
    cohort = _cohort(cohort_id)
    try:
        staffing.remove_facilitator(cohort.id, user_id, actor=current_user)
    except AlreadyDone as done:  # a second click
        return _back(cohort.id, str(done), "info")
    except GroupingError:
        abort(404)
    return _back(cohort.id, _("Facilitator removed."))


@bp.post("/cohorts/<int:cohort_id>/participants")
@role_required("researcher")
def assign_participants(cohort_id: int):
    """Place allocated participants who are in no cohort yet in this one."""
    cohort = _cohort(cohort_id)
    form = _assign_form(cohort, AssignForm())
    form.participants.choices += options((p.id, p.code)  # placed by a click just before
                                         for p in staffing.placed_participants(cohort))
    if form.validate_on_submit():
        try:
            n = staffing.assign_participants(cohort.id, form.participants.data,
                                             actor=current_user)
        except AlreadyDone as done:
            return _back(cohort.id, str(done), "info")
        except GroupingError as exc:
            form.participants.errors = [str(exc)]
        else:
            return _back(cohort.id, _("%(n)d participants placed in the cohort.", n=n))
    return _page(cohort, assign=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/groups/form")
@role_required("researcher")
def form_groups(cohort_id: int):
    """Form the whole-cohort group and, given a size, balanced small groups with leaders."""
    cohort = _cohort(cohort_id)
    form = FormGroupsForm()
    if form.validate_on_submit():
        try:
            done = formation.form_groups(cohort.id, form.small_size.data, actor=current_user)
        except AlreadyDone as already:
            return _back(cohort.id, str(already), "info")
        except GroupingError as exc:
            form.form_errors.append(str(exc))
        else:
            if done.without_account:
                flash(_("%(n)d participants have no account yet and are in no group.",
                        n=done.without_account), "warning")
            return _back(cohort.id, _("Groups formed: %(groups)d new groups, %(placed)d "
                                      "places.", groups=done.created, placed=done.placed))
    return _page(cohort, grouping=form, status=400)


@bp.post("/groups/<int:group_id>/move")
@role_required("researcher")
def move_member(group_id: int):
    """Move a participant of a small group to another small group of the cohort."""
    group = _group(group_id)
    form = MoveForm()
    groups = formation.cohort_groups(group.cohort_id)
    members = formation.group_members(group.cohort_id)
    _move_choices(form, group, groups, members.get(group.id, []))
    form.user_id.choices = options(  # anyone of a small group: a second click finds them moved
        (m.user_id, m.user_id) for g in groups if g.kind == formation.SMALL
        for m in members.get(g.id, []) if m.role == "member")
    if form.validate_on_submit():
        try:
            formation.move_member(group.id, form.user_id.data, form.to_group.data,
                                  actor=current_user)
        except AlreadyDone as done:
            return _back(group.cohort_id, str(done), "info")
        except GroupingError as exc:
            return _page(group.cohort, errors=[str(exc)], status=400)
        return _back(group.cohort_id, _("Participant moved."))
    return _page(group.cohort, errors=_field_errors(form), status=400)


@bp.post("/groups/<int:group_id>/leader")
@role_required("researcher")
def change_leader(group_id: int):
    """Make one of the cohort's facilitators the small group's leader (swapping if they lead
    another small group)."""
    group = _group(group_id)
    form = LeaderForm()
    form.leader.choices = options((f.user_id, u.display_name)
                                  for f, u in staffing.cohort_facilitators(group.cohort_id))
    if form.validate_on_submit():
        try:
            other = formation.change_leader(group.id, form.leader.data, actor=current_user)
        except AlreadyDone as done:
            return _back(group.cohort_id, str(done), "info")
        except GroupingError as exc:
            return _page(group.cohort, errors=[str(exc)], status=400)
        return _back(group.cohort_id, _("Leaders swapped with %(group)s.", group=other.name)
                     if other else _("Leader changed."))
    return _page(group.cohort, errors=_field_errors(form), status=400)


def _field_errors(form: FlaskForm) -> list[str]:
    return [f"{form[name].label.text}: {error}" for name, errors in form.errors.items()
            if name in form for error in errors] or [_("Choose from the lists.")]
