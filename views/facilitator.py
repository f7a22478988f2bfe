"""The facilitator area: cohorts, meeting records, attendance and the roster."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from models import (
    Attendance,
    Cohort,
    CohortFacilitator,
    Group,
    GroupMembership,
    Meeting,
    db,
    utcnow,
)
from models.meetings import AttendanceStatus
from program.core.dates import pattern
from program.courses import attendance_import, rescheduling, staff_calendar
from program.courses import delivery as operations
from program.courses import progress as progress_of
from program.courses import register as register_rules
from program.courses.catalogue import get_catalogue
from program.courses.roster import cohort_progress
from views import navigation
from views.access import facilitator_cohort, role_required
from views.forms import MultiCheckboxField, options, plausible_date
from views.security import accepts_uploads

bp = Blueprint("facilitator", __name__, url_prefix="/facilitate")
navigation.add("facilitator", "facilitator.home", "Cohorts", order=10)

OUTCOMES = [("held", _l("Held as planned")), ("truncated", _l("Held but cut short")),
            ("postponed", _l("Postponed")), ("cancelled", _l("Cancelled")),
            ("scheduled", _l("Not yet recorded"))]
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class MeetingForm(FlaskForm):
    outcome = SelectField(_l("How did it go?"), choices=options(OUTCOMES))
    postponed_to = DateTimeLocalField(_l("Postponed to (cohort's local time)"),
                                      validators=[Optional(), plausible_date])
    actual_start = DateTimeLocalField(_l("Actual start (cohort's local time)"),
                                      validators=[Optional(), plausible_date])
    actual_minutes = IntegerField(_l("Actual length in minutes"),
                                  validators=[Optional(), NumberRange(min=0, max=600)])
    notes = TextAreaField(_l("Notes"))
    checklist = MultiCheckboxField(_l("Adherence checklist"), choices=[])

    def validate_actual_start(self, field) -> None:
        if field.data is not None and not 2000 <= field.data.year <= utcnow().year + 2:
            raise ValidationError(_("Give the time the meeting actually started."))


CHANGES = [(rescheduling.Change.MOVE, _l("Move only this meeting")),
           (rescheduling.Change.SHIFT,
            _l("Move this meeting and every later one (and the retreat) by the same interval")),
           (rescheduling.Change.MAKEUP, _l("Cancel it and add a make-up meeting")),
           (rescheduling.Change.CANCEL, _l("Cancel it without a make-up"))]


class RescheduleForm(FlaskForm):
    change = RadioField(_l("What changes?"), choices=options(CHANGES),
                        validators=[InputRequired()])
    new_start = DateTimeLocalField(_l("New date and time (cohort's local time)"),
                                   validators=[Optional()])


class ImportForm(FlaskForm):
    report = FileField(_l("Participant report (CSV)"), validators=[FileRequired()])


def _session_number(cohort: Cohort, number: int) -> int:
    if not 1 <= number <= cohort.session_count:
        abort(404)
    return number


def _meeting_row(cohort: Cohort, number: int) -> Meeting | None:
    return db.session.scalar(select(Meeting).where(Meeting.cohort_id == cohort.id,
                                                   Meeting.session_number == number))


@bp.get("/")
@role_required("facilitator")
def home():
    """The cohorts this facilitator runs and the groups they lead or assist."""
    cohorts = db.session.scalars(
        select(Cohort)
        .join(CohortFacilitator)
        .where(CohortFacilitator.user_id == current_user.id)
        .order_by(Cohort.start_date)
    ).all()
    groups = db.session.execute(
        select(Group, GroupMembership.role)
        .join(GroupMembership)
        .where(GroupMembership.user_id == current_user.id)
        .order_by(Group.cohort_id, Group.name)
    ).all()
    return render_template("facilitator/home.html", cohorts=cohorts, groups=groups)


@bp.get("/cohorts/<int:cohort_id>")
@role_required("facilitator")
def cohort(cohort_id: int):
    """The cohort's calendar: planned and actual dates and each meeting's record."""
    cohort = facilitator_cohort(cohort_id)
    calendar = operations.cohort_calendar(cohort)
    program = get_catalogue(get_locale()).program(cohort.program)
    records = {m.session_number: m for m in db.session.scalars(
        select(Meeting).where(Meeting.cohort_id == cohort.id))}
    counts = dict(db.session.execute(
        select(Attendance.meeting_id, func.count()).join(Meeting)
        .where(Meeting.cohort_id == cohort.id, Attendance.attended)
        .group_by(Attendance.meeting_id)).all())
    rows = [(m, program.session(m.session_number), records.get(m.session_number),
             counts.get(getattr(records.get(m.session_number), "id", None), 0))
            for m in calendar.meetings]
    guides = [(e.title, e.section("Facilitator guide")) for e in program.extra_events if e.page]
    return render_template("facilitator/cohort.html", cohort=cohort, calendar=calendar,
                           rows=rows, roster_size=operations.cohort_roster_size(cohort),
                           event_guides=guides)


def _local_naive(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    return instant.astimezone(zone).replace(tzinfo=None) if instant else None


def _aware(local: datetime | None, zone: ZoneInfo) -> datetime | None:
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")) if local else None


def _meeting_form(cohort: Cohort, number: int, session, zone: ZoneInfo) -> MeetingForm:
    """The meeting form, filled from the meeting's record on first view."""
    form = MeetingForm()
    # Ticked items are stored in English (the adherence analysis counts them); shown translated.
    english = get_catalogue().session(cohort.program, number).checklist
    form.checklist.choices = options(zip(english, session.checklist, strict=True))
    row = _meeting_row(cohort, number)
    if request.method == "GET" and row is not None:
        form.outcome.data = row.outcome
        form.postponed_to.data = _local_naive(row.postponed_to, zone)
        form.actual_start.data = _local_naive(row.actual_start, zone)
        form.actual_minutes.data = row.actual_minutes
        form.notes.data = row.notes
        form.checklist.data = list(row.checklist_done or [])
    return form


