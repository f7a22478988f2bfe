"""Postponing and cancelling a live meeting, and everything that follows from it.

A facilitator chooses how the course changes (``Change``):

- ``move``: only this meeting moves; refused when it would fall on the same day as, or overlap,
  another meeting of the cohort;
- ``shift``: this meeting and every later one (and the retreat, when it lies ahead) move by the
  same interval on the cohort's wall clock;
- ``makeup``: this meeting is cancelled and a make-up meeting is added at the chosen time;
- ``cancel``: this meeting is cancelled without a make-up.

The change is stored on the meeting's record (``Meeting.postponed_to``, ``shift_minutes``,
``makeup_start``, ``revision``) and everything else is derived from the cohort's calendar:
releases, reminders, the join link, the iCalendar feed (same UID, higher SEQUENCE) and the
assessment windows tied to the course end (``course_end_shift``). Participants and the cohort's
staff get an email in their language and time zone, queued in the same transaction as the
change and its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from models import (
    Cohort,
    CohortFacilitator,
    Meeting,
    OutboxMessage,
    Participant,
    User,
    db,
    write_transaction,
)
from program.core import audit
from program.core.audit import AuditAction
from program.core.dates import cohort_time, for_recipient
from program.courses.calendar import CohortCalendar, MeetingStatus, PlannedMeeting, build_calendar
from program.courses.catalogue import get_catalogue
from program.courses.delivery import (
    _forget_calendar,
    cohort_calendar,
    cohort_plan,
    ensure_meeting,
    sees_material,
)
from program.messaging.outbox import enqueue_email

#: how far ahead a meeting may be moved (further is a typing mistake, and near year 9999
#: the calendar's arithmetic would overflow)
LATEST = timedelta(days=730)


class Change(StrEnum):
    MOVE = "move"
    SHIFT = "shift"
    MAKEUP = "makeup"
    CANCEL = "cancel"


AUDIT_ACTIONS = {Change.MOVE: AuditAction.MEETING_MOVED,
                 Change.SHIFT: AuditAction.COURSE_SHIFTED,
                 Change.MAKEUP: AuditAction.MAKEUP_ADDED,
                 Change.CANCEL: AuditAction.MEETING_CANCELLED}


@dataclass(frozen=True)
class Request:
    """A change to session ``number``'s meeting; ``new_start`` is aware (UTC)."""

    number: int
    change: Change
    new_start: datetime | None = None


#: what a typed time too far back to be an instant (year 1 east of Greenwich) stands for
LONG_AGO = datetime(1900, 1, 1, tzinfo=UTC)


def to_instant(local: datetime | None, timezone: str) -> datetime | None:
    """A time typed on the cohort's wall clock as an aware UTC instant (``LONG_AGO`` for one
    before 1900, so it is refused as past rather than overflowing); None for no time."""
    if local is None:
        return None
    if local.year < 1900:
        return LONG_AGO
    try:
        return local.replace(tzinfo=ZoneInfo(timezone), fold=0).astimezone(UTC)
    except (OverflowError, ValueError):
        return LONG_AGO


# --- checking ----------------------------------------------------------------------------------


def problem(cohort: Cohort, request: Request, now: datetime) -> str | None:
    """Why this change cannot be made (a sentence for the form), or None when it can."""
    if request.change == Change.CANCEL:
        return None
    start = request.new_start
    if start is None:
        return _("Give the new date and time.")
    if start <= now:
        return _("The new time has passed. Choose a time from now on.")
    if start > now + LATEST:
        return _("Choose a time within the next two years.")
    current = cohort_calendar(cohort)
    if request.change == Change.SHIFT and start <= _scheduled(current, request.number):
        return _("To move this and every later meeting, choose a time after the current one.")
    return _collision(cohort, request)


def _start_of(meeting: PlannedMeeting) -> datetime:
    return meeting.actual_start or meeting.scheduled_start or meeting.planned_start


