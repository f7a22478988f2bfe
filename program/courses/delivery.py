"""Program delivery: the cohort calendar from the database, and the writes of delivery.

Views, CLI commands and jobs share these functions. Release is never stored: whether a session
is visible is computed from the cohort's calendar at request time (``session_visible``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from flask import has_request_context, request
from flask_babel import get_locale
from sqlalchemy import bindparam, delete, func, inspect, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from models import (
    Arm,
    Attendance,
    Cohort,
    CohortFacilitator,
    Group,
    GroupMembership,
    Meeting,
    Participant,
    PracticeLog,
    SessionProgress,
    User,
    db,
    utcnow,
    write_transaction,
)
from models.base import is_unique_violation
from models.meetings import ATTENDED
from models.people import Locale, NotifyChoice, new_token
from program.core import audit
from program.core.audit import AuditAction
from program.courses.calendar import CohortCalendar, CohortPlan, MeetingOverride, build_calendar
from program.courses.catalogue import get_catalogue
from program.safety.alerts import raise_alert
from program.safety.scanning import scan_for_risk

log = logging.getLogger("hearth.delivery")

#: participant statuses that take part in the course (everyone else gets no material)
ENROLLED_STATUSES = ("randomised", "active", "completed")


# --- the calendar ----------------------------------------------------------------------------


def cohort_plan(cohort: Cohort, meetings: list[Meeting]) -> CohortPlan:
    """The cohort's schedule settings with its cancelled and postponed meetings as overrides."""
    overrides = [override for row in meetings
                 if 1 <= row.session_number <= cohort.session_count  # not from a longer course
                 and (override := meeting_override(row)) is not None]
    program = get_catalogue().program(cohort.program)
    return CohortPlan(
        start_date=cohort.start_date,
        meeting_weekday=cohort.meeting_weekday,
        meeting_time=cohort.meeting_time,
        timezone=cohort.timezone,
        session_count=cohort.session_count,
        cadence_days=cohort.cadence_days or program.cadence_days,
        meeting_minutes=program.session_minutes,
        release_lead=timedelta(minutes=cohort.release_lead_minutes or 0),
        overrides=tuple(overrides),
    )


def meeting_override(row: Meeting) -> MeetingOverride | None:
    """How a meeting record changes the calendar: cancelled (perhaps with a make-up),
    postponed, the start of a shift of the rest of the course; None when it changes nothing."""
    cancelled = row.outcome == "cancelled"
    postponed_to = None if cancelled else row.postponed_to
    changes = (cancelled, postponed_to, row.shift_minutes, row.shift_count, row.revision)
    if not any(changes):
        return None
    return MeetingOverride(row.session_number, cancelled=cancelled, postponed_to=postponed_to,
                           shift=timedelta(minutes=row.shift_minutes or 0),
                           shifts=row.shift_count or 0, revision=row.revision or 0,
                           makeup_start=row.makeup_start if cancelled else None)


def cohort_calendar(cohort: Cohort) -> CohortCalendar:
    """The cohort's calendar, built once per request (the WSGI environ is per request)."""
    cache = request.environ.setdefault("hearth.calendars", {}) if has_request_context() else {}
    if cohort.id not in cache:
        if "meetings" in inspect(cohort).dict:  # loaded with the participant (participant_of)
            meetings = cohort.meetings
        else:
            meetings = db.session.scalars(
                select(Meeting).where(Meeting.cohort_id == cohort.id)
            ).all()
        # In a request, extra events (the retreat) are named in the viewer's language.
        locale = get_locale() if has_request_context() else None
        program = get_catalogue(locale).program(cohort.program)
        extra = [e for e in program.extra_events if e.after_session <= cohort.session_count]
        cache[cohort.id] = build_calendar(cohort_plan(cohort, list(meetings)), extra)
    return cache[cohort.id]


def _forget_calendar(cohort_id: int) -> None:
    if has_request_context():
        request.environ.get("hearth.calendars", {}).pop(cohort_id, None)


# --- who sees what ---------------------------------------------------------------------------


def participant_of(user_id: int) -> Participant | None:
    """The account's study record (one per account) with its arm, study, cohort and the
    cohort's meeting records, in one query: every participant page reads them all."""
    return db.session.scalar(_participant_statement(), {"user_id": user_id})


@lru_cache(maxsize=1)
def _participant_statement():
    """Built once per process: building and keying the eager-load options took longer than
    running the query."""
    return (select(Participant).where(Participant.user_id == bindparam("user_id"))
            .options(joinedload(Participant.arm),
                     joinedload(Participant.cohort).joinedload(Cohort.meetings),
                     joinedload(Participant.study)))