def _meeting_record(form: MeetingForm, zone: ZoneInfo) -> operations.MeetingRecord:
    return operations.MeetingRecord(
        outcome=form.outcome.data,
        postponed_to=_aware(form.postponed_to.data, zone),
        actual_start=_aware(form.actual_start.data, zone),
        actual_minutes=form.actual_minutes.data,
        notes=(form.notes.data or "").strip() or None,
        checklist_done=tuple(form.checklist.data or ()))


@bp.route("/cohorts/<int:cohort_id>/meetings/<int:number>", methods=["GET", "POST"])
@role_required("facilitator")
def meeting(cohort_id: int, number: int):
    """Record a meeting: outcome, actual start and length, notes, adherence checklist."""
    cohort = facilitator_cohort(cohort_id)
    number = _session_number(cohort, number)
    zone = ZoneInfo(cohort.timezone)
    session = get_catalogue(get_locale()).session(cohort.program, number)
    planned = operations.cohort_calendar(cohort).meeting(number)
    form = _meeting_form(cohort, number, session, zone)
    if form.validate_on_submit() and not _schedule_change_refused(cohort, number, form):
        operations.record_meeting(cohort, number, _meeting_record(form, zone), current_user)
        flash(_("Meeting record saved."), "success")
        return redirect(url_for("facilitator.cohort", cohort_id=cohort.id))
    return render_template("facilitator/meeting.html", cohort=cohort, session=session,
                           planned=planned, form=form, zone=zone)


def _schedule_change_refused(cohort: Cohort, number: int, form: MeetingForm) -> bool:
    """A postponement or cancellation in the meeting record is a change of the schedule: check
    it as one (a form error when it cannot be made), make it and tell everyone."""
    row = _meeting_row(cohort, number)
    new_start = rescheduling.to_instant(form.postponed_to.data, cohort.timezone)
    if form.outcome.data == "cancelled" and getattr(row, "outcome", None) != "cancelled":
        request_ = rescheduling.Request(number, rescheduling.Change.CANCEL)
    elif (form.outcome.data == "postponed" and new_start is None) or (
            # A new time typed with any outcome but "cancelled" moves the meeting.
            form.outcome.data != "cancelled" and new_start is not None
            and new_start != getattr(row, "postponed_to", None)):
        request_ = rescheduling.Request(number, rescheduling.Change.MOVE, new_start)
    else:
        return False
    problem = rescheduling.problem(cohort, request_, utcnow())
    if problem:
        form.postponed_to.errors.append(problem)
        return True
    rescheduling.reschedule(cohort, request_, current_user)
    return False