def _scheduled(calendar: CohortCalendar, number: int) -> datetime:
    """Where the meeting stands with the course's shifts, before its own postponement."""
    meeting = calendar.meeting(number)
    return meeting.scheduled_start or meeting.planned_start


def _collision(cohort: Cohort, request: Request) -> str | None:
    calendar = _calendar_after(cohort, request)

    def changed(m: PlannedMeeting) -> bool:
        if request.change == Change.SHIFT:
            return m.session_number >= request.number and m.status != MeetingStatus.MAKEUP
        return m.session_number == request.number

    live = calendar.live_meetings()
    for mine in filter(changed, live):
        for other in live:
            if other is mine or changed(other):
                continue
            same_day = (calendar.local(mine.actual_start).date()
                        == calendar.local(other.actual_start).date())
            if same_day or (mine.actual_start < other.actual_end
                            and other.actual_start < mine.actual_end):
                return _("This would clash with the meeting of session %(n)d on %(when)s. "
                         "Choose another time, or move this and every later meeting.",
                         n=other.session_number,
                         when=cohort_time(other.actual_start, cohort.timezone))
    return None


def _calendar_after(cohort: Cohort, request: Request) -> CohortCalendar:
    """The cohort's calendar as it would be after the change (nothing is written)."""
    rows = {m.session_number: m for m in db.session.scalars(
        select(Meeting).where(Meeting.cohort_id == cohort.id))}
    current = rows.get(request.number)
    copy = Meeting(cohort_id=cohort.id, session_number=request.number,
                   outcome=getattr(current, "outcome", "scheduled"),
                   postponed_to=getattr(current, "postponed_to", None),
                   makeup_start=getattr(current, "makeup_start", None),
                   shift_minutes=getattr(current, "shift_minutes", 0) or 0,
                   shift_count=getattr(current, "shift_count", 0) or 0,
                   revision=getattr(current, "revision", 0) or 0)
    _apply(copy, request, cohort_calendar(cohort))
    rows[request.number] = copy
    program = get_catalogue().program(cohort.program)
    extra = [e for e in program.extra_events if e.after_session <= cohort.session_count]
    return build_calendar(cohort_plan(cohort, list(rows.values())), extra)


# --- changing ----------------------------------------------------------------------------------


