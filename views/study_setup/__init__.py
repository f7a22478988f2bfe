"""Study setup pages of the researcher area: arms, cohorts, timepoints and group leaders here;
the other set-up steps (a new study and its checklist, eligibility, consent, baseline
characteristics, randomisation, staff, licensed wording) in one module each, on the same
blueprint.

Scoped like the rest of the researcher area: another study's objects are 404. Arms are fixed
once the allocation list exists (the concealed list refers to them).
"""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from models import Arm, Cohort, Group, GroupMembership, Timepoint, User, db
from program.assessments.questionnaires import library
from program.core.dates import shortdate
from program.core.zones import zonename
from program.safety.crisis_contacts import country_name
from program.trial import setup as study_setup
from views.access import researcher_study, role_required
from views.forms import MultiCheckboxField, country_choices, options

bp = Blueprint("study_setup", __name__, url_prefix="/research")

WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
            (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]
STATUS_LABELS = {"planned": _l("Planned"), "running": _l("Running"),
                 "finished": _l("Finished"), "cancelled": _l("Cancelled")}


# --------------------------------------------------------------------------- forms


class ArmForm(FlaskForm):
    key = StringField(_l("Key (label in exports)"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    receives_program = BooleanField(_l("Receives the program"), default=True)
    allocation_ratio = IntegerField(_l("Allocation ratio"), default=1,
                                    validators=[InputRequired(), NumberRange(min=1, max=20)])


class CohortForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    start_date = DateField(_l("Start date (first meeting)"), validators=[DataRequired()])
    timezone = StringField(_l("Time zone (IANA name, e.g. Asia/Tokyo)"),
                           validators=[DataRequired(), Length(max=64)])
    country = SelectField(_l("Country (chooses the crisis contacts participants see)"),
                          choices=[], validators=[Optional()])
    meeting_weekday = SelectField(_l("Meeting weekday"), coerce=int, choices=options(WEEKDAYS))
    meeting_time = TimeField(_l("Local meeting time"), validators=[DataRequired()])
    cadence_days = IntegerField(_l("Days between meetings"), default=7,
                                validators=[InputRequired(), NumberRange(min=1, max=60)])
    session_count = IntegerField(_l("Number of sessions"),
                                 validators=[InputRequired(), NumberRange(min=1, max=100)])
    release_lead_minutes = IntegerField(
        _l("Minutes before a meeting that its material is released"), default=0,
        validators=[InputRequired(), NumberRange(min=0, max=60 * 24 * 14)])
    video_link = StringField(_l("Video link"),
                             validators=[Optional(), URL(require_tld=False), Length(max=500)])
    min_minutes_present = IntegerField(_l("Minimum minutes present"), default=60,
                                       validators=[InputRequired(), NumberRange(min=0, max=600)])
    status = SelectField(_l("Status"), choices=options(STATUS_LABELS.items()))

    def validate_timezone(self, field):
        if field.data not in available_timezones():
            raise ValidationError(_("Not a known IANA time zone."))


class TimepointForm(FlaskForm):
    key = StringField(_l("Key (label in exports)"), validators=[DataRequired(), Length(max=30)])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=80)])
    position = IntegerField(_l("Position (the first is the baseline)"),
                            validators=[InputRequired(), NumberRange(min=1, max=100)])
    opens_day = IntegerField(_l("Window opens (days from the cohort's start)"),
                             validators=[InputRequired(), NumberRange(min=-3650, max=3650)])
    closes_day = IntegerField(_l("Window closes (days from the cohort's start)"),
                              validators=[InputRequired(), NumberRange(min=-3650, max=3650)])
    instruments = MultiCheckboxField(_l("Instruments"), validators=[DataRequired()])

    def validate_closes_day(self, field):
        if self.opens_day.data is not None and field.data is not None \
                and field.data < self.opens_day.data:
            raise ValidationError(_("The window cannot close before it opens."))


class GroupStaffForm(FlaskForm):
    leaders = MultiCheckboxField(_l("Leaders"), coerce=int, choices=[])
    assistants = MultiCheckboxField(_l("Assistants"), coerce=int, choices=[])

    def validate_assistants(self, field):
        if set(field.data or ()) & set(self.leaders.data or ()):
            raise ValidationError(_("Nobody can be both a leader and an assistant."))