@bp.route("/cohorts/<int:cohort_id>/meetings/<int:number>/reschedule", methods=["GET", "POST"])
@role_required("facilitator")
def reschedule(cohort_id: int, number: int):
    """Postpone or cancel a meeting: move it alone, shift the rest with it, or add a make-up."""
    cohort = facilitator_cohort(cohort_id)
    number = _session_number(cohort, number)
    session = get_catalogue(get_locale()).session(cohort.program, number)
    form = RescheduleForm()
    if form.validate_on_submit():
        request_ = rescheduling.Request(
            number, rescheduling.Change(form.change.data),
            rescheduling.to_instant(form.new_start.data, cohort.timezone))
        if rescheduling.done_already(cohort, request_):  # a second click
            flash(_("The meeting is changed so already; nobody is told twice."), "info")
            return redirect(url_for("facilitator.cohort", cohort_id=cohort.id))
        problem = rescheduling.problem(cohort, request_, utcnow())
        if problem is None:
            done = rescheduling.reschedule(cohort, request_, current_user)
            flash(_("The schedule is changed and everyone is told.") if done else
                  _("The meeting is changed so already; nobody is told twice."),
                  "success" if done else "info")
            return redirect(url_for("facilitator.cohort", cohort_id=cohort.id))
        form.new_start.errors.append(problem)
    return render_template("facilitator/reschedule.html", cohort=cohort, session=session,
                           meeting=operations.cohort_calendar(cohort).meeting(number), form=form)


CONTRADICTIONS = {
    "absent_with_minutes": _l("%(name)s is marked absent but attended %(minutes)d minutes: "
                              "mark them present or late, or clear the minutes."),
    "present_without_minutes": _l("%(name)s is marked present with 0 minutes: give the minutes "
                                  "attended, or mark them absent."),
}


def _register_mark(person: operations.RosterPerson, cohort: Cohort, fill: str, kept) -> tuple[
        operations.AttendanceMark | None, str | None]:
    """One row of the register as submitted: its mark, or a message why it cannot be saved."""
    status = request.form.get(f"status-{person.id}", "") or fill
    if not status:
        return None, None
    if status not in AttendanceStatus:
        return None, _("Choose present, absent or late for %(name)s.", name=person.name)
    raw = request.form.get(f"minutes-{person.id}", "").strip()
    if raw and (not (raw.isascii() and raw.isdigit()) or int(raw) > 600):  # not "²"
        return None, _("Minutes for %(name)s must be a whole number up to 600.",
                       name=person.name)
    minutes = int(raw) if raw else None
    why = register_rules.contradiction(status, minutes, cohort.min_minutes_present)
    if why and (kept is None or (kept.status, kept.minutes_attended) != (status, minutes)):
        return None, str(CONTRADICTIONS[why] % {"name": person.name, "minutes": minutes})
    return operations.AttendanceMark(person.id, status, minutes), None


def _register_marks(cohort: Cohort, roster, existing: dict, later: set[int]
                    ) -> tuple[list[operations.AttendanceMark], list[str]]:
    """The register's marks as submitted, and a message for each row that cannot be saved.

    A stored mark submitted unchanged is kept as it is (an imported dose below the cohort's
    minimum is an absence with minutes); people who joined after this meeting are not filled.
    """
    marks, errors = [], []
    # "Everyone else present": on a phone, mark the few exceptions and tap once.
    fill = "present" if request.form.get("fill") == "present" else ""
    for person in roster:
        mark, error = _register_mark(person, cohort, "" if person.id in later else fill,
                                     existing.get(person.id))
        if error:
            errors.append(error)
        elif mark:
            marks.append(mark)
    return marks, errors