def _apply(row: Meeting, request: Request, calendar: CohortCalendar) -> int:
    """Write the change onto the meeting's record; returns the shift in minutes (0 if none)."""
    minutes = 0
    if request.change == Change.SHIFT:
        zone = calendar.zone
        before = _scheduled(calendar, request.number).astimezone(zone).replace(tzinfo=None)
        after = request.new_start.astimezone(zone).replace(tzinfo=None)
        minutes = int((after - before).total_seconds() // 60)
        row.shift_minutes = (row.shift_minutes or 0) + minutes
        row.shift_count = (row.shift_count or 0) + 1
    else:
        row.revision = (row.revision or 0) + 1
    cancelled = request.change in (Change.MAKEUP, Change.CANCEL)
    row.outcome = "cancelled" if cancelled else "postponed"
    row.postponed_to = None if cancelled else request.new_start
    row.makeup_start = request.new_start if request.change == Change.MAKEUP else None
    return minutes


def _current(cohort: Cohort) -> CohortCalendar:
    """The cohort's calendar read afresh inside the write (no request cache)."""
    return build_calendar(cohort_plan(cohort, list(db.session.scalars(
        select(Meeting).where(Meeting.cohort_id == cohort.id)
        .execution_options(populate_existing=True)))))


def done_already(cohort: Cohort, request: Request, row: Meeting | None = None) -> bool:
    """The meeting stands as this change would leave it (the form sent twice): nothing to do."""
    row = row or db.session.scalar(
        select(Meeting).where(Meeting.cohort_id == cohort.id,
                              Meeting.session_number == request.number)
        .execution_options(populate_existing=True))
    if row is None:
        return False
    if request.change == Change.SHIFT:
        return bool(row.shift_count) and _scheduled(_current(cohort), request.number) \
            == request.new_start
    expected = {Change.MOVE: ("postponed", request.new_start, None),
                Change.MAKEUP: ("cancelled", None, request.new_start),
                Change.CANCEL: ("cancelled", None, None)}[request.change]
    return (row.outcome, row.postponed_to, row.makeup_start) == expected


def reschedule(cohort: Cohort, request: Request, by: User) -> Meeting | None:
    """Make the change (check it with ``problem`` first), tell everyone and audit it; None
    when the meeting stands so already (a second click: nothing is written or sent)."""
    ensure_meeting(cohort, request.number)  # created once, even by two requests at a time
    with write_transaction():
        # Locked (on PostgreSQL) so two changes to one meeting apply one after the other.
        row = db.session.scalar(
            select(Meeting).where(Meeting.cohort_id == cohort.id,
                                  Meeting.session_number == request.number)
            .with_for_update().execution_options(populate_existing=True))
        if done_already(cohort, request, row):
            return None
        before = _current(cohort)
        old = before.meeting(request.number)
        minutes = _apply(row, request, before)
        db.session.flush()
        after = _current(cohort)
        details = {"cohort_id": cohort.id, "session": request.number,
                   "from": _start_of(old).isoformat(),
                   "to": request.new_start.isoformat() if request.new_start else None}
        if minutes:
            details["minutes"] = minutes
        audit.record(AUDIT_ACTIONS[request.change], row, actor=by, **details)
        _withdraw_stale_reminders(cohort, request, after)
        _tell_everyone(cohort, request, row, old, after)
    _forget_calendar(cohort.id)
    db.session.expire(cohort, ["meetings"])
    return row


def _withdraw_stale_reminders(cohort: Cohort, request: Request, after: CohortCalendar) -> None:
    """Reminders queued for a meeting's old time are not sent (the tick queues new ones)."""
    numbers = (range(request.number, len(after.meetings) + 1)
               if request.change == Change.SHIFT else (request.number,))
    for number in numbers:
        starts = {f"{m.actual_start:%Y%m%dT%H%MZ}" for m in after.live_meetings()
                  if m.session_number == number}
        pending = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "meeting_reminder", OutboxMessage.status == "pending",
            OutboxMessage.dedup_key.like(f"meeting:%:{cohort.id}:{number}:%")))
        for message in pending:
            if message.dedup_key.split(":")[-2] not in starts:
                message.status = "cancelled"


def _recipients(cohort: Cohort) -> list[User]:
    participants = db.session.execute(
        select(Participant, User).join(User, User.id == Participant.user_id)
        .where(Participant.cohort_id == cohort.id, User.active.is_(True))).all()
    staff = db.session.scalars(
        select(User).join(CohortFacilitator, CohortFacilitator.user_id == User.id)
        .where(CohortFacilitator.cohort_id == cohort.id, User.active.is_(True))).all()
    people = [u for p, u in participants
              if sees_material(p) and p.withdrawal_kind in (None, "stop_sessions")]
    seen = {u.id for u in people}
    return people + [u for u in staff if u.id not in seen]


def _tell_everyone(cohort: Cohort, request: Request, row: Meeting, old: PlannedMeeting,
                   after: CohortCalendar) -> None:
    new = after.meeting(request.number)
    new_start = request.new_start if request.change == Change.MAKEUP else new.actual_start
    following = next((m for m in after.meetings[request.number:] if m.actual_start), None)
    for user in _recipients(cohort):
        def when(instant: datetime | None, user: User = user) -> str | None:
            return for_recipient(instant, user.locale, user.timezone) if instant else None

        session = get_catalogue(user.locale).session(cohort.program, request.number)
        key = (f"reschedule:{cohort.id}:{request.number}:{row.revision}.{row.shift_count}:"
               f"{user.id}")
        enqueue_email(user, key, "schedule_change", "meeting_rescheduled",
                      change=request.change.value, session=session,
                      old_when=when(_start_of(old)), new_when=when(new_start),
                      next_when=when(following.actual_start) if following else None,
                      cohort_name=cohort.name)