def _values(form: FlaskForm) -> dict:
    return {name: f.data for name, f in form._fields.items() if name != "csrf_token"}


def _taken(model, study_id: int, own_id: int | None, **values) -> bool:
    query = select(model.id).where(model.study_id == study_id,
                                   *(getattr(model, k) == v for k, v in values.items()))
    if own_id:
        query = query.where(model.id != own_id)
    return db.session.scalar(query) is not None


def _page(title: str, study, form, items, *, edit_endpoint=None, action=None, groups=()):
    return render_template("researcher/setup_list.html", title=title, study=study, form=form,
                           items=items, edit_endpoint=edit_endpoint, action=action,
                           groups=groups)


# --------------------------------------------------------------------------- arms


@bp.route("/studies/<int:study_id>/arms", methods=["GET", "POST"])
@role_required("researcher")
def arms(study_id: int):
    """The study's arms; ``?arm=<id>`` edits one. Fixed once the allocation list exists."""
    s = researcher_study(study_id)
    arm = None
    if request.args.get("arm"):
        arm_id = request.args.get("arm", type=int) or 0
        # an id no database holds (ids are 32-bit integers) is simply not an arm of the study
        arm = db.session.get(Arm, arm_id) if 0 < arm_id < 2**31 else None
        if arm is None or arm.study_id != s.id:
            abort(404)
    form = ArmForm(obj=arm) if request.method == "GET" else ArmForm()
    locked = study_setup.allocation_list_exists(s.id)
    if form.validate_on_submit():
        if locked:
            form.form_errors.append(_("The allocation list exists; the arms are fixed."))
        elif _taken(Arm, s.id, arm and arm.id, key=form.key.data):
            form.key.errors.append(_("Another arm has this key."))
        else:
            study_setup.save_arm(s.id, arm and arm.id, _values(form))
            flash(_("Arm saved."), "success")
            return redirect(url_for("study_setup.arms", study_id=s.id))
    items = [(a.id, f"{a.key} · {a.name} · {a.allocation_ratio}") for a in s.arms]
    return render_template("researcher/setup_arms.html", study=s, form=form, items=items,
                           arm=arm, locked=locked)


# --------------------------------------------------------------------------- cohorts


def _cohorts(study_id: int):
    locale = str(get_locale() or "en")
    return [(c.id, f"{c.name} · {shortdate(c.start_date)} · {zonename(c.timezone)} · "
                   f"{country_name(c.country, locale)}")
            for c in db.session.scalars(select(Cohort).where(Cohort.study_id == study_id)
                                        .order_by(Cohort.start_date))]


def _cohort_form(study, cohort):
    form = CohortForm(obj=cohort) if request.method == "GET" else CohortForm()
    form.country.choices = country_choices(str(get_locale() or "en"),
                                           blank=_l("From the time zone"))
    if form.validate_on_submit():
        if _taken(Cohort, study.id, cohort and cohort.id, name=form.name.data):
            form.name.errors.append(_("Another cohort of this study has this name."))
        else:
            study_setup.save_cohort(study.id, cohort and cohort.id, _values(form), study.program)
            flash(_("Cohort saved."), "success")
            return redirect(url_for("study_setup.new_cohort", study_id=study.id))
    return _page(_("Edit cohort") if cohort else _("Cohorts"), study, form, _cohorts(study.id),
                 edit_endpoint="study_setup.edit_cohort",
                 groups=db.session.scalars(select(Group).where(Group.cohort_id == cohort.id)
                                           .order_by(Group.name)).all() if cohort else (),
                 action=url_for("study_setup.edit_cohort", cohort_id=cohort.id) if cohort
                 else url_for("study_setup.new_cohort", study_id=study.id))


@bp.route("/studies/<int:study_id>/cohorts", methods=["GET", "POST"])
@role_required("researcher")
def new_cohort(study_id: int):
    """The study's cohorts and a form for a new one."""
    return _cohort_form(researcher_study(study_id), None)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@role_required("researcher")