def _register_state(cohort: Cohort, number: int, roster) -> tuple[dict, set[int]]:
    """The meeting's stored marks by participant (status and minutes), and who joined the
    cohort after it (first attended a later meeting and is not on this one's register)."""
    existing = {a.participant_id: a for a in db.session.execute(
        select(Attendance.participant_id, Attendance.status, Attendance.minutes_attended)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Meeting.cohort_id == cohort.id, Meeting.session_number == number))}
    first = register_rules.first_attended(cohort.id)
    later = {p.id for p in roster
             if first.get(p.id, number) > number and p.id not in existing}
    return existing, later


@bp.route("/cohorts/<int:cohort_id>/meetings/<int:number>/register", methods=["GET", "POST"])
@role_required("facilitator")
def register(cohort_id: int, number: int):
    """The attendance register: one row per participant, present / absent / late."""
    cohort = facilitator_cohort(cohort_id)
    number = _session_number(cohort, number)
    roster = operations.cohort_roster(cohort)
    existing, later = _register_state(cohort, number, roster)
    errors: list[str] = []
    if request.method == "POST":
        marks, errors = _register_marks(cohort, roster, existing, later)
        if not errors:
            meeting_row = operations.ensure_meeting(cohort, number)
            operations.record_attendance(meeting_row, marks, current_user)
            flash(_("Attendance saved for %(n)d participants.", n=len(marks)), "success")
            return redirect(url_for("facilitator.cohort", cohort_id=cohort.id))
    return render_template("facilitator/register.html", cohort=cohort, number=number,
                           roster=roster, existing=existing, errors=errors, later=later,
                           submitted=request.form if request.method == "POST" else {})


@bp.route("/cohorts/<int:cohort_id>/meetings/<int:number>/import", methods=["GET", "POST"])
@accepts_uploads("report")
@role_required("facilitator")
def attendance_import_upload(cohort_id: int, number: int):
    """Upload the video platform's participant report and review the matches."""
    cohort = facilitator_cohort(cohort_id)
    number = _session_number(cohort, number)
    form = ImportForm()
    if form.validate_on_submit():
        data = form.report.data.read(MAX_UPLOAD_BYTES + 1)
        try:
            if len(data) > MAX_UPLOAD_BYTES:
                raise attendance_import.ReportError("the file is larger than 2 MB")
            people = attendance_import.parse_report(data)
        except attendance_import.ReportError as exc:
            form.report.errors.append(_("This file cannot be read: %(why)s", why=str(exc)))
        else:
            roster = operations.cohort_roster(cohort)
            entries = [attendance_import.RosterEntry(p.id, p.email, p.name) for p in roster]
            matches = attendance_import.match_report(people, entries)
            return render_template("facilitator/import_review.html", cohort=cohort,
                                   number=number, matches=matches, roster=roster)
    return render_template("facilitator/import_upload.html", cohort=cohort, number=number,
                           form=form)


def _confirmed_minutes(roster_ids: set[int]) -> dict[int, int]:
    """Minutes per participant from the ticked rows of the review page (400 on a forged row)."""
    minutes_by_participant: dict[int, int] = {}
    try:
        rows = min(int(request.form.get("rows", "0")), attendance_import.MAX_ROWS)
    except ValueError:
        abort(400)
    for i in range(rows):
        if not request.form.get(f"confirm-{i}"):
            continue
        try:
            participant_id = int(request.form.get(f"participant-{i}", ""))
            minutes = int(request.form.get(f"minutes-{i}", ""))
        except ValueError:
            continue
        if participant_id not in roster_ids or not 0 <= minutes <= 1440:
            abort(400)
        minutes_by_participant[participant_id] = (
            minutes_by_participant.get(participant_id, 0) + minutes)
    return minutes_by_participant