def sees_material(participant: Participant | None) -> bool:
    """Program arm, in a cohort, enrolled and not stopped: usual care sees nothing."""
    return (
        participant is not None
        and participant.cohort_id is not None
        and participant.sees_program
        and participant.status in ENROLLED_STATUSES
    )


def session_visible(participant: Participant | None, number: int, now: datetime) -> bool:
    """Whether this participant may read session ``number`` at ``now``."""
    if not sees_material(participant):
        return False
    calendar = cohort_calendar(participant.cohort)
    if not 1 <= number <= len(calendar.meetings):
        return False
    return now >= calendar.meeting(number).release_at


def facilitates(user: User, cohort_id: int) -> bool:
    return db.session.scalar(
        select(CohortFacilitator.id).where(CohortFacilitator.cohort_id == cohort_id,
                                           CohortFacilitator.user_id == user.id)
    ) is not None


# --- session progress ------------------------------------------------------------------------


def _progress(participant_id: int, number: int) -> SessionProgress:
    row = db.session.scalar(select(SessionProgress).where(
        SessionProgress.participant_id == participant_id,
        SessionProgress.session_number == number))
    if row is None:
        row = SessionProgress(participant_id=participant_id, session_number=number)
        db.session.add(row)
    return row


def record_opened(participant: Participant, number: int, now: datetime) -> SessionProgress:
    """Note the first time a participant opens a session's material; returns the progress row."""
    where = (SessionProgress.participant_id == participant.id,
             SessionProgress.session_number == number)
    row = db.session.scalar(select(SessionProgress).where(*where))
    if row is not None and row.opened_at is not None:
        return row
    # One upsert for the first open; a second tab opening it at the same moment keeps the
    # earlier time instead of failing on the unique constraint.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SessionProgress.__table__
    statement = insert(table).values(participant_id=participant.id, session_number=number,
                                     opened_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["participant_id", "session_number"],
        set_={"opened_at": func.coalesce(table.c.opened_at, statement.excluded.opened_at)})
    with write_transaction():
        db.session.execute(statement)
    return db.session.scalar(select(SessionProgress).where(*where)
                             .execution_options(populate_existing=True))


def mark_session_done(participant: Participant, number: int, now: datetime) -> None:
    with write_transaction():
        row = _progress(participant.id, number)
        row.opened_at = row.opened_at or now
        row.completed_at = row.completed_at or now


# --- practice logs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeEntry:
    practice_key: str
    practised_on: date
    minutes: int
    helpfulness: int | None
    note: str | None


def _scan_for_risk(log_row: PracticeLog, participant: Participant) -> None:
    """Screen the note for risk language and raise a safety alert in the same transaction."""
    if not log_row.note:
        return
    finding = scan_for_risk(log_row.note)
    if finding:
        raise_alert("practice_log", log_row.id, finding.rule, study_id=participant.study_id,
                    participant_id=participant.id, group_id=_home_group_id(participant),
                    finding=finding)


def _home_group_id(participant: Participant) -> int | None:
    """The participant's therapy or small peer group, whose leaders look after them."""
    if participant.user_id is None or participant.cohort_id is None:
        return None
    return db.session.scalar(
        select(Group.id)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(Group.cohort_id == participant.cohort_id, Group.kind.in_(("therapy", "small")),
               GroupMembership.user_id == participant.user_id)
        .order_by(Group.id)
        .limit(1))


def log_practice(participant: Participant, entry: PracticeEntry, token: str
                 ) -> tuple[PracticeLog, bool]:
    """Add a practice log once per form token; returns the entry and whether it is new."""
    try:
        with write_transaction():
            row = PracticeLog(participant_id=participant.id, submission_token=token,
                              **entry.__dict__)
            db.session.add(row)
            db.session.flush()
            _scan_for_risk(row, participant)
        return row, True
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
    existing = db.session.scalar(select(PracticeLog).where(
        PracticeLog.participant_id == participant.id, PracticeLog.submission_token == token))
    return existing, False


def update_practice(row: PracticeLog, participant: Participant, entry: PracticeEntry) -> None:
    with write_transaction():
        row = db.session.merge(row)
        screen_again = (entry.note or None) != (row.note or None)
        for name, value in entry.__dict__.items():
            setattr(row, name, value)
        db.session.flush()
        if screen_again:
            _scan_for_risk(row, participant)