def edit_cohort(cohort_id: int):
    cohort = db.session.get(Cohort, cohort_id) or abort(404)
    return _cohort_form(researcher_study(cohort.study_id), cohort)


# --------------------------------------------------------------------------- timepoints


def _timepoints(study_id: int):
    return [(t.id, f"{t.position}. {t.key} · {t.label} · {t.opens_day}…{t.closes_day} · "
                   f"{', '.join(t.instruments or [])}")
            for t in db.session.scalars(select(Timepoint).where(Timepoint.study_id == study_id)
                                        .order_by(Timepoint.position))]


def _timepoint_form(study, timepoint):
    form = TimepointForm(obj=timepoint) if request.method == "GET" else TimepointForm()
    form.instruments.choices = options((k, k) for k in sorted(library()))
    if form.validate_on_submit():
        own = timepoint and timepoint.id
        if _taken(Timepoint, study.id, own, key=form.key.data):
            form.key.errors.append(_("Another timepoint has this key."))
        elif _taken(Timepoint, study.id, own, position=form.position.data):
            form.position.errors.append(_("Another timepoint has this position."))
        else:
            study_setup.save_timepoint(study.id, own, _values(form))
            flash(_("Timepoint saved."), "success")
            return redirect(url_for("study_setup.new_timepoint", study_id=study.id))
    return _page(_("Edit timepoint") if timepoint else _("Timepoints"), study, form,
                 _timepoints(study.id), edit_endpoint="study_setup.edit_timepoint",
                 action=url_for("study_setup.edit_timepoint", timepoint_id=timepoint.id)
                 if timepoint else url_for("study_setup.new_timepoint", study_id=study.id))


@bp.route("/studies/<int:study_id>/timepoints", methods=["GET", "POST"])
@role_required("researcher")
def new_timepoint(study_id: int):
    """The study's assessment schedule and a form for a new timepoint."""
    return _timepoint_form(researcher_study(study_id), None)


@bp.route("/timepoints/<int:timepoint_id>/edit", methods=["GET", "POST"])
@role_required("researcher")
def edit_timepoint(timepoint_id: int):
    timepoint = db.session.get(Timepoint, timepoint_id) or abort(404)
    return _timepoint_form(researcher_study(timepoint.study_id), timepoint)


# --------------------------------------------------------------------------- group staff


@bp.route("/groups/<int:group_id>/staff", methods=["GET", "POST"])
@role_required("researcher")
def group_staff(group_id: int):
    """Set a group's leaders and assistants by hand from the facilitator accounts."""
    group = db.session.get(Group, group_id) or abort(404)
    s = researcher_study(group.cohort.study_id)
    roles = {m.user_id: m.role for m in db.session.scalars(
        select(GroupMembership).where(GroupMembership.group_id == group.id))}
    if request.method == "GET":
        form = GroupStaffForm(data={
            "leaders": [u for u, r in roles.items() if r == "leader"],
            "assistants": [u for u, r in roles.items() if r == "assistant"]})
    else:
        form = GroupStaffForm()
    people = db.session.scalars(select(User).where(User.role == "facilitator", User.active)
                                .order_by(User.display_name)).all()
    choices = [(u.id, u.display_name) for u in people]
    form.leaders.choices = form.assistants.choices = options(choices)
    if form.validate_on_submit():
        clash = set(form.leaders.data) | set(form.assistants.data)
        if any(roles.get(u) == "member" for u in clash):
            form.form_errors.append(_("A member of the group cannot also lead it."))
        else:
            study_setup.set_group_staff(group.id, form.leaders.data, form.assistants.data)
            flash(_("Group leaders saved."), "success")
            return redirect(url_for("study_setup.group_staff", group_id=group.id))
    return render_template("researcher/setup_group_staff.html", study=s, group=group, form=form)


# --------------------------------------------------------------------------- the set-up steps
# One module per step, each adding its routes to ``bp`` (imported last: they use it).
from views.study_setup import (  # noqa: E402, F401
    characteristics,
    consent,
    crisis_contacts,
    eligibility,
    randomisation,
    recordings,
    safety,
    staff,
    studies,
    wording,
)