@bp.post("/cohorts/<int:cohort_id>/meetings/<int:number>/import/confirm")
@role_required("facilitator")
def attendance_import_confirm(cohort_id: int, number: int):
    """Save the confirmed matches: minutes kept as dose, status from the cohort's rule."""
    cohort = facilitator_cohort(cohort_id)
    number = _session_number(cohort, number)
    roster_ids = {p.id for p in operations.cohort_roster(cohort)}
    minutes_by_participant = _confirmed_minutes(roster_ids)
    meeting_row = operations.ensure_meeting(cohort, number)
    recorded = {a.participant_id for a in db.session.scalars(
        select(Attendance).where(Attendance.meeting_id == meeting_row.id))}
    first = register_rules.first_attended(cohort.id)
    recorded |= {pid for pid in roster_ids if first.get(pid, number) > number}  # joined later
    marks = [operations.AttendanceMark(
        pid, attendance_import.status_for(minutes, cohort.min_minutes_present), minutes)
        for pid, minutes in minutes_by_participant.items()]
    # People missing from the report were not in the meeting, unless someone already said so.
    marks += [operations.AttendanceMark(pid, "absent", 0)
              for pid in sorted(roster_ids - minutes_by_participant.keys() - recorded)]
    operations.record_attendance(meeting_row, marks, current_user, source="import")
    flash(_("Imported attendance for %(n)d participants.", n=len(minutes_by_participant)),
          "success")
    return redirect(url_for("facilitator.register", cohort_id=cohort.id, number=number))


@bp.get("/cohorts/<int:cohort_id>/roster")
@role_required("facilitator")
def roster(cohort_id: int):
    """Each participant's attendance, last practice and material opened; who is falling behind."""
    cohort = facilitator_cohort(cohort_id)
    progress = cohort_progress(cohort, utcnow())
    return render_template("facilitator/roster.html", cohort=cohort,
                           rows=progress.rows, released=progress.released,
                           week_start=progress.week_start)


# --- one participant's progress (issue 15) ----------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>/participants/<int:participant_id>")
@role_required("facilitator")
def participant_progress(cohort_id: int, participant_id: int):
    """One participant's progress: sessions opened, practice per week, notes they wrote,
    attendance and the questionnaires done (not the answers)."""
    cohort = facilitator_cohort(cohort_id)
    participant = progress_of.cohort_participant(cohort, participant_id) or abort(404)
    progress = progress_of.participant_progress(participant, utcnow())
    return render_template("facilitator/progress.html", cohort=cohort, progress=progress,
                           user=participant.user)


# --- the facilitator's calendar: month and week (issue 15) ------------------------------------

CALENDAR_VIEWS = ("month", "week")


def _calendar_day(raw: str | None, today: date) -> date:
    """The day asked for in the query string, or today (a bad or far-off date is today)."""
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return today
    return day if 2000 <= day.year <= 2100 else today


@bp.get("/calendar")
@role_required("facilitator")
def calendar():
    """Every meeting and event of the facilitator's cohorts as a month or a week."""
    view = request.args.get("view", "month")
    if view not in CALENDAR_VIEWS:
        view = "month"
    now = utcnow()
    today = now.astimezone(ZoneInfo(current_user.timezone or "UTC")).date()
    page = staff_calendar.calendar_page(current_user, view,
                                        _calendar_day(request.args.get("on"), today), now)
    return render_template("facilitator/calendar.html", page=page,
                           labels=_calendar_labels(page))


def _calendar_labels(page: staff_calendar.CalendarPage) -> dict:
    """The page's heading and weekday names in the viewer's language."""
    locale = Locale.parse(str(get_locale() or "en"))
    skeleton = locale.datetime_skeletons.get("yMMMM") or locale.datetime_skeletons["yMMM"]
    title = (format_date(page.first, skeleton.pattern) if page.view == "month"
             else _("Week of %(day)s", day=format_date(page.first, pattern("short_date"))))
    return {"title": title,
            "weekdays": [locale.days["format"]["wide"][i] for i in range(7)],
            "short_weekdays": [locale.days["format"]["abbreviated"][i] for i in range(7)]}