def delete_practice(row: PracticeLog) -> bool:
    """Delete a practice entry; False when it was already gone (a second click)."""
    with write_transaction():
        deleted = db.session.execute(
            delete(PracticeLog).where(PracticeLog.id == row.id)
            .returning(PracticeLog.id)).first()
    return deleted is not None


# --- meetings and attendance -----------------------------------------------------------------


@dataclass(frozen=True)
class MeetingRecord:
    outcome: str
    postponed_to: datetime | None = None
    actual_start: datetime | None = None
    actual_minutes: int | None = None
    notes: str | None = None
    checklist_done: tuple[str, ...] = ()


def _meeting_row(cohort_id: int, number: int, *, lock: bool = False) -> Meeting:
    query = select(Meeting).where(Meeting.cohort_id == cohort_id,
                                  Meeting.session_number == number)
    if lock:  # read afresh under the row lock: the decision below depends on it
        query = query.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalar(query)
    if row is None:
        row = Meeting(cohort_id=cohort_id, session_number=number, outcome="scheduled",
                      checklist_done=[])
        db.session.add(row)
        db.session.flush()
    return row


def ensure_meeting(cohort: Cohort, number: int) -> Meeting:
    """The meeting row of session ``number``, created (as scheduled) when first needed."""
    existing = db.session.scalar(select(Meeting).where(Meeting.cohort_id == cohort.id,
                                                       Meeting.session_number == number))
    if existing is not None:
        return existing
    try:
        with write_transaction():
            return _meeting_row(cohort.id, number)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return db.session.scalar(select(Meeting).where(Meeting.cohort_id == cohort.id,
                                                       Meeting.session_number == number))


def record_meeting(cohort: Cohort, number: int, record: MeetingRecord, by: User) -> Meeting:
    """Record how session ``number``'s meeting went; postponing moves its release too."""
    checklist = get_catalogue().session(cohort.program, number).checklist
    recorded = {
        "outcome": record.outcome,
        "postponed_to": record.postponed_to if record.outcome == "postponed" else None,
        "actual_start": record.actual_start, "actual_minutes": record.actual_minutes,
        "notes": record.notes,
        "checklist_done": [item for item in checklist if item in record.checklist_done],
    }
    with write_transaction():
        row = _meeting_row(cohort.id, number, lock=True)
        cancelled = record.outcome == "cancelled"
        # A meeting held at its postponed time keeps that time; only cancelling clears it.
        recorded["postponed_to"] = (None if cancelled
                                    else (record.postponed_to or row.postponed_to))
        if all(getattr(row, name) == value for name, value in recorded.items()):
            return row  # the same record sent again: nothing changes, nothing is audited
        moved = row.postponed_to != recorded["postponed_to"]
        if (row.outcome == "cancelled") != cancelled or moved:
            row.revision = (row.revision or 0) + 1  # a new SEQUENCE for calendar apps
        row.makeup_start = row.makeup_start if cancelled else None
        for name, value in recorded.items():
            setattr(row, name, value)
        row.recorded_by_id = by.id
        audit.record(AuditAction.MEETING_RECORDED, row, actor=by, cohort_id=cohort.id,
                     session=number, outcome=record.outcome)
    _forget_calendar(cohort.id)
    return row


@dataclass(frozen=True)
class AttendanceMark:
    participant_id: int
    status: str
    minutes: int | None = None




def meeting_day(meeting: Meeting) -> date:
    """The day, on the cohort's wall clock, a meeting took place: its recorded start, else its
    make-up, postponed, shifted or planned start (from the cohort's calendar, so a shift of the
    course from an earlier meeting counts)."""
    cohort = meeting.cohort
    calendar = cohort_calendar(cohort)
    start = meeting.actual_start
    if start is None and 1 <= meeting.session_number <= cohort.session_count:
        planned = calendar.meeting(meeting.session_number)
        makeup = [m.actual_start for m in calendar.makeups
                  if m.session_number == meeting.session_number]
        start = (planned.actual_start or (makeup[0] if makeup else None)
                 or planned.scheduled_start or planned.planned_start)
    return calendar.local(start or utcnow()).date()


def record_attendance(meeting: Meeting, marks: list[AttendanceMark], by: User,
                      source: str = "register") -> int:
    """Upsert one attendance row per participant for this meeting; returns rows written.

    A participant recorded present or late at one of the cohort's meetings has started the
    course: ``started_on`` is the day of the earliest such meeting (a register filled in late
    for an earlier meeting moves it earlier, never later), and marking them absent later
    leaves it.
    """
    if not marks:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    # One statement for the whole register (a 500-person cohort was 500 round trips); a
    # participant marked twice keeps the last mark, as one upsert after another would.
    rows = {mark.participant_id: {
        "meeting_id": meeting.id, "participant_id": mark.participant_id, "status": mark.status,
        "minutes_attended": mark.minutes, "source": source, "recorded_at": now}
        for mark in marks}
    statement = insert(Attendance.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["meeting_id", "participant_id"],
        set_={"status": statement.excluded.status,
              "minutes_attended": statement.excluded.minutes_attended,
              "source": statement.excluded.source,
              "recorded_at": statement.excluded.recorded_at},
    )
    attended = sorted(pid for pid, row in rows.items() if row["status"] in ATTENDED)
    started = (
        update(Participant)
        .where(Participant.id.in_(attended), Participant.cohort_id == meeting.cohort_id,
               or_(Participant.started_on.is_(None),
                   Participant.started_on > meeting_day(meeting)))
        .values(started_on=meeting_day(meeting))
        .execution_options(synchronize_session=False)
    ) if attended else None
    with write_transaction():
        # one register of a meeting at a time, decided from what is stored now
        db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
        stored = {(a.participant_id, a.status, a.minutes_attended, a.source)
                  for a in db.session.execute(
                      select(Attendance.participant_id, Attendance.status,
                             Attendance.minutes_attended, Attendance.source)
                      .where(Attendance.meeting_id == meeting.id))}
        if {(r["participant_id"], r["status"], r["minutes_attended"], r["source"])
                for r in rows.values()} <= stored:
            return len(marks)  # the same register sent again: nothing changes
        db.session.execute(statement, list(rows.values()))
        if started is not None:
            db.session.execute(started)  # expired below with everything else
        audit.record(AuditAction.ATTENDANCE_RECORDED, meeting, actor=by, source=source,
                     rows=len(marks))
    db.session.expire_all()
    return len(marks)


# --- preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    timezone: str
    locale: str | None
    reminders_enabled: bool
    notify_replies: str
    notify_announcements: str
    calendar_video_link: bool = False


def update_preferences(user: User, prefs: Preferences) -> None:
    if prefs.locale is not None and prefs.locale not in Locale.codes():
        raise ValueError(f"unsupported locale {prefs.locale!r}")
    if {prefs.notify_replies, prefs.notify_announcements} - set(NotifyChoice.codes()):
        raise ValueError("unknown notification choice")
    with write_transaction():
        row = db.session.get(User, user.id)
        for name, value in prefs.__dict__.items():
            setattr(row, name, value)


def renew_calendar_link(user: User) -> str:
    """A new private calendar address for ``user``; the old one stops working at once."""
    with write_transaction():
        row = db.session.get(User, user.id)
        row.calendar_token = new_token()
        audit.record(AuditAction.CALENDAR_LINK_RENEWED, row, actor=row)
    return row.calendar_token


# --- the cohort roster -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """One participant on a cohort's roster, as the register, the roster and the import read
    them: four columns rather than two whole rows (a 2,000-person register loads in
    milliseconds, not a tenth of a second)."""

    id: int  #: the participant's id
    code: str
    name: str  #: the account's display name
    email: str


def _roster_filter(cohort: Cohort) -> tuple:
    """``sees_material`` in SQL for the cohort's participants with an account (joined to Arm)."""
    return (Participant.cohort_id == cohort.id, Arm.receives_program.is_(True),
            Participant.withdrawal_kind.is_(None), Participant.status.in_(ENROLLED_STATUSES))


def cohort_roster(cohort: Cohort) -> list[RosterPerson]:
    """The cohort's participants who receive the program, by name (usual care excluded)."""
    rows = db.session.execute(
        select(Participant.id, Participant.code, User.display_name, User.email)
        .join(User, User.id == Participant.user_id).join(Arm, Arm.id == Participant.arm_id)
        .where(*_roster_filter(cohort)).order_by(User.display_name, Participant.code))
    return [RosterPerson(*row) for row in rows]


def cohort_roster_size(cohort: Cohort) -> int:
    """How many people ``cohort_roster`` lists, counted in the database."""
    return db.session.scalar(
        select(func.count()).select_from(Participant)
        .join(User, User.id == Participant.user_id).join(Arm, Arm.id == Participant.arm_id)
        .where(*_roster_filter(cohort))) or 0
